"""What every report shares: the asked-for scope, the working-day counter, the id-batched
look-ups, the column and label tables, and :class:`ReportBase` (authorisation, scope, units)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, case, func, not_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from states.catalogue import pairs
from states.deadline import WorkingDays, local_date, working_days_overdue, working_days_taken
from states.lifecycle import State
from states.reasons import Reason
from workflow.kernel.clock import Clock, to_utc
from workflow.kernel.db import Database
from workflow.kernel.errors import NotFound
from workflow.kernel.export import Column
from workflow.kernel.models import Document, Posting, Unit
from workflow.kernel.settings import Settings
from workflow.services.audit_queries import Gate
from workflow.services.evidence.queries import summary_labels
from workflow.services.reports.periods import Period, parse_period

PUBLISHED = State.PUBLISHED.value
POSTED = State.INTERPRETATION_POSTED.value

# Labels of the codes report columns hold, from the one catalogue (states/catalogue.py).
STATUS_LABELS = pairs("status")
CHANNEL_LABELS = pairs("channel")
FORM_LABELS = pairs("form")
LEVEL_LABELS = pairs("level")
TOTAL_UNIT = "*"
TOTAL_NAME = "合计"

EVIDENCE_COLUMN = Column("evidence", "网页核验", "evidence", "list", summary_labels())
"""Per page: the policy page and each posting, ``<channel>:<status>`` (docs/evidence.md)."""
UNIT_COLUMNS = (Column("unit", "单位代码", "unit"), Column("unit_name", "单位", "unit name"))
DOC_COLUMNS = (
    Column("document_id", "文件编号", "document", "int"),
    Column("doc_number", "文号", "number"),
    Column("title", "标题", "title"),
)


def second(now: datetime) -> datetime:
    """``now`` cut to the whole second: a deadline is passed only when the whole 23:59:59
    second is over (:func:`states.deadline.is_late`), i.e. ``due_at < second(now)``."""
    return now.replace(microsecond=0)


def within(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start_at, column < period.end_at)


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[Sequence[int]]:
    """Id lists short enough for any database's limit on bound parameters (SQLite's is 999
    in old builds)."""
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def for_ids(session: Session, stmt: Any, column: Any, ids: Sequence[int]) -> list[Any]:
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


def rate(on_time: int, late: int, overdue: int) -> float | None:
    decided = on_time + late + overdue
    return round(on_time / decided, 4) if decided else None


class Days:
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

    def _count(self, after: date, until: date, _calendar: WorkingDays) -> int:
        return self.dates(after, until)

    def taken(self, published_at: datetime, posted_at: datetime) -> int:
        """:func:`states.deadline.working_days_taken`, counted here."""
        return working_days_taken(published_at, posted_at, self.calendar, self.tz, count=self._count)

    def overdue(self, due_at: datetime, now: datetime) -> int:
        """:func:`states.deadline.working_days_overdue` (whole working days passed since the
        due day), counted here."""
        return working_days_overdue(due_at, now, self.calendar, self.tz, count=self._count)


@dataclass(frozen=True)
class Scope:
    """What one report was asked: period, unit, as-of instant, and the resolved unit row."""

    period: Period | None
    unit: Unit | None
    now: datetime

    def unit_filter(self) -> list[ColumnElement[bool]]:
        return [Document.unit_id == self.unit.id] if self.unit is not None else []


class ReportBase:
    """What each report builds on; authorised by :func:`states.permissions.may_audit`; refusals are audited."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.gate = Gate(db, clock)

    # ------------------------------------------------------------------ plumbing
    def _scope(
        self,
        session: Session,
        period: Period | str | None,
        unit: str | None,
        now: datetime | None,
        *,
        default_year: bool = True,
    ) -> Scope:
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
        return Scope(period, row, now)

    def _authorise(self, login: str, report: str, **asked: Any) -> None:
        self.gate.require_auditor(
            login,
            "report",
            {
                "report": report,
                **{k: (v.label if isinstance(v, Period) else v) for k, v in asked.items() if v is not None},
            },
        )

    def _meta(self, scope: Scope, login: str, **extra: Any) -> dict[str, Any]:
        return {
            "period": scope.period.label if scope.period else None,
            "unit": scope.unit.code if scope.unit else None,
            "as_of": scope.now,
            "asked_by": login,
            **extra,
        }

    def _units(self, session: Session, scope: Scope, ids: Iterable[int] = ()) -> list[Unit]:
        """The unit asked for, or every drafting unit plus any other unit that has documents."""
        if scope.unit is not None:
            return [scope.unit]
        wanted = set(ids)
        units = session.scalars(select(Unit).order_by(Unit.code)).all()
        return [u for u in units if u.kind == "drafting" or u.id in wanted]

    def _postings(
        self, session: Session, doc_ids: Sequence[int]
    ) -> tuple[dict[tuple[int, str], datetime], dict[int, list[str]]]:
        """First posting per (document, channel), and the outlets named, for these documents."""
        firsts: dict[tuple[int, str], datetime] = {}
        outlets: dict[int, list[str]] = defaultdict(list)
        stmt = select(Posting.document_id, Posting.channel, Posting.outlet, Posting.posted_at).order_by(
            Posting.posted_at, Posting.id
        )
        for p in for_ids(session, stmt, Posting.document_id, doc_ids):
            firsts.setdefault((p.document_id, p.channel), p.posted_at)
            if p.outlet and p.outlet not in outlets[p.document_id]:
                outlets[p.document_id].append(p.outlet)
        return firsts, outlets

    @staticmethod
    def _outcome_columns(scope: Scope) -> list[Any]:
        """SUMs over documents: on time, late, overdue and open as of ``scope.now``."""
        posted = and_(Document.state == POSTED, Document.posted_at <= scope.now)
        waiting = not_(posted)
        cut = second(scope.now)
        return [
            func.count().label("published"),
            func.sum(case((and_(posted, Document.on_time.is_(True)), 1), else_=0)).label("on_time"),
            func.sum(case((and_(posted, Document.on_time.is_not(True)), 1), else_=0)).label("late"),
            func.sum(case((and_(waiting, Document.due_at < cut), 1), else_=0)).label("overdue"),
            func.sum(case((and_(waiting, Document.due_at >= cut), 1), else_=0)).label("open"),
        ]
