"""The reports supervisors need (DESIGN §1, §6): overdue now, late postings, on-time rates,
the ledger (台账) and the year-end report, per unit and period.

Every figure is derived at query time from stored facts (publication, deadline, postings,
materials, signatures, escalations) and the audit trail; nothing is pre-aggregated, so a
corrected calendar or a late-recorded posting shows up in the next report. Working days are
counted on the calendar as the database holds it *now* (:func:`workflow.kernel.calendar.calendar_for`):
after an administrator corrects a year, days overdue, days late and days taken are recounted.
Whether a posting was on time is the verdict recorded when it was posted (``documents.on_time``,
judged against the deadline the unit was told), never re-judged.

**As of.** Each report is computed as of an instant ``now`` (the injected clock, or ``--now``):
a document published after it is not counted yet, a posting dated after it does not count
yet (so the document is still open, or overdue, as of ``now``), and escalations fired after it
are not shown. That lets a supervisor reproduce what a report said on a given day.

**Definitions** (the same in every report):

* *published in a period*: ``published_at`` falls in the period, counted in the working zone
  (Asia/Shanghai): a document published 2024-01-01 00:30 +08:00 belongs to 2024;
* *on time* / *late*: the interpretation is posted (portal and news media) by ``now``, and the
  recorded verdict says on time / late;
* *overdue*: published, not posted by ``now``, and ``now`` lies after the deadline second
  (``due_at``, 23:59:59 local of the due day);
* *open*: published, not posted, not yet due;
* *on-time rate* = on time / (on time + late + overdue): documents still within their deadline
  are not decided yet and do not count either way. ``None`` when nothing is decided.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal

from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, case, exists, func, literal, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from states.deadline import WorkingDays, is_late, local_date, zone
from states.reasons import Reason
from states.snapshot import CHANNELS, MATERIAL_FORMS

from workflow.services.audit_queries import Gate, invalid
from workflow.kernel.calendar import calendar_for
from workflow.kernel.clock import Clock, to_utc
from workflow.kernel.db import Database
from workflow.kernel.errors import NotFound
from workflow.kernel.export import Column, Table
from workflow.kernel.models import AuditEvent, Document, Escalation, Material, Posting, Signature, Signer, Unit, User
from workflow.kernel.settings import Settings

PUBLISHED = "published"
POSTED = "interpretation_posted"
REQUIRED_CHANNELS = ("portal", "news_media")
Grain = Literal["month", "quarter"]

STATUS_LABELS = {
    "on_time": ("按时发布", "posted on time"),
    "late": ("逾期发布", "posted late"),
    "overdue": ("已逾期未发布", "overdue, not posted"),
    "open": ("期限内未发布", "not yet due"),
}
CHANNEL_LABELS = {"portal": ("门户网站", "portal"), "news_media": ("新闻媒体", "news media"),
                  "new_media": ("政务新媒体", "government new media")}
FORM_LABELS = {
    "text": ("文字解读", "text"), "graphic": ("图解", "graphic"), "video": ("视频", "video"),
    "qa": ("问答", "Q&A"), "online_interview": ("在线访谈", "online interview"),
    "press_conference": ("新闻发布会", "press conference"), "other": ("其他", "other"),
}
LEVEL_LABELS = {"reminder": ("到期提醒", "reminder"), "overdue": ("逾期通知", "overdue"),
                "escalated": ("升级督办", "escalated"), "escalated_high": ("报局领导", "escalated to leadership")}
TOTAL_UNIT = "*"
TOTAL_NAME = "合计"

_UNIT = (Column("unit", "单位代码", "unit"), Column("unit_name", "单位", "unit name"))
_DOC = (Column("document_id", "文件编号", "document", "int"),
        Column("doc_number", "文号", "number"), Column("title", "标题", "title"))


# --------------------------------------------------------------------------- periods
@dataclass(frozen=True)
class Period:
    """Whole local days ``first`` … ``last`` (inclusive), e.g. a year, a quarter, a month."""

    label: str
    first: date
    last: date
    tz: str = "Asia/Shanghai"

    @property
    def start_at(self) -> datetime:
        """The first instant of the period (UTC)."""
        return datetime.combine(self.first, time(0), tzinfo=zone(self.tz)).astimezone(timezone.utc)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (UTC; exclusive bound)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=zone(self.tz)).astimezone(timezone.utc)

    def split(self, grain: Grain | None) -> list[Period]:
        """The months or quarters the period spans, each clipped to the period."""
        if grain is None:
            return [self]
        step = 1 if grain == "month" else 3
        parts: list[Period] = []
        year, month = self.first.year, ((self.first.month - 1) // step) * step + 1
        while date(year, month, 1) <= self.last:
            nyear, nmonth = (year, month + step) if month + step <= 12 else (year + 1, month + step - 12)
            first = max(self.first, date(year, month, 1))
            last = min(self.last, date(nyear, nmonth, 1) - timedelta(days=1))
            label = f"{year}-{month:02d}" if grain == "month" else f"{year}-Q{(month - 1) // 3 + 1}"
            parts.append(Period(label, first, last, self.tz))
            year, month = nyear, nmonth
        return parts

    def as_dict(self) -> dict[str, str]:
        return {"label": self.label, "first": self.first.isoformat(), "last": self.last.isoformat()}


_YEAR_RANGE = (1990, 2200)


def _year(text: str) -> int:
    year = int(text)
    if not _YEAR_RANGE[0] <= year <= _YEAR_RANGE[1]:
        raise invalid("period", f"year {year} is out of range")
    return year


def parse_period(text: str, tz: str = "Asia/Shanghai") -> Period:
    """``2024``, ``2024-Q1``, ``2024-H2``, ``2024-03``, ``2024-03-08`` or ``2024-02-01..2024-03-15``."""
    value = text.strip()
    try:
        if m := re.fullmatch(r"(\d{4})", value):
            y = _year(m[1])
            return Period(value, date(y, 1, 1), date(y, 12, 31), tz)
        if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", value):
            y, q = _year(m[1]), int(m[2])
            first = date(y, 3 * q - 2, 1)
            last = (date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)) - timedelta(days=1)
            return Period(f"{y}-Q{q}", first, last, tz)
        if m := re.fullmatch(r"(\d{4})-[Hh]([12])", value):
            y, h = _year(m[1]), int(m[2])
            return Period(f"{y}-H{h}", date(y, 1, 1) if h == 1 else date(y, 7, 1),
                          date(y, 6, 30) if h == 1 else date(y, 12, 31), tz)
        if m := re.fullmatch(r"(\d{4})-(\d{2})", value):
            y, mo = _year(m[1]), int(m[2])
            first = date(y, mo, 1)
            last = (date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)) - timedelta(days=1)
            return Period(value, first, last, tz)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            _year(str(day.year))
            return Period(value, day, day, tz)
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", value):
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            _year(str(first.year)), _year(str(last.year))
            if last < first:
                raise invalid("period", f"{m[2]} is before {m[1]}")
            return Period(value, first, last, tz)
    except ValueError as exc:
        raise invalid("period", f"'{text}' is not a valid date ({exc})") from None
    raise invalid("period", f"'{text}' is not a period: write 2024, 2024-Q1, 2024-H1, 2024-03, "
                            "2024-03-08 or 2024-02-01..2024-03-15")


# --------------------------------------------------------------------------- helpers
def _second(now: datetime) -> datetime:
    """``now`` cut to the whole second: a deadline is passed only when the whole 23:59:59
    second is over (:func:`states.deadline.is_late`), i.e. ``due_at < second(now)``."""
    return now.replace(microsecond=0)


def _in(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start_at, column < period.end_at)


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[Sequence[int]]:
    """Id lists short enough for any database's limit on bound parameters (SQLite's is 999
    in old builds)."""
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _for_ids(session: Session, stmt: Any, column: Any, ids: Sequence[int]) -> list[Any]:
    """Rows of ``stmt`` for documents ``ids``, fetched by id rather than by re-running the
    report's filter in a join: the plan is then an index probe per document whatever the
    planner makes of the period (at a million documents it preferred scanning every posting).

    PostgreSQL gets arrays (``= ANY``) of 1,000 ids: a list of thousands of placeholders costs
    more to parse than to run, and with one array of 12,000 ids the planner chose a parallel
    scan of every posting again. SQLite gets lists of 900. Rows of one document never straddle
    two batches, so a per-document order asked for in ``stmt`` holds.
    """
    rows: list[Any] = []
    if session.get_bind().dialect.name == "postgresql":
        for chunk in _chunks(ids, 1000):
            param = bindparam("report_ids", list(chunk), type_=ARRAY(Integer))
            rows.extend(session.execute(stmt.where(column == any_(param))).all())
        return rows
    for chunk in _chunks(ids):
        rows.extend(session.execute(stmt.where(column.in_(chunk))).all())
    return rows


def _rate(on_time: int, late: int, overdue: int) -> float | None:
    decided = on_time + late + overdue
    return round(on_time / decided, 4) if decided else None


class _Days:
    """Working days between two instants, counted in local days on one calendar.

    The same count as :func:`states.deadline.working_days_between` (days in the half-open
    span (after, until]), from per-year running totals, so a document overdue for years costs
    two look-ups rather than a walk over every day: the overdue list may hold documents that
    have waited since long before anyone looked.
    """

    def __init__(self, calendar: WorkingDays, tz: str) -> None:
        self.calendar = calendar
        self.tz = tz
        self._running: dict[int, list[int]] = {}

    def _upto(self, d: date) -> int:
        """Working days from 1 January of ``d``'s year to ``d``, inclusive."""
        running = self._running.get(d.year)
        if running is None:
            running, total, day = [], 0, date(d.year, 1, 1)
            while day.year == d.year:
                total += 1 if self.calendar.is_working_day(day) else 0
                running.append(total)
                day += timedelta(days=1)
            self._running[d.year] = running
        return running[d.timetuple().tm_yday - 1]

    def dates(self, after: date, until: date) -> int:
        if until <= after:
            return 0
        count = self._upto(until) - self._upto(after)
        for year in range(after.year, until.year):
            count += self._upto(date(year, 12, 31))
        return count

    def between(self, after: datetime, until: datetime) -> int:
        return self.dates(local_date(after, self.tz), local_date(until, self.tz))

    def overdue(self, due_at: datetime, now: datetime) -> int:
        """As :func:`states.deadline.working_days_overdue`: 0 until late, then the working
        days since the due day."""
        return self.between(due_at, now) if is_late(due_at, now) else 0


