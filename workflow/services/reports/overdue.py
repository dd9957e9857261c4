"""The overdue report: published, not posted and past the deadline as of ``now``."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, or_, select

from states.snapshot import CHANNELS, REQUIRED_CHANNELS
from workflow.kernel.calendar import calendar_for
from workflow.kernel.export import Column, Table
from workflow.kernel.models import Document, Escalation, Posting, Unit
from workflow.services.evidence.queries import summary_codes
from workflow.services.reports.common import (
    CHANNEL_LABELS,
    DOC_COLUMNS,
    EVIDENCE_COLUMN,
    LEVEL_LABELS,
    POSTED,
    PUBLISHED,
    UNIT_COLUMNS,
    Days,
    ReportBase,
    for_ids,
    second,
    within,
)
from workflow.services.reports.numbers import SHARED_COLUMN, SHARED_COUNT, shared_numbers
from workflow.services.reports.overrides import OVERRIDE_COLUMN, OVERRIDE_COUNT, overridden_records
from workflow.services.reports.periods import Period


class OverdueReport(ReportBase):
    """The overdue report."""

    def overdue(
        self,
        login: str,
        *,
        unit: str | None = None,
        period: Period | str | None = None,
        now: datetime | None = None,
    ) -> Table:
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
            cut = second(scope.now)
            not_posted = or_(
                Document.state == PUBLISHED,
                and_(Document.state == POSTED, Document.posted_at > scope.now),
            )
            stmt = (
                select(
                    Document.id,
                    Document.doc_number,
                    Document.title,
                    Document.published_at,
                    Document.due_at,
                    Document.due_provisional,
                    Unit.code,
                    Unit.name,
                )
                .join(Unit, Unit.id == Document.unit_id)
                .where(
                    not_posted,
                    Document.due_at < cut,
                    Document.published_at <= scope.now,
                    *scope.unit_filter(),
                )
            )
            if scope.period is not None:
                stmt = stmt.where(within(Document.published_at, scope.period))
            docs = session.execute(stmt).all()
            ids = [d.id for d in docs]
            posted: dict[int, set[str]] = defaultdict(set)
            level: dict[int, tuple[str, datetime]] = {}
            for p in for_ids(
                session,
                select(Posting.document_id, Posting.channel).where(Posting.posted_at <= scope.now),
                Posting.document_id,
                ids,
            ):
                posted[p.document_id].add(p.channel)
            for e in for_ids(
                session,
                select(Escalation.document_id, Escalation.level, Escalation.fired_at)
                .where(Escalation.fired_at <= scope.now)
                .order_by(Escalation.fired_at, Escalation.id),
                Escalation.document_id,
                ids,
            ):
                level[e.document_id] = (e.level, e.fired_at)
            days = Days(calendar_for(session, self.settings), tz)
            evidence = summary_codes(session, ids, scope.now)
            by_hand = overridden_records(session, ids, scope.now)
            shared = shared_numbers(session, ids, scope.now)
            rows = []
            for d in docs:
                lvl = level.get(d.id)
                rows.append(
                    {
                        "unit": d.code,
                        "unit_name": d.name,
                        "document_id": d.id,
                        "doc_number": d.doc_number,
                        "title": d.title,
                        "published_at": d.published_at,
                        "due_at": d.due_at,
                        "due_provisional": bool(d.due_provisional),
                        "working_days_overdue": days.overdue(d.due_at, scope.now),
                        "escalation": lvl[0] if lvl else None,
                        "escalated_at": lvl[1] if lvl else None,
                        "posted_channels": [c for c in CHANNELS if c in posted[d.id]],
                        "missing": [c for c in REQUIRED_CHANNELS if c not in posted[d.id]],
                        "clock_override": by_hand.get(d.id, []),
                        "shared_number": shared.get(d.id, []),
                        "evidence": evidence.get(d.id, []),
                    }
                )
        rows.sort(key=lambda r: (-r["working_days_overdue"], r["due_at"], r["document_id"]))
        columns = (
            *UNIT_COLUMNS,
            *DOC_COLUMNS,
            Column("published_at", "公开时间", "published", "instant"),
            Column("due_at", "截止日期", "due", "date"),
            Column("due_provisional", "截止日期暂定", "provisional", "bool"),
            Column("working_days_overdue", "逾期工作日", "working days overdue", "int"),
            Column("escalation", "督办级别", "escalation", "label", LEVEL_LABELS),
            Column("escalated_at", "督办时间", "escalated at", "instant"),
            Column("posted_channels", "已发布渠道", "posted on", "list", CHANNEL_LABELS),
            Column("missing", "未发布渠道", "still missing", "list", CHANNEL_LABELS),
            OVERRIDE_COLUMN,  # recorded "as of" a chosen instant (reports/overrides.py)
            SHARED_COLUMN,  # a 文号 another document has too (reports/numbers.py)
            EVIDENCE_COLUMN,
        )
        return Table(
            "overdue",
            "逾期未发布解读的文件",
            "Overdue interpretations",
            columns,
            rows,
            self._meta(
                scope, login, count=len(rows), **{OVERRIDE_COUNT: len(by_hand), SHARED_COUNT: len(shared)}
            ),
            tz=tz,
        )
