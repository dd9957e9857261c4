"""Claimed and recorded instants, confirmations and corrections, as facts for views and reports.

The rule is in :mod:`states.claims`; this module reads what the database holds and says, for a
publication and for each posting: what was claimed, what was recorded, whether the claim awaits
a supervisor's confirmation, who confirmed it, and which corrections were made (from the audit
trail, where the original values stay). Pages, ``doc show`` and the reports all ask here, so
they say the same.

For reports: :func:`document_claims` gives these facts for many documents in a few queries (as
of an instant: a confirmation or a correction made after it is not counted yet),
:func:`claimed_or_corrected` narrows a report's documents to those that may have any, and
:func:`claims_awaiting` lists every claim still waiting (the dashboard's list).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from states.claims import awaiting_confirmation, counted_instant, is_backdated
from workflow.kernel.models import AuditEvent, Document, Posting, Unit

CORRECTION_ACTION = "correct"
CONFIRMATION_ACTION = "confirm"


def _confirmed(by: str | None, at: datetime | None, as_of: datetime | None) -> bool:
    """Confirmed, and (for a report as of an instant) by then."""
    return by is not None and (as_of is None or at is None or at <= as_of)


def publication_claim(
    doc: Document, grace: timedelta, *, as_of: datetime | None = None
) -> dict[str, Any] | None:
    """The publication's claimed and recorded instants and the state of the claim (as of
    ``as_of``: a later confirmation is not made yet)."""
    if doc.published_at is None:
        return None
    recorded = doc.published_recorded_at
    confirmed = _confirmed(doc.publication_confirmed_by, doc.publication_confirmed_at, as_of)
    migrated = bool(doc.publication_migrated)
    return {
        "claimed_at": doc.published_at,
        "recorded_at": recorded,
        "backdated": recorded is not None and is_backdated(doc.published_at, recorded, grace),
        "awaiting_confirmation": awaiting_confirmation(
            doc.published_at, recorded, grace, confirmed=confirmed, migrated=migrated
        ),
        "confirmed_by": doc.publication_confirmed_by if confirmed else None,
        "confirmed_at": doc.publication_confirmed_at if confirmed else None,
        "confirm_reason": doc.publication_confirm_reason if confirmed else None,
        "migrated": migrated,
    }


def posting_claim(posting: Posting, grace: timedelta, *, as_of: datetime | None = None) -> dict[str, Any]:
    """A posting's claimed, recorded and counted instants and the state of its claim (as of
    ``as_of``: a later confirmation is not made yet)."""
    confirmed = _confirmed(posting.confirmed_by, posting.confirmed_at, as_of)
    migrated = bool(posting.migrated)
    return {
        "claimed_at": posting.posted_at,
        "recorded_at": posting.recorded_at,
        "counted_at": counted_instant(
            posting.posted_at, posting.recorded_at, grace, confirmed=confirmed, migrated=migrated
        ),
        "awaiting_confirmation": awaiting_confirmation(
            posting.posted_at, posting.recorded_at, grace, confirmed=confirmed, migrated=migrated
        ),
        "confirmed_by": posting.confirmed_by if confirmed else None,
        "confirmed_at": posting.confirmed_at if confirmed else None,
        "confirm_reason": posting.confirm_reason if confirmed else None,
        "migrated": migrated,
    }


def _chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    """Id lists short enough for any database's limit on bound parameters."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def corrections(
    session: Session, doc_ids: Iterable[int], *, as_of: datetime | None = None
) -> dict[int, list[dict[str, Any]]]:
    """Every correction of each document (made by ``as_of``), oldest first: who, when, why,
    before and after."""
    ids = sorted(set(doc_ids))
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for chunk in _chunks(ids):
        stmt = (
            select(AuditEvent.document_id, AuditEvent.at, AuditEvent.actor, AuditEvent.details)
            .where(
                AuditEvent.document_id.in_(chunk),
                AuditEvent.action == CORRECTION_ACTION,
                AuditEvent.outcome == "allowed",
            )
            .order_by(AuditEvent.document_id, AuditEvent.seq)
        )
        if as_of is not None:
            stmt = stmt.where(AuditEvent.at <= as_of)
        for doc_id, at, actor, details in session.execute(stmt):
            if doc_id is None:  # the query asks for documents' events only
                continue
            data = json.loads(details)
            found[doc_id].append(
                {
                    "at": at,
                    "by": actor,
                    "what": data.get("what"),
                    "reason": data.get("reason"),
                    "before": data.get("before"),
                    "after": data.get("after"),
                    "favourable": data.get("favourable", False),
                }
            )
    return found


