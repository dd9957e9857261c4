"""The late report: interpretations posted after their deadline, by the day they went out, and
which of their records were written under a clock override (:mod:`.overrides`), and which share
their 文号 with another document (:mod:`.numbers`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from workflow.kernel.calendar import calendar_for
from workflow.kernel.export import Column, Table
from workflow.kernel.models import Document, Unit
from workflow.services.reports.common import (
    DOC_COLUMNS,
    POSTED,
    UNIT_COLUMNS,
    Days,
    ReportBase,
    within,
)
from workflow.services.reports.numbers import SHARED_COLUMN, SHARED_COUNT, shared_numbers
from workflow.services.reports.overrides import OVERRIDE_COLUMN, OVERRIDE_COUNT, overridden_records
from workflow.services.reports.periods import Period


class LateReport(ReportBase):
    """The late report."""

    def late(
        self,
        login: str,
        *,
        period: Period | str | None = None,
        unit: str | None = None,
        now: datetime | None = None,
    ) -> Table:
        """Interpretations posted late, by the day they were posted (in ``period``, by ``now``)."""
        self._authorise(login, "late", unit=unit, period=period, now=now)
        tz = self.settings.timezone
        with self.db.transaction() as session:
            scope = self._scope(session, period, unit, now)
            assert scope.period is not None
            where = [
                Document.state == POSTED,
                Document.on_time.is_(False),
                within(Document.posted_at, scope.period),
                Document.posted_at <= scope.now,
                *scope.unit_filter(),
            ]
            docs = session.execute(
                select(
                    Document.id,
                    Document.doc_number,
                    Document.title,
                    Document.published_at,
                    Document.due_at,
                    Document.posted_at,
                    Unit.code,
                    Unit.name,
                )
                .join(Unit, Unit.id == Document.unit_id)
                .where(*where)
                .order_by(Document.posted_at, Document.id)
            ).all()
            firsts, outlets = self._postings(session, [d.id for d in docs])
            by_hand = overridden_records(session, [d.id for d in docs], scope.now)
            shared = shared_numbers(session, [d.id for d in docs], scope.now)
            days = Days(calendar_for(session, self.settings), tz)
            rows = []
            for d in docs:
                rows.append(
                    {
                        "unit": d.code,
                        "unit_name": d.name,
                        "document_id": d.id,
                        "doc_number": d.doc_number,
                        "title": d.title,
                        "published_at": d.published_at,
                        "due_at": d.due_at,
                        "portal_at": firsts.get((d.id, "portal")),
                        "news_media_at": firsts.get((d.id, "news_media")),
                        "posted_at": d.posted_at,
                        "working_days_late": days.overdue(d.due_at, d.posted_at),
                        "working_days_taken": days.taken(d.published_at, d.posted_at),
                        "outlets": outlets.get(d.id, []),
                        "clock_override": by_hand.get(d.id, []),
                        "shared_number": shared.get(d.id, []),
                    }
                )
        columns = (
            *UNIT_COLUMNS,
            *DOC_COLUMNS,
            Column("published_at", "公开时间", "published", "instant"),
            Column("due_at", "截止日期", "due", "date"),
            Column("portal_at", "门户网站发布", "portal", "instant"),
            Column("news_media_at", "新闻媒体发布", "news media", "instant"),
            Column("posted_at", "解读发布完成", "posted", "instant"),
            Column("working_days_late", "逾期工作日", "working days late", "int"),
            Column("working_days_taken", "用时工作日", "working days taken", "int"),
            Column("outlets", "发布媒体", "outlets", "list"),
            OVERRIDE_COLUMN,  # recorded "as of" a chosen instant (reports/overrides.py)
            SHARED_COLUMN,  # a 文号 another document has too (reports/numbers.py)
        )
        return Table(
            "late",
            "逾期发布的解读",
            "Interpretations posted late",
            columns,
            rows,
            self._meta(
                scope, login, count=len(rows), **{OVERRIDE_COUNT: len(by_hand), SHARED_COUNT: len(shared)}
            ),
            tz=tz,
        )
