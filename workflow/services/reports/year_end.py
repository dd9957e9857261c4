"""The year-end report: how each unit carried out the three synchronisations in the period."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, select

from states.lifecycle import State
from states.snapshot import CHANNELS, MATERIAL_FORMS
from workflow.kernel.calendar import calendar_for
from workflow.kernel.export import Column, Table
from workflow.kernel.models import AuditEvent, Document, Material, Posting, Signature, Signer
from workflow.services.reports.common import (
    CHANNEL_LABELS,
    FORM_LABELS,
    POSTED,
    PUBLISHED,
    TOTAL_NAME,
    TOTAL_UNIT,
    UNIT_COLUMNS,
    Days,
    ReportBase,
    for_ids,
    rate,
    within,
)
from workflow.services.reports.numbers import SHARED_COUNT, SHARED_COUNT_COLUMN, shared_numbers
from workflow.services.reports.overrides import OVERRIDE_COUNT, OVERRIDE_COUNT_COLUMN, overridden_records
from workflow.services.reports.periods import Period


class YearEndReport(ReportBase):
    """The year-end report."""

    def year_end(
        self,
        login: str,
        *,
        period: Period | str | None = None,
        unit: str | None = None,
        now: datetime | None = None,
    ) -> Table:
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
            unsigned = (
                select(Signer.id)
                .where(
                    Signer.document_id == Document.id,
                    ~exists()
                    .where(
                        Signature.document_id == Document.id,
                        Signature.user_id == Signer.user_id,
                        Signature.voided_at.is_(None),
                        Signature.package_hash == Document.package_hash,
                    )
                    .correlate_except(Signature),
                )
                .exists()
            )
            has_signers = exists().where(Signer.document_id == Document.id)
            drafted = session.execute(
                select(
                    Document.unit_id,
                    func.count().label("drafted"),
                    func.sum(
                        case(
                            (and_(Document.plan.is_not(None), Document.plan != "", has_material), 1), else_=0
                        )
                    ).label("organised"),
                    func.sum(case((and_(has_signers, ~unsigned), 1), else_=0)).label("signed"),
                    func.sum(case((Document.state == State.WITHDRAWN.value, 1), else_=0)).label("withdrawn"),
                    func.sum(case((Document.state == State.FILED.value, 1), else_=0)).label("filed"),
                )
                .where(within(Document.created_at, p), Document.created_at <= scope.now, *scope.unit_filter())
                .group_by(Document.unit_id)
            )
            for r in drafted:
                data[r.unit_id].update(
                    drafted=r.drafted,
                    organised=int(r.organised or 0),
                    signed=int(r.signed or 0),
                    withdrawn=int(r.withdrawn or 0),
                    filed=int(r.filed or 0),
                )

            published_where = [
                Document.state.in_((PUBLISHED, POSTED)),
                within(Document.published_at, p),
                Document.published_at <= scope.now,
                *scope.unit_filter(),
            ]
            for r in session.execute(
                select(Document.unit_id, *self._outcome_columns(scope))
                .where(*published_where)
                .group_by(Document.unit_id)
            ):
                data[r.unit_id].update(
                    {k: int(getattr(r, k) or 0) for k in ("published", "on_time", "late", "overdue", "open")}
                )
            days = Days(calendar_for(session, self.settings), tz)
            taken: dict[int, list[int]] = defaultdict(list)
            unit_of: dict[int, int] = {}
            for r in session.execute(
                select(
                    Document.id, Document.unit_id, Document.state, Document.published_at, Document.posted_at
                ).where(*published_where)
            ):
                unit_of[r.id] = r.unit_id
                if r.state == POSTED and r.posted_at <= scope.now:
                    taken[r.unit_id].append(days.taken(r.published_at, r.posted_at))
            ids = list(unit_of)
            forms: dict[tuple[int, str], set[int]] = defaultdict(set)
            for m in for_ids(session, select(Material.document_id, Material.form), Material.document_id, ids):
                forms[(unit_of[m.document_id], m.form)].add(m.document_id)
            for (unit_id, form), docs_with in forms.items():
                data[unit_id][f"form_{form}"] = len(docs_with)
            channels: dict[tuple[int, str], set[int]] = defaultdict(set)
            outlets: dict[int, set[str]] = defaultdict(set)
            for pst in for_ids(
                session,
                select(Posting.document_id, Posting.channel, Posting.outlet).where(
                    Posting.posted_at <= scope.now
                ),
                Posting.document_id,
                ids,
            ):
                channels[(unit_of[pst.document_id], pst.channel)].add(pst.document_id)
                if pst.outlet:
                    outlets[unit_of[pst.document_id]].add(pst.outlet)
            for (unit_id, channel), docs_on in channels.items():
                data[unit_id][f"channel_{channel}"] = len(docs_on)
            for doc_id in overridden_records(session, ids, scope.now):  # reports/overrides.py
                counts = data[unit_of[doc_id]]
                counts[OVERRIDE_COUNT] = counts.get(OVERRIDE_COUNT, 0) + 1
            for doc_id in shared_numbers(session, ids, scope.now):  # reports/numbers.py
                counts = data[unit_of[doc_id]]
                counts[SHARED_COUNT] = counts.get(SHARED_COUNT, 0) + 1

            trail = [within(AuditEvent.at, p), AuditEvent.at <= scope.now]
            for r in session.execute(
                select(Document.unit_id, AuditEvent.action, func.count().label("n"))
                .join(Document, Document.id == AuditEvent.document_id)
                .where(
                    AuditEvent.action.in_(("reject", "reject_to_draft", "signatures_voided")),
                    AuditEvent.outcome == "allowed",
                    *trail,
                    *scope.unit_filter(),
                )
                .group_by(Document.unit_id, AuditEvent.action)
            ):
                key = "voided" if r.action == "signatures_voided" else "rejections"
                data[r.unit_id][key] = data[r.unit_id].get(key, 0) + r.n
            refusals = (
                select(AuditEvent.actor_unit, func.count().label("n"))
                .where(AuditEvent.outcome == "refused", *trail)
                .group_by(AuditEvent.actor_unit)
            )
            if scope.unit is not None:
                refusals = refusals.where(AuditEvent.actor_unit == scope.unit.code)
            refused_by_code = {r.actor_unit: r.n for r in session.execute(refusals)}
            units = self._units(session, scope, data.keys())

        ints = (
            "drafted",
            "organised",
            "signed",
            "withdrawn",
            "filed",
            "published",
            "on_time",
            "late",
            "overdue",
            "open",
            "rejections",
            "voided",
            "refusals",
            OVERRIDE_COUNT,
            SHARED_COUNT,
            *(f"form_{f}" for f in MATERIAL_FORMS),
            *(f"channel_{c}" for c in CHANNELS),
        )
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
            row["rate"] = rate(row["on_time"], row["late"], row["overdue"])
            row["avg_days_taken"] = round(sum(taken[u.id]) / len(taken[u.id]), 2) if taken.get(u.id) else None
            row["outlets"] = sorted(outlets.get(u.id, ()))
            all_taken += taken.get(u.id, [])
            all_outlets |= outlets.get(u.id, set())
            rows.append(row)
        totals.update(
            unit=TOTAL_UNIT,
            unit_name=TOTAL_NAME,
            rate=rate(totals["on_time"], totals["late"], totals["overdue"]),
            avg_days_taken=round(sum(all_taken) / len(all_taken), 2) if all_taken else None,
            outlets=sorted(all_outlets),
        )
        columns = (
            *UNIT_COLUMNS,
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
            *(
                Column(f"form_{f}", f"形式:{FORM_LABELS[f][0]}", f"form: {FORM_LABELS[f][1]}", "int")
                for f in MATERIAL_FORMS
            ),
            *(
                Column(
                    f"channel_{c}", f"渠道:{CHANNEL_LABELS[c][0]}", f"channel: {CHANNEL_LABELS[c][1]}", "int"
                )
                for c in CHANNELS
            ),
            Column("outlets", "发布媒体", "outlets", "list"),
            Column("rejections", "审签退回", "rejections by signers", "int"),
            Column("voided", "签字作废", "signatures voided", "int"),
            Column("refusals", "操作被拒", "refused actions", "int"),
            OVERRIDE_COUNT_COLUMN,  # published documents with a record made "as of" a chosen instant
            SHARED_COUNT_COLUMN,  # published documents with a 文号 another document has too
        )
        return Table(
            "year-end",
            f"{p.label} 政策解读“三同步”工作情况",
            f"The three synchronisations in {p.label}",
            columns,
            rows,
            self._meta(
                scope, login, **{OVERRIDE_COUNT: totals[OVERRIDE_COUNT], SHARED_COUNT: totals[SHARED_COUNT]}
            ),
            totals=totals,
            tz=tz,
        )