def claimed_or_corrected() -> ColumnElement[bool]:
    """A condition on documents: those that may have a claim older than the grace window
    (claimed before it was recorded, not migrated history) or a correction. A superset, cheap
    to ask in a report's query; :func:`document_claims` then says exactly."""
    return or_(
        and_(
            Document.publication_migrated.is_(False), Document.published_at < Document.published_recorded_at
        ),
        exists().where(
            Posting.document_id == Document.id,
            Posting.migrated.is_(False),
            Posting.posted_at < Posting.recorded_at,
        ),
        exists().where(
            AuditEvent.document_id == Document.id,
            AuditEvent.action == CORRECTION_ACTION,
            AuditEvent.outcome == "allowed",
        ),
    )


def document_claims(
    session: Session, doc_ids: Iterable[int], grace: timedelta, *, as_of: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """For reports (ledger, on-time): per document, the publication's claim, each posting's claim,
    how many claims await confirmation, who confirmed which, and the corrections made — as of
    ``as_of`` when given (a confirmation or correction made later is not counted yet)."""
    ids = sorted(set(doc_ids))
    docs: dict[int, Document] = {}
    postings: dict[int, list[Posting]] = {i: [] for i in ids}
    for chunk in _chunks(ids):
        docs.update((d.id, d) for d in session.scalars(select(Document).where(Document.id.in_(chunk))))
        for p in session.scalars(select(Posting).where(Posting.document_id.in_(chunk)).order_by(Posting.id)):
            postings[p.document_id].append(p)
    fixes = corrections(session, ids, as_of=as_of)
    facts: dict[int, dict[str, Any]] = {}
    for i in ids:
        doc = docs.get(i)
        if doc is None:
            continue
        publication = publication_claim(doc, grace, as_of=as_of)
        posted = [
            {"id": p.id, "channel": p.channel, **posting_claim(p, grace, as_of=as_of)} for p in postings[i]
        ]
        waiting = sum(1 for p in posted if p["awaiting_confirmation"]) + int(
            bool(publication and publication["awaiting_confirmation"])
        )
        confirmers = [c["confirmed_by"] for c in (publication, *posted) if c and c["confirmed_by"]]
        facts[i] = {
            "publication": publication,
            "postings": posted,
            "claims_waiting": waiting,
            "confirmed_by": list(dict.fromkeys(confirmers)),
            "corrections": fixes[i],
        }
    return facts


def claims_awaiting(
    session: Session, grace: timedelta, *, unit_code: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Every claim still awaiting a supervisor's confirmation, oldest claim first."""
    rows: list[dict[str, Any]] = []
    stmt = (
        select(Posting, Document.title, Unit.code)
        .join(Document, Document.id == Posting.document_id)
        .join(Unit, Unit.id == Document.unit_id)
        .where(
            Posting.confirmed_by.is_(None),
            Posting.migrated.is_(False),
            Posting.posted_at < Posting.recorded_at,
        )
    )
    pubs = (
        select(Document, Unit.code)
        .join(Unit, Unit.id == Document.unit_id)
        .where(
            Document.published_at.is_not(None),
            Document.publication_confirmed_by.is_(None),
            Document.publication_migrated.is_(False),
            Document.published_at < Document.published_recorded_at,
        )
    )
    if unit_code:
        stmt = stmt.where(Unit.code == unit_code)
        pubs = pubs.where(Unit.code == unit_code)
    for p, title, code in session.execute(stmt):
        if awaiting_confirmation(p.posted_at, p.recorded_at, grace, confirmed=False, migrated=False):
            rows.append(_waiting(p.document_id, title, code, p.channel, p.posted_at, p.recorded_at, p.id))
    for d, code in session.execute(pubs):
        claimed, recorded = d.published_at, d.published_recorded_at
        if claimed is None or recorded is None:  # excluded by the query; says so to the type checker
            continue
        if awaiting_confirmation(claimed, recorded, grace, confirmed=False, migrated=False):
            rows.append(_waiting(d.id, d.title, code, "publication", claimed, recorded, None))
    rows.sort(key=lambda r: (r["claimed_at"], r["document_id"]))
    return rows[:limit]


def _waiting(
    doc_id: int,
    title: str,
    unit: str,
    what: str,
    claimed: datetime,
    recorded: datetime,
    posting_id: int | None,
) -> dict[str, Any]:
    return {
        "document_id": doc_id,
        "title": title,
        "unit": unit,
        "what": what,
        "posting_id": posting_id,
        "claimed_at": claimed,
        "recorded_at": recorded,
        "gap_hours": round((recorded - claimed).total_seconds() / 3600, 1),
    }


def summary(facts: Mapping[str, Any]) -> str:
    """One line for a text report: "2 claims awaiting confirmation; corrected twice"."""
    parts = []
    if facts.get("claims_waiting"):
        parts.append(f"{facts['claims_waiting']} claim(s) awaiting confirmation")
    if facts.get("corrections"):
        parts.append(f"corrected {len(facts['corrections'])} time(s)")
    return "; ".join(parts)