@dataclass(frozen=True)
class _Scope:
    """What one report was asked: period, unit, as-of instant, and the resolved unit row."""

    period: Period | None
    unit: Unit | None
    now: datetime

    def unit_filter(self) -> list[ColumnElement[bool]]:
        return [Document.unit_id == self.unit.id] if self.unit is not None else []


class Reports:
    """The reports, authorised by :func:`states.permissions.may_audit`; refusals are audited."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.gate = Gate(db, clock)

    # ------------------------------------------------------------------ plumbing
    def _scope(self, session: Session, period: Period | str | None, unit: str | None,
               now: datetime | None, *, default_year: bool = True) -> _Scope:
        now = to_utc(now) if now is not None else self.clock.now()
        tz = self.settings.timezone
        if isinstance(period, str):
            period = parse_period(period, tz)
        elif period is None and default_year:
            year = local_date(now, tz).year
            period = Period(str(year), date(year, 1, 1), date(year, 12, 31), tz)
        row = None
        if unit is not None:
            row = session.scalars(select(Unit).where(Unit.code == unit)).first()
            if row is None:
                raise NotFound(Reason("no_such_unit", {"code": unit}))
        return _Scope(period, row, now)

    def _authorise(self, login: str, report: str, **asked: Any) -> None:
        self.gate.require_auditor(login, "report", {"report": report, **{
            k: (v.label if isinstance(v, Period) else v) for k, v in asked.items() if v is not None}})

    def _meta(self, scope: _Scope, login: str, **extra: Any) -> dict[str, Any]:
        return {"period": scope.period.label if scope.period else None,
                "unit": scope.unit.code if scope.unit else None,
                "as_of": scope.now, "asked_by": login, **extra}

    def _units(self, session: Session, scope: _Scope, ids: Iterable[int] = ()) -> list[Unit]:
        """The unit asked for, or every drafting unit plus any other unit that has documents."""
        if scope.unit is not None:
            return [scope.unit]
        wanted = set(ids)
        units = session.scalars(select(Unit).order_by(Unit.code)).all()
        return [u for u in units if u.kind == "drafting" or u.id in wanted]

    # ------------------------------------------------------------------ overdue
    def overdue(self, login: str, *, unit: str | None = None, period: Period | str | None = None,
                now: datetime | None = None) -> Table:
        """Published, not posted and past the deadline as of ``now``; most overdue first.

        ``period`` (optional) narrows to documents published in it. Working days overdue are
        counted on today's calendar; 0 means late but no working day has begun since the due
        day (e.g. the weekend after a Friday deadline). The escalation level is the last rung
        of the ladder fired by ``now``.
        """
        self._authorise(login, "overdue", unit=unit, period=period, now=now)
        tz = self.settings.timezone
        with self.db.transaction() as session:
            scope = self._scope(session, period, unit, now, default_year=False)
            cut = _second(scope.now)
            not_posted = or_(
                Document.state == PUBLISHED,
                and_(Document.state == POSTED, Document.posted_at > scope.now),
            )
            stmt = (select(Document.id, Document.doc_number, Document.title, Document.published_at,
                           Document.due_at, Document.due_provisional, Unit.code, Unit.name)
                    .join(Unit, Unit.id == Document.unit_id)
                    .where(not_posted, Document.due_at < cut, Document.published_at <= scope.now,
                           *scope.unit_filter()))
            if scope.period is not None:
                stmt = stmt.where(_in(Document.published_at, scope.period))
            docs = session.execute(stmt).all()
            ids = [d.id for d in docs]
            posted: dict[int, set[str]] = defaultdict(set)
            level: dict[int, tuple[str, datetime]] = {}
            for p in _for_ids(session, select(Posting.document_id, Posting.channel)
                              .where(Posting.posted_at <= scope.now), Posting.document_id, ids):
                posted[p.document_id].add(p.channel)
            for e in _for_ids(session, select(Escalation.document_id, Escalation.level, Escalation.fired_at)
                              .where(Escalation.fired_at <= scope.now)
                              .order_by(Escalation.fired_at, Escalation.id), Escalation.document_id, ids):
                level[e.document_id] = (e.level, e.fired_at)
            days = _Days(calendar_for(session, self.settings), tz)
            rows = []
            for d in docs:
                lvl = level.get(d.id)
                rows.append({
                    "unit": d.code, "unit_name": d.name, "document_id": d.id,
                    "doc_number": d.doc_number, "title": d.title, "published_at": d.published_at,
                    "due_at": d.due_at, "due_provisional": bool(d.due_provisional),
                    "working_days_overdue": days.overdue(d.due_at, scope.now),
                    "escalation": lvl[0] if lvl else None, "escalated_at": lvl[1] if lvl else None,
                    "posted_channels": [c for c in CHANNELS if c in posted[d.id]],
                    "missing": [c for c in REQUIRED_CHANNELS if c not in posted[d.id]],
                })
        rows.sort(key=lambda r: (-r["working_days_overdue"], r["due_at"], r["document_id"]))
        columns = (*_UNIT, *_DOC,
                   Column("published_at", "公开时间", "published", "instant"),
                   Column("due_at", "截止日期", "due", "date"),
                   Column("due_provisional", "截止日期暂定", "provisional", "bool"),
                   Column("working_days_overdue", "逾期工作日", "working days overdue", "int"),
                   Column("escalation", "督办级别", "escalation", "label", LEVEL_LABELS),
                   Column("escalated_at", "督办时间", "escalated at", "instant"),
                   Column("posted_channels", "已发布渠道", "posted on", "list", CHANNEL_LABELS),
                   Column("missing", "未发布渠道", "still missing", "list", CHANNEL_LABELS))
        return Table("overdue", "逾期未发布解读的文件", "Overdue interpretations", columns, rows,
                     self._meta(scope, login, count=len(rows)), tz=tz)

    # ------------------------------------------------------------------ late
    def late(self, login: str, *, period: Period | str | None = None, unit: str | None = None,
             now: datetime | None = None) -> Table:
        """Interpretations posted late, by the day they were posted (in ``period``, by ``now``)."""
        self._authorise(login, "late", unit=unit, period=period, now=now)
        tz = self.settings.timezone
        with self.db.transaction() as session:
            scope = self._scope(session, period, unit, now)
            assert scope.period is not None
            where = [Document.state == POSTED, Document.on_time.is_(False),
                     _in(Document.posted_at, scope.period), Document.posted_at <= scope.now,
                     *scope.unit_filter()]
            docs = session.execute(
                select(Document.id, Document.doc_number, Document.title, Document.published_at,
                       Document.due_at, Document.posted_at, Unit.code, Unit.name)
                .join(Unit, Unit.id == Document.unit_id).where(*where)
                .order_by(Document.posted_at, Document.id)).all()
            firsts, outlets = self._postings(session, [d.id for d in docs])
            days = _Days(calendar_for(session, self.settings), tz)
            rows = []
            for d in docs:
                rows.append({
                    "unit": d.code, "unit_name": d.name, "document_id": d.id,
                    "doc_number": d.doc_number, "title": d.title, "published_at": d.published_at,
                    "due_at": d.due_at, "portal_at": firsts.get((d.id, "portal")),
                    "news_media_at": firsts.get((d.id, "news_media")), "posted_at": d.posted_at,
                    "working_days_late": days.between(d.due_at, d.posted_at),
                    "working_days_taken": days.between(d.published_at, d.posted_at),
                    "outlets": outlets.get(d.id, []),
                })
        columns = (*_UNIT, *_DOC,
                   Column("published_at", "公开时间", "published", "instant"),
                   Column("due_at", "截止日期", "due", "date"),
                   Column("portal_at", "门户网站发布", "portal", "instant"),
                   Column("news_media_at", "新闻媒体发布", "news media", "instant"),
                   Column("posted_at", "解读发布完成", "posted", "instant"),
                   Column("working_days_late", "逾期工作日", "working days late", "int"),
                   Column("working_days_taken", "用时工作日", "working days taken", "int"),
                   Column("outlets", "发布媒体", "outlets", "list"))
        return Table("late", "逾期发布的解读", "Interpretations posted late", columns, rows,
                     self._meta(scope, login, count=len(rows)), tz=tz)

    def _postings(self, session: Session, doc_ids: Sequence[int]
                  ) -> tuple[dict[tuple[int, str], datetime], dict[int, list[str]]]:
        """First posting per (document, channel), and the outlets named, for these documents."""
        firsts: dict[tuple[int, str], datetime] = {}
        outlets: dict[int, list[str]] = defaultdict(list)
        stmt = (select(Posting.document_id, Posting.channel, Posting.outlet, Posting.posted_at)
                .order_by(Posting.posted_at, Posting.id))
        for p in _for_ids(session, stmt, Posting.document_id, doc_ids):
            firsts.setdefault((p.document_id, p.channel), p.posted_at)
            if p.outlet and p.outlet not in outlets[p.document_id]:
                outlets[p.document_id].append(p.outlet)
        return firsts, outlets

    # ------------------------------------------------------------------ on time
    @staticmethod
    def _outcome_columns(scope: _Scope) -> list[Any]:
        """SUMs over documents: on time, late, overdue and open as of ``scope.now``."""
        posted = and_(Document.state == POSTED, Document.posted_at <= scope.now)
        waiting = not_(posted)
        cut = _second(scope.now)
        return [
            func.count().label("published"),
            func.sum(case((and_(posted, Document.on_time.is_(True)), 1), else_=0)).label("on_time"),
            func.sum(case((and_(posted, Document.on_time.is_not(True)), 1), else_=0)).label("late"),
            func.sum(case((and_(waiting, Document.due_at < cut), 1), else_=0)).label("overdue"),
            func.sum(case((and_(waiting, Document.due_at >= cut), 1), else_=0)).label("open"),
        ]

    def on_time(self, login: str, *, period: Period | str | None = None, unit: str | None = None,
                by: Grain | None = None, now: datetime | None = None) -> Table:
        """Per unit (and per month or quarter with ``by``): documents published in the period,
        posted on time, late, overdue, open, and the on-time rate; a total row last.

        One aggregate query; the sub-period is a CASE over precomputed UTC bounds, so months
        are local months on either database.
        """
        if by not in (None, "month", "quarter"):
            raise invalid("by", "must be month or quarter")
        self._authorise(login, "on-time", unit=unit, period=period, by=by, now=now)
        tz = self.settings.timezone
        with self.db.transaction() as session:
            scope = self._scope(session, period, unit, now)
            assert scope.period is not None
            parts = scope.period.split(by)
            bucket: Any = (case(*[(Document.published_at < p.end_at, literal(i)) for i, p in enumerate(parts[:-1])],
                                else_=literal(len(parts) - 1)) if len(parts) > 1 else literal(0))
            stmt = (select(Document.unit_id, bucket.label("part"), *self._outcome_columns(scope))
                    .where(Document.state.in_((PUBLISHED, POSTED)), _in(Document.published_at, scope.period),
                           Document.published_at <= scope.now, *scope.unit_filter())
                    .group_by(Document.unit_id, bucket))
            found = {(r.unit_id, r.part): r for r in session.execute(stmt)}
            units = {u.id: u for u in self._units(session, scope, (k[0] for k in found))}
        keys = ("published", "on_time", "late", "overdue", "open")
        rows: list[dict[str, Any]] = []
        totals = dict.fromkeys(keys, 0)
        for u in sorted(units.values(), key=lambda u: u.code):
            for i, part in enumerate(parts):
                r = found.get((u.id, i))
                if r is None:
                    continue
                counts = {k: int(getattr(r, k) or 0) for k in keys}
                for k in keys:
                    totals[k] += counts[k]
                rows.append({"unit": u.code, "unit_name": u.name, "period": part.label, **counts,
                             "rate": _rate(counts["on_time"], counts["late"], counts["overdue"])})
        total_row = {"unit": TOTAL_UNIT, "unit_name": TOTAL_NAME, "period": scope.period.label, **totals,
                     "rate": _rate(totals["on_time"], totals["late"], totals["overdue"])}
        columns = (*_UNIT, Column("period", "期间", "period"),
                   Column("published", "公开文件", "published", "int"),
                   Column("on_time", "按时发布", "on time", "int"),
                   Column("late", "逾期发布", "late", "int"),
                   Column("overdue", "已逾期未发布", "overdue", "int"),
                   Column("open", "期限内未发布", "not yet due", "int"),
                   Column("rate", "按时率", "on-time rate", "rate"))
        return Table("on-time", "解读按时发布率", "On-time rate of interpretations", columns, rows,
                     self._meta(scope, login, by=by), totals=total_row, tz=tz)

    # ------------------------------------------------------------------ ledger
    def ledger(self, login: str, *, period: Period | str | None = None, unit: str | None = None,
               now: datetime | None = None) -> Table:
        """台账: every document published in the period, with its number, unit, publication
        date and URL, deadline, where and when its interpretation went out, in which forms,
        and whether that was on time. Ordered by publication."""
        self._authorise(login, "ledger", unit=unit, period=period, now=now)
        tz = self.settings.timezone
        with self.db.transaction() as session:
            scope = self._scope(session, period, unit, now)
            assert scope.period is not None
            where = [Document.state.in_((PUBLISHED, POSTED)), _in(Document.published_at, scope.period),
                     Document.published_at <= scope.now, *scope.unit_filter()]
            interpreter = User.__table__.alias("interpreter")
            docs = session.execute(
                select(Document.id, Document.doc_number, Document.title, Document.published_at,
                       Document.publication_url, Document.due_at, Document.due_provisional,
                       Document.state, Document.posted_at, Document.on_time, Unit.code, Unit.name,
                       interpreter.c.name.label("interpreter"))
                .join(Unit, Unit.id == Document.unit_id)
                .outerjoin(interpreter, interpreter.c.id == Document.interpreter_id)
                .where(*where).order_by(Document.published_at, Document.id)).all()
            ids = [d.id for d in docs]
            forms: dict[int, list[str]] = defaultdict(list)
            for m in _for_ids(session, select(Material.document_id, Material.form).order_by(Material.id),
                              Material.document_id, ids):
                if m.form not in forms[m.document_id]:
                    forms[m.document_id].append(m.form)
            places: dict[tuple[int, str], list[str]] = defaultdict(list)
            for p in _for_ids(session, select(Posting.document_id, Posting.channel, Posting.outlet, Posting.url,
                                              Posting.evidence, Posting.posted_at)
                              .where(Posting.posted_at <= scope.now).order_by(Posting.posted_at, Posting.id),
                              Posting.document_id, ids):
                text = " ".join(x for x in (local_date(p.posted_at, tz).isoformat(), p.outlet,
                                            p.url or p.evidence) if x)
                places[(p.document_id, p.channel)].append(text)
            days = _Days(calendar_for(session, self.settings), tz)
            cut = _second(scope.now)
            rows = []
            for n, d in enumerate(docs, start=1):
                is_posted = d.state == POSTED and d.posted_at <= scope.now
                status = (("on_time" if d.on_time else "late") if is_posted
                          else ("overdue" if d.due_at < cut else "open"))
                rows.append({
                    "no": n, "unit": d.code, "unit_name": d.name, "document_id": d.id,
                    "doc_number": d.doc_number, "title": d.title, "published_at": d.published_at,
                    "publication_url": d.publication_url, "due_at": d.due_at,
                    "due_provisional": bool(d.due_provisional), "interpreter": d.interpreter,
                    "forms": forms.get(d.id, []),
                    "portal": places.get((d.id, "portal"), []),
                    "news_media": places.get((d.id, "news_media"), []),
                    "new_media": places.get((d.id, "new_media"), []),
                    "posted_at": d.posted_at if is_posted else None, "status": status,
                    "working_days_taken": days.between(d.published_at, d.posted_at) if is_posted else None,
                    "working_days_late": (days.between(d.due_at, d.posted_at) if status == "late"
                                          else days.overdue(d.due_at, scope.now) if status == "overdue" else 0),
                })
        columns = (Column("no", "序号", "no.", "int"), *_UNIT, *_DOC,
                   Column("published_at", "公开时间", "published", "instant"),
                   Column("publication_url", "公开网址", "publication URL"),
                   Column("due_at", "解读截止日期", "interpretation due", "date"),
                   Column("due_provisional", "截止日期暂定", "provisional", "bool"),
                   Column("interpreter", "解读人", "interpreter"),
                   Column("forms", "解读形式", "forms", "list", FORM_LABELS),
                   Column("portal", "门户网站", "portal", "list"),
                   Column("news_media", "新闻媒体", "news media", "list"),
                   Column("new_media", "政务新媒体", "new media", "list"),
                   Column("posted_at", "解读发布完成", "posted", "instant"),
                   Column("status", "是否按时", "status", "label", STATUS_LABELS),
                   Column("working_days_taken", "用时工作日", "working days taken", "int"),
                   Column("working_days_late", "逾期工作日", "working days late", "int"))
        return Table("ledger", "规范性文件及政策解读台账", "Ledger of published documents and their interpretation",
                     columns, rows, self._meta(scope, login, count=len(rows)), tz=tz)

    # ------------------------------------------------------------------ year-end
    def year_end(self, login: str, *, period: Period | str | None = None, unit: str | None = None,
                 now: datetime | None = None) -> Table:
        """How each unit carried out the three synchronisations in the period (a year by default).

        * drafted in the period (``created_at``): how many; how many have a plan and at least
          one material (同步组织); how many are signed as one package — every named signer
          signed the current package hash (同步审签); withdrawn; filed as not disclosed;
        * published in the period: interpretation on time / late / overdue / open and the
          rate (同步部署), average working days taken (today's calendar), the documents per
          form of interpretation and per channel, and the outlets used;
        * from the audit trail, events in the period: signers' rejections and signatures
          voided by a changed package on the unit's documents, and refusals of the unit's
          own people (a guard or a right said no).
        """
        self._authorise(login, "year-end", unit=unit, period=period, now=now)
        tz = self.settings.timezone
        with self.db.transaction() as session:
            scope = self._scope(session, period, unit, now)
            assert scope.period is not None
            p = scope.period
            data: dict[int, dict[str, Any]] = defaultdict(dict)

            has_material = exists().where(Material.document_id == Document.id)
            unsigned = (select(Signer.id).where(
                Signer.document_id == Document.id,
                ~exists().where(Signature.document_id == Document.id, Signature.user_id == Signer.user_id,
                                Signature.voided_at.is_(None), Signature.package_hash == Document.package_hash)
                .correlate_except(Signature))
                .exists())
            has_signers = exists().where(Signer.document_id == Document.id)
            drafted = session.execute(
                select(Document.unit_id, func.count().label("drafted"),
                       func.sum(case((and_(Document.plan.is_not(None), Document.plan != "", has_material), 1), else_=0)).label("organised"),
                       func.sum(case((and_(has_signers, ~unsigned), 1), else_=0)).label("signed"),
                       func.sum(case((Document.state == "withdrawn", 1), else_=0)).label("withdrawn"),
                       func.sum(case((Document.state == "filed", 1), else_=0)).label("filed"))
                .where(_in(Document.created_at, p), Document.created_at <= scope.now, *scope.unit_filter())
                .group_by(Document.unit_id))
            for r in drafted:
                data[r.unit_id].update(drafted=r.drafted, organised=int(r.organised or 0),
                                       signed=int(r.signed or 0), withdrawn=int(r.withdrawn or 0),
                                       filed=int(r.filed or 0))

            published_where = [Document.state.in_((PUBLISHED, POSTED)), _in(Document.published_at, p),
                               Document.published_at <= scope.now, *scope.unit_filter()]
            for r in session.execute(select(Document.unit_id, *self._outcome_columns(scope))
                                     .where(*published_where).group_by(Document.unit_id)):
                data[r.unit_id].update({k: int(getattr(r, k) or 0)
                                        for k in ("published", "on_time", "late", "overdue", "open")})
            days = _Days(calendar_for(session, self.settings), tz)
            taken: dict[int, list[int]] = defaultdict(list)
            unit_of: dict[int, int] = {}
            for r in session.execute(select(Document.id, Document.unit_id, Document.state,
                                            Document.published_at, Document.posted_at)
                                     .where(*published_where)):
                unit_of[r.id] = r.unit_id
                if r.state == POSTED and r.posted_at <= scope.now:
                    taken[r.unit_id].append(days.between(r.published_at, r.posted_at))
            ids = list(unit_of)
            forms: dict[tuple[int, str], set[int]] = defaultdict(set)
            for m in _for_ids(session, select(Material.document_id, Material.form), Material.document_id, ids):
                forms[(unit_of[m.document_id], m.form)].add(m.document_id)
            for (unit_id, form), docs_with in forms.items():
                data[unit_id][f"form_{form}"] = len(docs_with)
            channels: dict[tuple[int, str], set[int]] = defaultdict(set)
            outlets: dict[int, set[str]] = defaultdict(set)
            for pst in _for_ids(session, select(Posting.document_id, Posting.channel, Posting.outlet)
                                .where(Posting.posted_at <= scope.now), Posting.document_id, ids):
                channels[(unit_of[pst.document_id], pst.channel)].add(pst.document_id)
                if pst.outlet:
                    outlets[unit_of[pst.document_id]].add(pst.outlet)
            for (unit_id, channel), docs_on in channels.items():
                data[unit_id][f"channel_{channel}"] = len(docs_on)

            trail = [_in(AuditEvent.at, p), AuditEvent.at <= scope.now]
            for r in session.execute(
                    select(Document.unit_id, AuditEvent.action, func.count().label("n"))
                    .join(Document, Document.id == AuditEvent.document_id)
                    .where(AuditEvent.action.in_(("reject", "reject_to_draft", "signatures_voided")),
                           AuditEvent.outcome == "allowed", *trail, *scope.unit_filter())
                    .group_by(Document.unit_id, AuditEvent.action)):
                key = "voided" if r.action == "signatures_voided" else "rejections"
                data[r.unit_id][key] = data[r.unit_id].get(key, 0) + r.n
            refusals = select(AuditEvent.actor_unit, func.count().label("n")).where(
                AuditEvent.outcome == "refused", *trail).group_by(AuditEvent.actor_unit)
            if scope.unit is not None:
                refusals = refusals.where(AuditEvent.actor_unit == scope.unit.code)
            refused_by_code = {r.actor_unit: r.n for r in session.execute(refusals)}
            units = self._units(session, scope, data.keys())

        ints = ("drafted", "organised", "signed", "withdrawn", "filed", "published", "on_time", "late",
                "overdue", "open", "rejections", "voided", "refusals",
                *(f"form_{f}" for f in MATERIAL_FORMS), *(f"channel_{c}" for c in CHANNELS))
        rows = []
        totals: dict[str, Any] = dict.fromkeys(ints, 0)
        all_taken: list[int] = []
        all_outlets: set[str] = set()
        for u in units:
            d = data.get(u.id, {})
            row: dict[str, Any] = {"unit": u.code, "unit_name": u.name}
            for k in ints:
                row[k] = refused_by_code.get(u.code, 0) if k == "refusals" else int(d.get(k, 0))
                totals[k] += row[k]
            row["rate"] = _rate(row["on_time"], row["late"], row["overdue"])
            row["avg_days_taken"] = round(sum(taken[u.id]) / len(taken[u.id]), 2) if taken.get(u.id) else None
            row["outlets"] = sorted(outlets.get(u.id, ()))
            all_taken += taken.get(u.id, [])
            all_outlets |= outlets.get(u.id, set())
            rows.append(row)
        totals.update(unit=TOTAL_UNIT, unit_name=TOTAL_NAME,
                      rate=_rate(totals["on_time"], totals["late"], totals["overdue"]),
                      avg_days_taken=round(sum(all_taken) / len(all_taken), 2) if all_taken else None,
                      outlets=sorted(all_outlets))
        columns = (*_UNIT,
                   Column("drafted", "起草文件", "drafted", "int"),
                   Column("organised", "同步组织(方案+材料)", "with plan and materials", "int"),
                   Column("signed", "同步审签", "signed as a package", "int"),
                   Column("withdrawn", "撤回", "withdrawn", "int"),
                   Column("filed", "不予公开", "filed, not disclosed", "int"),
                   Column("published", "公开文件", "published", "int"),
                   Column("on_time", "解读按时发布", "posted on time", "int"),
                   Column("late", "解读逾期发布", "posted late", "int"),
                   Column("overdue", "已逾期未发布", "overdue", "int"),
                   Column("open", "期限内未发布", "not yet due", "int"),
                   Column("rate", "按时率", "on-time rate", "rate"),
                   Column("avg_days_taken", "平均用时(工作日)", "average working days taken", "number"),
                   *(Column(f"form_{f}", f"形式:{FORM_LABELS[f][0]}", f"form: {FORM_LABELS[f][1]}", "int")
                     for f in MATERIAL_FORMS),
                   *(Column(f"channel_{c}", f"渠道:{CHANNEL_LABELS[c][0]}", f"channel: {CHANNEL_LABELS[c][1]}", "int")
                     for c in CHANNELS),
                   Column("outlets", "发布媒体", "outlets", "list"),
                   Column("rejections", "审签退回", "rejections by signers", "int"),
                   Column("voided", "签字作废", "signatures voided", "int"),
                   Column("refusals", "操作被拒", "refused actions", "int"))
        return Table("year-end", f"{p.label} 政策解读“三同步”工作情况", f"The three synchronisations in {p.label}",
                     columns, rows, self._meta(scope, login), totals=totals, tz=tz)


REPORTS = ("overdue", "late", "on-time", "ledger", "year-end")
