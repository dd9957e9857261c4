"""Reading evidence: a document's postings with their current check, the per-channel summary the
reports show, and the dashboard's "postings without verified evidence". Read-only, inside the
caller's transaction; only bound parameters and ORM expressions reach SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from states import evidence as ev
from states.catalogue import CHANNELS, EVIDENCE
from states.lifecycle import State
from states.reasons import Reason
from workflow.kernel.models import Document, EvidenceCheck, Posting, Unit
from workflow.services.evidence.views import EvidenceView

CHECKED_STATES = (State.PUBLISHED.value, State.INTERPRETATION_POSTED.value)
_CHANNEL_OF_PUBLICATION = ("政策文件页面", "policy page")


def target_of(document_id: int, posting_id: int | None) -> str:
    return f"posting:{posting_id}" if posting_id is not None else f"doc:{document_id}"


def reasons_of(row: EvidenceCheck, lang: str) -> tuple[dict[str, Any], ...]:
    return tuple(Reason(r["code"], r.get("params", {})).as_dict(lang) for r in row.reason_list)


def view_of(row: EvidenceCheck | None, *, url: str | None, note: str | None, lang: str) -> EvidenceView:
    """The view of the current check, or ``pending`` / ``unchecked`` when there is none."""
    if row is None:
        return EvidenceView(ev.PENDING if url else ev.UNCHECKED, url=url, note=note)
    return EvidenceView(
        status=row.status,
        checked_at=row.checked_at,
        sha256=row.sha256,
        reasons=reasons_of(row, lang),
        check_id=row.id,
        url=row.url,
        final_url=row.final_url,
        http_status=row.http_status,
        title=row.title,
        page_date=row.page_date,
        change=row.change,
        next_check_at=row.next_check_at,
        note=note,
        findings=row.finding_map,
    )


def current_for_document(session: Session, document_id: int) -> dict[str, EvidenceCheck]:
    """The current check of each page of one document, by target."""
    rows = session.scalars(
        select(EvidenceCheck).where(
            EvidenceCheck.document_id == document_id, EvidenceCheck.is_current.is_(True)
        )
    )
    return {r.target: r for r in rows}


def document_evidence(
    session: Session, doc: Document, lang: str
) -> tuple[dict[int, EvidenceView], EvidenceView | None]:
    """Each posting's evidence (by posting id) and the policy page's (``None`` before it has a URL)."""
    current = current_for_document(session, doc.id)
    postings = {
        p.id: view_of(current.get(target_of(doc.id, p.id)), url=p.url or None, note=p.evidence, lang=lang)
        for p in doc.postings
    }
    publication = None
    if doc.publication_url:
        publication = view_of(
            current.get(target_of(doc.id, None)), url=doc.publication_url, note=None, lang=lang
        )
    return postings, publication


def as_of(session: Session, document_ids: Sequence[int], now: datetime) -> dict[str, EvidenceCheck]:
    """The latest check of each page of these documents made by ``now`` (reports are "as of")."""
    latest: dict[str, EvidenceCheck] = {}
    for start in range(0, len(document_ids), 500):
        chunk = list(document_ids[start : start + 500])
        for row in session.scalars(
            select(EvidenceCheck)
            .where(EvidenceCheck.document_id.in_(chunk), EvidenceCheck.checked_at <= now)
            .order_by(EvidenceCheck.id)
        ):
            latest[row.target] = row
    return latest


def summary_codes(session: Session, document_ids: Sequence[int], now: datetime) -> dict[int, list[str]]:
    """Per document, ``<channel>:<status>`` for the policy page and each posting as of ``now``
    (``publication:verified``, ``portal:mismatch``, ``news_media:unchecked``…): the reports'
    evidence column."""
    checks = as_of(session, document_ids, now)
    out: dict[int, list[str]] = {d: [] for d in document_ids}
    docs = (
        {
            d.id: d.publication_url
            for d in session.execute(
                select(Document.id, Document.publication_url).where(Document.id.in_(list(document_ids)))
            )
        }
        if document_ids
        else {}
    )
    for doc_id in document_ids:
        if docs.get(doc_id):
            row = checks.get(target_of(doc_id, None))
            out[doc_id].append(f"{ev.PUBLICATION}:{row.status if row else ev.PENDING}")
    for start in range(0, len(document_ids), 500):
        chunk = list(document_ids[start : start + 500])
        for p in session.execute(
            select(Posting.id, Posting.document_id, Posting.channel, Posting.url)
            .where(Posting.document_id.in_(chunk), Posting.posted_at <= now)
            .order_by(Posting.posted_at, Posting.id)
        ):
            row = checks.get(target_of(p.document_id, p.id))
            status = row.status if row else (ev.PENDING if p.url else ev.UNCHECKED)
            out[p.document_id].append(f"{p.channel}:{status}")
    return out


def summary_labels() -> dict[str, tuple[str, str]]:
    """(zh, en) labels of every ``<channel>:<status>`` code, from the catalogue."""
    channels = {**CHANNELS, ev.PUBLICATION: _CHANNEL_OF_PUBLICATION}
    return {
        f"{c}:{s}": (f"{cz}：{sz}", f"{ce}: {se}")
        for c, (cz, ce) in channels.items()
        for s, (sz, se) in EVIDENCE.items()
    }


def unverified_postings(session: Session, lang: str, limit: int = 100) -> tuple[int, list[dict[str, Any]]]:
    """Postings of published and posted documents whose page is not verified now (never
    checked, mismatch, unreachable, or no URL to check), worst first; (count, first ``limit``)."""
    stmt = (
        select(
            Posting.id,
            Posting.document_id,
            Posting.channel,
            Posting.outlet,
            Posting.url,
            Posting.posted_at,
            Document.title,
            Unit.code,
            Unit.name,
            EvidenceCheck,
        )
        .join(Document, Document.id == Posting.document_id)
        .join(Unit, Unit.id == Document.unit_id)
        .outerjoin(
            EvidenceCheck, and_(EvidenceCheck.posting_id == Posting.id, EvidenceCheck.is_current.is_(True))
        )
        .where(
            Document.state.in_(CHECKED_STATES),
            or_(EvidenceCheck.id.is_(None), EvidenceCheck.status != ev.VERIFIED),
        )
    )
    order = {ev.UNREACHABLE: 0, ev.MISMATCH: 1, ev.PENDING: 2, ev.UNCHECKED: 3}
    rows = []
    for r in session.execute(stmt):
        check: EvidenceCheck | None = r.EvidenceCheck
        status = check.status if check else (ev.PENDING if r.url else ev.UNCHECKED)
        rows.append(
            {
                "document_id": r.document_id,
                "posting_id": r.id,
                "title": r.title,
                "unit": r.code,
                "unit_name": r.name,
                "channel": r.channel,
                "outlet": r.outlet,
                "url": r.url,
                "posted_at": r.posted_at,
                "status": status,
                "checked_at": check.checked_at if check else None,
                "bad_since": check.bad_since if check else None,
                "reasons": [x["message"] for x in reasons_of(check, lang)] if check else [],
                "check_id": check.id if check else None,
            }
        )
    rows.sort(key=lambda x: (order.get(x["status"], 9), x["bad_since"] or x["posted_at"], x["posting_id"]))
    return len(rows), rows[:limit]
