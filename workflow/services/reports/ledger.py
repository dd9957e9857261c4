"""The ledger (台账): every document published in the period and where its interpretation went."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from states.deadline import local_date
from workflow.kernel.calendar import calendar_for
from workflow.kernel.export import Column, Table
from workflow.kernel.models import Document, Material, Posting, Unit, User
from workflow.services.reports.common import (
    DOC_COLUMNS,
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
        and whether that was on time. Ordered by publication."""
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
            for p in for_ids(
                session,
                select(
                    Posting.document_id,
                    Posting.channel,
                    Posting.outlet,
                    Posting.url,
                    Posting.evidence,
                    Posting.posted_at,
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
            days = Days(calendar_for(session, self.settings), tz)
            cut = second(scope.now)
            rows = []
            for n, d in enumerate(docs, start=1):
                is_posted = d.state == POSTED and d.posted_at <= scope.now
                status = (
                    ("on_time" if d.on_time else "late")
                    if is_posted
                    else ("overdue" if d.due_at < cut else "open")
                )
                rows.append(
                    {
                        "no": n,
                        "unit": d.code,
                        "unit_name": d.name,
                        "document_id": d.id,
                        "doc_number": d.doc_number,
                        "title": d.title,
                        "published_at": d.published_at,
                        "publication_url": d.publication_url,
                        "due_at": d.due_at,
                        "due_provisional": bool(d.due_provisional),
                        "interpreter": d.interpreter,
                        "forms": forms.get(d.id, []),
                        "portal": places.get((d.id, "portal"), []),
                        "news_media": places.get((d.id, "news_media"), []),
                        "new_media": places.get((d.id, "new_media"), []),
                        "posted_at": d.posted_at if is_posted else None,
                        "status": status,
                        "working_days_taken": days.between(d.published_at, d.posted_at)
                        if is_posted
                        else None,
                        "working_days_late": (
                            days.between(d.due_at, d.posted_at)
                            if status == "late"
                            else days.overdue(d.due_at, scope.now)
                            if status == "overdue"
                            else 0
                        ),
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
        )
        return Table(
            "ledger",
            "规范性文件及政策解读台账",
            "Ledger of published documents and their interpretation",
            columns,
            rows,
            self._meta(scope, login, count=len(rows)),
            tz=tz,
        )
