"""The on-time report: per unit (and month or quarter), on time, late, overdue, open and the rate,
and how many of those documents rest on a claim awaiting a supervisor's confirmation, had a
claim confirmed, or were corrected (workflow/services/claims.py), how many have a record
written under a clock override (:mod:`.overrides`), and how many share their 文号 with another
document (:mod:`.numbers`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal, select

from states.i18n import _
from workflow.kernel.export import Column, Table
from workflow.kernel.models import Document
from workflow.services.audit_queries import invalid
from workflow.services.claims import claimed_or_corrected, document_claims
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
from workflow.services.reports.numbers import SHARED_COUNT, SHARED_COUNT_COLUMN, shares_number
from workflow.services.reports.overrides import OVERRIDE_COUNT, OVERRIDE_COUNT_COLUMN, overridden
from workflow.services.reports.periods import Grain, Period

# Documents (of those published) whose record a supervisor should look at.
TRUST_KEYS = ("claims_waiting", "claims_confirmed", "corrected", OVERRIDE_COUNT, SHARED_COUNT)


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
        posted on time, late, overdue, open, and the on-time rate; a total row last. Beside
        them, documents with a claimed time still awaiting a supervisor's confirmation (their
        result counts the recorded instant meanwhile), with a claim confirmed, and corrected
        after publication — as of ``now``.

        One aggregate query; the sub-period is a CASE over precomputed UTC bounds, so months
        are local months on either database. The claims are read for the few documents that
        may have any (:func:`~workflow.services.claims.claimed_or_corrected`).
        """
        if by not in (None, "month", "quarter"):
            raise invalid("by", _("must be month or quarter"))
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
            flagged = session.execute(
                select(Document.id, Document.unit_id, bucket.label("part")).where(
                    Document.state.in_((PUBLISHED, POSTED)),
                    within(Document.published_at, scope.period),
                    Document.published_at <= scope.now,
                    *scope.unit_filter(),
                    claimed_or_corrected(),
                )
            ).all()
            facts = document_claims(
                session, [f.id for f in flagged], self.settings.claim_grace, as_of=scope.now
            )
            # Counted per unit in the report's own query: records made "as of" a chosen instant
            # (reports/overrides.py) and a 文号 another document has too (reports/numbers.py).
            counted = {
                key: session.execute(
                    select(Document.unit_id, bucket.label("part"), func.count().label("n"))
                    .where(
                        Document.state.in_((PUBLISHED, POSTED)),
                        within(Document.published_at, scope.period),
                        Document.published_at <= scope.now,
                        *scope.unit_filter(),
                        condition,
                    )
                    .group_by(Document.unit_id, bucket)
                ).all()
                for key, condition in (
                    (OVERRIDE_COUNT, overridden(scope.now)),
                    (SHARED_COUNT, shares_number(scope.now)),
                )
            }
        trust: dict[tuple[int, int], dict[str, int]] = {}
        for key, found_rows in counted.items():
            for h in found_rows:
                trust.setdefault((h.unit_id, h.part), dict.fromkeys(TRUST_KEYS, 0))[key] = int(h.n)
        for f in flagged:
            fact = facts.get(f.id)
            if fact is None:
                continue
            counts = trust.setdefault((f.unit_id, f.part), dict.fromkeys(TRUST_KEYS, 0))
            counts["claims_waiting"] += int(fact["claims_waiting"] > 0)
            counts["claims_confirmed"] += int(bool(fact["confirmed_by"]))
            counts["corrected"] += int(bool(fact["corrections"]))
        keys = ("published", "on_time", "late", "overdue", "open")
        rows: list[dict[str, Any]] = []
        totals = dict.fromkeys((*keys, *TRUST_KEYS), 0)
        for u in sorted(units.values(), key=lambda u: u.code):
            for i, part in enumerate(parts):
                r = found.get((u.id, i))
                if r is None:
                    continue
                counts = {k: int(getattr(r, k) or 0) for k in keys}
                flags = trust.get((u.id, i), dict.fromkeys(TRUST_KEYS, 0))
                for k, v in (*counts.items(), *flags.items()):
                    totals[k] += v
                rows.append(
                    {
                        "unit": u.code,
                        "unit_name": u.name,
                        "period": part.label,
                        **counts,
                        "rate": rate(counts["on_time"], counts["late"], counts["overdue"]),
                        **flags,
                    }
                )
        total_row = {
            "unit": TOTAL_UNIT,
            "unit_name": TOTAL_NAME,
            "period": scope.period.label,
            **{k: totals[k] for k in keys},
            "rate": rate(totals["on_time"], totals["late"], totals["overdue"]),
            **{k: totals[k] for k in TRUST_KEYS},
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
            # Whose clock counts (docs/design.md §7), after the columns scripts already read.
            Column("claims_waiting", "含待确认补录时间", "with a claim awaiting confirmation", "int"),
            Column("claims_confirmed", "补录时间已确认", "with a claim confirmed", "int"),
            Column("corrected", "公开后更正", "corrected after publication", "int"),
            OVERRIDE_COUNT_COLUMN,  # recorded "as of" a chosen instant (reports/overrides.py)
            SHARED_COUNT_COLUMN,  # a 文号 another document has too (reports/numbers.py)
        )
        return Table(
            "on-time",
            "解读按时发布率",
            "On-time rate of interpretations",
            columns,
            rows,
            self._meta(
                scope,
                login,
                by=by,
                **{OVERRIDE_COUNT: totals[OVERRIDE_COUNT], SHARED_COUNT: totals[SHARED_COUNT]},
            ),
            totals=total_row,
            tz=tz,
        )
