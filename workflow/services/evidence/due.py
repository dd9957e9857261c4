"""Which pages are due for a check, and what each should bear out (docs/evidence.md).

Split from :mod:`workflow.services.evidence.service` so that module keeps only the fetching and
recording: this one is the read that picks the pages — each published or posted document's
publication page and each posting's URL, never checked, due again, or whose URL was corrected
since its last check — with the current check each result will replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from states import evidence as ev
from workflow.kernel.models import Document, EvidenceCheck, Posting
from workflow.services.evidence.queries import CHECKED_STATES, target_of


@dataclass(frozen=True)
class _Previous:
    id: int
    status: str
    sha256: str | None
    attempts: int
    bad_since: datetime | None
    alerted: bool


@dataclass(frozen=True)
class Due:
    """One page to check, with what it should bear out."""

    document_id: int
    posting_id: int | None
    channel: str
    url: str
    claimed_at: datetime | None
    doc_title: str
    doc_number: str | None
    publication_url: str | None
    previous: _Previous | None
    due_at: datetime | None

    @property
    def target(self) -> str:
        return target_of(self.document_id, self.posting_id)


_PREVIOUS = (
    EvidenceCheck.id,
    EvidenceCheck.status,
    EvidenceCheck.sha256,
    EvidenceCheck.attempts,
    EvidenceCheck.bad_since,
    EvidenceCheck.alerted,
    EvidenceCheck.next_check_at,
)


def _previous(r: Any) -> _Previous | None:
    return None if r.id is None else _Previous(r.id, r.status, r.sha256, r.attempts, r.bad_since, r.alerted)


def due_pages(session: Session, now: datetime, limit: int) -> list[Due]:
    """Pages never checked or whose next check has come, the longest waiting first. A page whose
    URL was corrected since its last check (workflow/services/documents/corrections.py) is due
    at once: the check on record is of the old address."""
    cur = EvidenceCheck
    waiting = or_(cur.id.is_(None), cur.next_check_at <= now)
    pubs = session.execute(
        select(
            Document.id.label("doc"),
            Document.title,
            Document.doc_number,
            Document.publication_url,
            Document.published_at,
            *_PREVIOUS,
        )
        .outerjoin(
            cur, and_(cur.document_id == Document.id, cur.posting_id.is_(None), cur.is_current.is_(True))
        )
        .where(
            Document.state.in_(CHECKED_STATES),
            Document.publication_url.is_not(None),
            Document.publication_url != "",
            or_(waiting, cur.url != Document.publication_url),
        )
        .order_by(cur.next_check_at.is_not(None), cur.next_check_at, Document.id)
        .limit(limit)
    )
    found = [
        Due(
            r.doc,
            None,
            ev.PUBLICATION,
            r.publication_url,
            r.published_at,
            r.title,
            r.doc_number,
            None,
            _previous(r),
            r.next_check_at,
        )
        for r in pubs
    ]
    posts = session.execute(
        select(
            Posting.id.label("posting"),
            Posting.document_id.label("doc"),
            Posting.channel,
            Posting.url,
            Posting.posted_at,
            Document.title,
            Document.doc_number,
            Document.publication_url,
            *_PREVIOUS,
        )
        .join(Document, Document.id == Posting.document_id)
        .outerjoin(cur, and_(cur.posting_id == Posting.id, cur.is_current.is_(True)))
        .where(
            Document.state.in_(CHECKED_STATES),
            Posting.url.is_not(None),
            Posting.url != "",
            or_(waiting, cur.url != Posting.url),
        )
        .order_by(cur.next_check_at.is_not(None), cur.next_check_at, Posting.id)
        .limit(limit)
    )
    found += [
        Due(
            r.doc,
            r.posting,
            r.channel,
            r.url,
            r.posted_at,
            r.title,
            r.doc_number,
            r.publication_url,
            _previous(r),
            r.next_check_at,
        )
        for r in posts
    ]
    found.sort(key=lambda d: (d.due_at is not None, d.due_at or now, d.document_id, d.posting_id or 0))
    return found[:limit]
