"""The ledger (台账): every document published in the period and where its interpretation went,
with the instants the server recorded beside the claimed ones, the claims still awaiting a
supervisor's confirmation, who confirmed them, and the corrections made (workflow/services/claims.py);
which records were made under a clock override (:mod:`.overrides`) and which documents share
their 文号 with another (:mod:`.numbers`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from states.deadline import local_date
from states.snapshot import REQUIRED_CHANNELS
from workflow.kernel.calendar import calendar_for
from workflow.kernel.export import Column, Table
from workflow.kernel.models import Document, Material, Posting, Unit, User
from workflow.services.claims import claimed_or_corrected, document_claims
from workflow.services.evidence.queries import summary_codes
from workflow.services.reports.common import (
    DOC_COLUMNS,
    EVIDENCE_COLUMN,
    FORM_LABELS,
    POSTED,
    PUBLISHED,
    STATUS_LABELS,
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


class LedgerReport(ReportBase):
    """The ledger (台账)."""

    def ledger(
        self,
        login: str,
        *,
        period: Period | str | None = None,
        unit: str | None = None,
        now: datetime | None = None,
    ) -> Table:
        """台账: every document published in the period, with its number, unit, publication
        date and URL, deadline, where and when its interpretation went out, in which forms,
        and whether that was on time. Beside each claimed instant, the instant the server
        recorded it; the claims awaiting a supervisor's confirmation, who confirmed claims, and
        the corrections made (all as of ``now``). Ordered by publication."""
        self._authorise(login, "ledger", unit=unit, period=period, now=now)
        tz = self.settings.timezone
        with self.db.transaction() as session:
            scope = self._scope(session, period, unit, now)
            assert scope.period is not None
            where = [
                Document.state.in_((PUBLISHED, POSTED)),
                within(Document.published_at, scope.period),
                Document.published_at <= scope.now,
                *scope.unit_filter(),
            ]
            interpreter = User.__table__.alias("interpreter")
            docs = session.execute(
                select(
                    Document.id,
                    Document.doc_number,
                    Document.title,
                    Document.published_at,
                    Document.published_recorded_at,
                    Document.publication_url,
                    Document.due_at,
                    Document.due_provisional,
                    Document.state,
                    Document.posted_at,
                    Document.on_time,
                    Unit.code,
                    Unit.name,
                    interpreter.c.name.label("interpreter"),
                )
                .join(Unit, Unit.id == Document.unit_id)
                .outerjoin(interpreter, interpreter.c.id == Document.interpreter_id)
                .where(*where)
                .order_by(Document.published_at, Document.id)
            ).all()
            ids = [d.id for d in docs]
            forms: dict[int, list[str]] = defaultdict(list)
            for m in for_ids(
                session,
                select(Material.document_id, Material.form).order_by(Material.id),
                Material.document_id,
                ids,
            ):
                if m.form not in forms[m.document_id]:
                    forms[m.document_id].append(m.form)
            places: dict[tuple[int, str], list[str]] = defaultdict(list)
            # The first posting on each channel: when it was claimed and when it was recorded.
            claimed: dict[tuple[int, str], datetime] = {}
            recorded: dict[tuple[int, str], datetime | None] = {}
            for p in for_ids(
                session,
                select(
                    Posting.document_id,
                    Posting.channel,
                    Posting.outlet,
                    Posting.url,
                    Posting.evidence,
                    Posting.posted_at,
                    Posting.recorded_at,
                )
                .where(Posting.posted_at <= scope.now)
                .order_by(Posting.posted_at, Posting.id),
                Posting.document_id,
                ids,
            ):
                text = " ".join(
                    x for x in (local_date(p.posted_at, tz).isoformat(), p.outlet, p.url or p.evidence) if x
                )
                places[(p.document_id, p.channel)].append(text)
                claimed.setdefault((p.document_id, p.channel), p.posted_at)
                recorded.setdefault((p.document_id, p.channel), p.recorded_at)
            # Claims, confirmations and corrections, read for the few documents that may have any.
            candidates = [
                i
                for (i,) in for_ids(
                    session, select(Document.id).where(claimed_or_corrected()), Document.id, ids
                )
            ]
            facts = document_claims(session, candidates, self.settings.claim_grace, as_of=scope.now)
            days = Days(calendar_for(session, self.settings), tz)
            evidence = summary_codes(session, ids, scope.now)
            by_hand = overridden_records(session, ids, scope.now)
            shared = shared_numbers(session, ids, scope.now)
            cut = second(scope.now)
            rows = []
            for n, d in enumerate(docs, start=1):
                is_posted = d.state == POSTED and d.posted_at <= scope.now
                status = (
                    ("on_time" if d.on_time else "late")
                    if is_posted
                    else ("overdue" if d.due_at < cut else "open")
                )
                found = facts.get(d.id, {})
                fixes = found.get("corrections", [])
                firsts = [(d.id, c) for c in REQUIRED_CHANNELS]
                seen = [recorded.get(k) for k in firsts]
                rows.append(
                    {
                        "no": n,
                        "unit": d.code,
                        "unit_name": d.name,
                        "document_id": d.id,
                        "doc_number": d.doc_number,
                        "title": d.title,
                        "published_at": d.published_at,
                        "published_recorded_at": d.published_recorded_at,
                        "publication_url": d.publication_url,
                        "due_at": d.due_at,
                        "due_provisional": bool(d.due_provisional),
                        "interpreter": d.interpreter,
                        "forms": forms.get(d.id, []),
                        "portal": places.get((d.id, "portal"), []),
                        "news_media": places.get((d.id, "news_media"), []),
                        "new_media": places.get((d.id, "new_media"), []),
                        "posted_claimed_at": max((claimed[k] for k in firsts if k in claimed), default=None)
                        if is_posted
                        else None,
                        "posted_recorded_at": (
                            max(r for r in seen if r is not None)
                            if is_posted and all(r is not None for r in seen)
                            else None
                        ),
                        "posted_at": d.posted_at if is_posted else None,
                        "status": status,
                        "working_days_taken": days.taken(d.published_at, d.posted_at) if is_posted else None,
                        "working_days_late": (
                            days.overdue(d.due_at, d.posted_at)
                            if status == "late"
                            else days.overdue(d.due_at, scope.now)
                            if status == "overdue"
                            else 0
                        ),
                        "claims_waiting": found.get("claims_waiting", 0),
                        "confirmed_by": found.get("confirmed_by", []),
                        "corrections": len(fixes),
                        "corrected_by": list(dict.fromkeys(f["by"] for f in fixes if f["by"])),
                        "clock_override": by_hand.get(d.id, []),
                        "shared_number": shared.get(d.id, []),
                        "evidence": evidence.get(d.id, []),
                    }
                )
        columns = (
            Column("no", "序号", "no.", "int"),
            *UNIT_COLUMNS,
            *DOC_COLUMNS,
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
            Column("working_days_late", "逾期工作日", "working days late", "int"),
            # Whose clock counts (docs/design.md §7), after the columns scripts already read.
            Column("published_recorded_at", "公开登记时间", "publication recorded", "instant"),
            Column("posted_claimed_at", "解读发布完成(所称)", "posted (as claimed)", "instant"),
            Column("posted_recorded_at", "解读发布登记时间", "posting recorded", "instant"),
            Column("claims_waiting", "待确认的补录时间", "claims awaiting confirmation", "int"),
            Column("confirmed_by", "补录时间确认人", "claims confirmed by", "list"),
            Column("corrections", "更正次数", "corrections", "int"),
            Column("corrected_by", "更正人", "corrected by", "list"),
            OVERRIDE_COLUMN,  # recorded "as of" a chosen instant (reports/overrides.py)
            SHARED_COLUMN,  # a 文号 another document has too (reports/numbers.py)
            # Evidence of the pages (docs/evidence.md), last.
            EVIDENCE_COLUMN,
        )
        return Table(
            "ledger",
            "规范性文件及政策解读台账",
            "Ledger of published documents and their interpretation",
            columns,
            rows,
            self._meta(
                scope, login, count=len(rows), **{OVERRIDE_COUNT: len(by_hand), SHARED_COUNT: len(shared)}
            ),
            tz=tz,
        )
