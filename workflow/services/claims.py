"""Claimed and recorded instants, confirmations and corrections, as facts for views and reports.

The rule is in :mod:`states.claims`; this module reads what the database holds and says, for a
publication and for each posting: what was claimed, what was recorded, whether the claim awaits
a supervisor's confirmation, who confirmed it, and which corrections were made (from the audit
trail, where the original values stay). Pages, ``doc show`` and the reports all ask here, so
they say the same.

For reports: :func:`document_claims` gives these facts for many documents in three queries, and
:func:`claims_awaiting` lists every claim still waiting (the dashboard's list).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from states.claims import awaiting_confirmation, counted_instant, is_backdated
from workflow.kernel.models import AuditEvent, Document, Posting, Unit

CORRECTION_ACTION = "correct"
CONFIRMATION_ACTION = "confirm"


def publication_claim(doc: Document, grace: timedelta) -> dict[str, Any] | None:
    """The publication's claimed and recorded instants and the state of the claim."""
    if doc.published_at is None:
        return None
    recorded = doc.published_recorded_at
    confirmed = doc.publication_confirmed_by is not None
    migrated = bool(doc.publication_migrated)
    return {
        "claimed_at": doc.published_at, "recorded_at": recorded,
        "backdated": recorded is not None and is_backdated(doc.published_at, recorded, grace),
        "awaiting_confirmation": awaiting_confirmation(doc.published_at, recorded, grace,
                                                       confirmed=confirmed, migrated=migrated),
        "confirmed_by": doc.publication_confirmed_by, "confirmed_at": doc.publication_confirmed_at,
        "confirm_reason": doc.publication_confirm_reason, "migrated": migrated,
    }


def posting_claim(posting: Posting, grace: timedelta) -> dict[str, Any]:
    """A posting's claimed, recorded and counted instants and the state of its claim."""
    confirmed = posting.confirmed_by is not None
    migrated = bool(posting.migrated)
    return {
        "claimed_at": posting.posted_at, "recorded_at": posting.recorded_at,
        "counted_at": counted_instant(posting.posted_at, posting.recorded_at, grace,
                                      confirmed=confirmed, migrated=migrated),
        "awaiting_confirmation": awaiting_confirmation(posting.posted_at, posting.recorded_at, grace,
                                                       confirmed=confirmed, migrated=migrated),
        "confirmed_by": posting.confirmed_by, "confirmed_at": posting.confirmed_at,
        "confirm_reason": posting.confirm_reason, "migrated": migrated,
    }


def corrections(session: Session, doc_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Every correction of each document, oldest first: who, when, why, before and after."""
    ids = list(doc_ids)
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.execute(
        select(AuditEvent.document_id, AuditEvent.at, AuditEvent.actor, AuditEvent.details)
        .where(AuditEvent.document_id.in_(ids), AuditEvent.action == CORRECTION_ACTION,
               AuditEvent.outcome == "allowed")
        .order_by(AuditEvent.document_id, AuditEvent.seq))
    for doc_id, at, actor, details in rows:
        if doc_id is None:  # the query asks for documents' events only
            continue
        data = json.loads(details)
        found[doc_id].append({"at": at, "by": actor, "what": data.get("what"), "reason": data.get("reason"),
                              "before": data.get("before"), "after": data.get("after"),
                              "favourable": data.get("favourable", False)})
    return found


def document_claims(session: Session, doc_ids: Iterable[int], grace: timedelta) -> dict[int, dict[str, Any]]:
    """For reports (ledger, on-time): per document, the publication's claim, each posting's claim,
    how many claims await confirmation, and the corrections made."""
    ids = sorted(set(doc_ids))
    if not ids:
        return {}
    docs = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(ids)))}
    postings: dict[int, list[Posting]] = {i: [] for i in ids}
    for p in session.scalars(select(Posting).where(Posting.document_id.in_(ids)).order_by(Posting.id)):
        postings[p.document_id].append(p)
    fixes = corrections(session, ids)
    facts: dict[int, dict[str, Any]] = {}
    for i in ids:
        doc = docs.get(i)
        if doc is None:
            continue
        publication = publication_claim(doc, grace)
        posted = [{"id": p.id, "channel": p.channel, **posting_claim(p, grace)} for p in postings[i]]
        waiting = sum(1 for p in posted if p["awaiting_confirmation"]) + int(
            bool(publication and publication["awaiting_confirmation"]))
        facts[i] = {"publication": publication, "postings": posted, "claims_waiting": waiting,
                    "corrections": fixes[i]}
    return facts


def claims_awaiting(session: Session, grace: timedelta, *, unit_code: str | None = None,
                    limit: int = 500) -> list[dict[str, Any]]:
    """Every claim still awaiting a supervisor's confirmation, oldest claim first."""
    rows: list[dict[str, Any]] = []
    stmt = (select(Posting, Document.title, Unit.code).join(Document, Document.id == Posting.document_id)
            .join(Unit, Unit.id == Document.unit_id)
            .where(Posting.confirmed_by.is_(None), Posting.migrated.is_(False),
                   Posting.posted_at < Posting.recorded_at))
    pubs = (select(Document, Unit.code).join(Unit, Unit.id == Document.unit_id)
            .where(Document.published_at.is_not(None), Document.publication_confirmed_by.is_(None),
                   Document.publication_migrated.is_(False),
                   Document.published_at < Document.published_recorded_at))
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


def _waiting(doc_id: int, title: str, unit: str, what: str, claimed: datetime, recorded: datetime,
             posting_id: int | None) -> dict[str, Any]:
    return {"document_id": doc_id, "title": title, "unit": unit, "what": what, "posting_id": posting_id,
            "claimed_at": claimed, "recorded_at": recorded, "gap_hours": round((recorded - claimed).total_seconds() / 3600, 1)}


def summary(facts: Mapping[str, Any]) -> str:
    """One line for a text report: "2 claims awaiting confirmation; corrected twice"."""
    parts = []
    if facts.get("claims_waiting"):
        parts.append(f"{facts['claims_waiting']} claim(s) awaiting confirmation")
    if facts.get("corrections"):
        parts.append(f"corrected {len(facts['corrections'])} time(s)")
    return "; ".join(parts)
