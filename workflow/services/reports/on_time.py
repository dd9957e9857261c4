"""The on-time report: per unit (and month or quarter), on time, late, overdue, open and the rate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, literal, select

from workflow.kernel.export import Column, Table
from workflow.kernel.models import Document
from workflow.services.audit_queries import invalid
from workflow.services.reports.common import (
    POSTED,
    PUBLISHED,
    TOTAL_NAME,
    TOTAL_UNIT,
    UNIT_COLUMNS,
    ReportBase,
    rate,
    within,
)
from workflow.services.reports.periods import Grain, Period


class OnTimeReport(ReportBase):
    """The on-time report."""

    def on_time(
        self,
        login: str,
        *,
        period: Period | str | None = None,
        unit: str | None = None,
        by: Grain | None = None,
        now: datetime | None = None,
    ) -> Table:
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
            bucket: Any = (
                case(
                    *[(Document.published_at < p.end_at, literal(i)) for i, p in enumerate(parts[:-1])],
                    else_=literal(len(parts) - 1),
                )
                if len(parts) > 1
                else literal(0)
            )
            stmt = (
                select(Document.unit_id, bucket.label("part"), *self._outcome_columns(scope))
                .where(
                    Document.state.in_((PUBLISHED, POSTED)),
                    within(Document.published_at, scope.period),
                    Document.published_at <= scope.now,
                    *scope.unit_filter(),
                )
                .group_by(Document.unit_id, bucket)
            )
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
                rows.append(
                    {
                        "unit": u.code,
                        "unit_name": u.name,
                        "period": part.label,
                        **counts,
                        "rate": rate(counts["on_time"], counts["late"], counts["overdue"]),
                    }
                )
        total_row = {
            "unit": TOTAL_UNIT,
            "unit_name": TOTAL_NAME,
            "period": scope.period.label,
            **totals,
            "rate": rate(totals["on_time"], totals["late"], totals["overdue"]),
        }
        columns = (
            *UNIT_COLUMNS,
            Column("period", "期间", "period"),
            Column("published", "公开文件", "published", "int"),
            Column("on_time", "按时发布", "on time", "int"),
            Column("late", "逾期发布", "late", "int"),
            Column("overdue", "已逾期未发布", "overdue", "int"),
            Column("open", "期限内未发布", "not yet due", "int"),
            Column("rate", "按时率", "on-time rate", "rate"),
        )
        return Table(
            "on-time",
            "解读按时发布率",
            "On-time rate of interpretations",
            columns,
            rows,
            self._meta(scope, login, by=by),
            totals=total_row,
            tz=tz,
        )
