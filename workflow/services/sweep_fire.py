"""Firing a batch's due rungs: the escalation records, their emails and their audit events
(docs/design.md §4, §9).

Split from :mod:`workflow.services.sweep` so that module keeps only the choice of what is due:
this one owns the writes — exactly once per (document, level), in a few statements per batch —
and the careful document-by-document fallback when a concurrent writer gets in the way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from states.deadline import is_late
from states.ladder import Rung
from states.snapshot import SYSTEM
from workflow.kernel import audit
from workflow.kernel.bulk import insert_many, table_of
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange
from workflow.kernel.models import Document, Escalation
from workflow.kernel.settings import Settings

log = logging.getLogger("santongbu.sweep")

ACTION = "escalation"
"""The audit action of a fired rung (details: level, event, working days overdue, emails)."""


@dataclass(frozen=True)
class Fired:
    """One rung fired for one document."""

    document_id: int
    level: str
    event: str
    fired_at: datetime
    due_at: datetime
    working_days_overdue: int
    outbox_ids: tuple[int, ...]
    caught_up: bool
    """True when a later rung was due too (the sweep had not run since this one came due)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "level": self.level,
            "event": self.event,
            "fired_at": self.fired_at,
            "due_at": self.due_at,
            "working_days_overdue": self.working_days_overdue,
            "outbox_ids": list(self.outbox_ids),
            "caught_up": self.caught_up,
        }


@dataclass
class _BatchResult:
    claimed: int = 0
    escalated: int = 0  # claimed documents that had a rung fired here (not by a racing sweep)
    after: tuple[datetime, int] | None = None
    fired: list[Fired] = field(default_factory=list)
    duplicates: int = 0
    deferred: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Planned:
    """A rung the batch means to fire, worked out before anything is written."""

    doc: Document
    rung: Rung
    overdue: int
    scheduled: datetime
    caught_up: bool


def _fire_all(
    db: Database, session: Session, settings: Settings, planned: list[_Planned], now: datetime
) -> tuple[list[Fired], int]:
    """Fire a whole batch's rungs in a few statements: the escalation records in one insert,
    the emails with :func:`notifications.outbox.enqueue_many`, the audit events with
    :func:`audit.append_many`. Returns (fired, rungs a racing sweep had recorded).

    Each rung's record is inserted only once per (document, level); only the rungs whose
    record this call inserted queue emails and audit events, so a racing sweep's duplicates
    write nothing. A before-deadline rung (the reminder) reached only after the deadline — the
    sweep did not run in time — is recorded and audited but emails nobody: "due today" would be
    false, and the overdue rung fired in the same sweep says what is true. One rung at a time,
    this cost ~14 statements and ~20 ms per document (bench_sweep).
    """
    from notifications.outbox import Request, enqueue_many

    if not planned:
        return [], 0
    rows = insert_many(
        session,
        table_of(Escalation),
        [
            {
                "document_id": p.doc.id,
                "level": p.rung.level,
                "fired_at": now,
                "due_at": p.doc.due_at,
                "working_days_overdue": p.overdue,
            }
            for p in planned
        ],
        conflict=("document_id", "level"),
        returning=("document_id", "level", "id"),
    )
    inserted = {(doc_id, level): rid for doc_id, level, rid in map(tuple, rows)}
    mine = [p for p in planned if (p.doc.id, p.rung.level) in inserted]
    stale = {id(p) for p in mine if p.rung.before_due and is_late(p.doc.due_at, now)}  # type: ignore[arg-type]
    mailed = [p for p in mine if id(p) not in stale]
    queued = dict(
        zip(
            map(id, mailed),
            enqueue_many(
                session,
                [
                    Request(p.rung.event, p.doc, {"level": p.rung.level, "working_days_overdue": p.overdue})
                    for p in mailed
                ],
                at=now,
                settings=settings,
                actor=SYSTEM,
            ),
        )
    )
    entries: list[audit.Entry] = []
    fired: list[Fired] = []
    for p in mine:
        assert p.doc.due_at is not None
        details: dict[str, Any] = {
            "level": p.rung.level,
            "event": p.rung.event,
            "working_days_overdue": p.overdue,
            "due_at": p.doc.due_at,
            "scheduled_at": p.scheduled,
            "caught_up": p.caught_up,
            "escalation_id": inserted[(p.doc.id, p.rung.level)],
        }
        if id(p) in stale:
            details["emails"] = "none: the deadline had already passed when the sweep reached it"
        entries.append(
            audit.Entry(
                now,
                SYSTEM,
                ACTION,
                document_id=p.doc.id,
                state_before=p.doc.state,
                state_after=p.doc.state,
                details=details,
            )
        )
        got = queued.get(id(p))
        if got is not None:
            entries.extend(got.entries)
        fired.append(
            Fired(
                p.doc.id,
                p.rung.level,
                p.rung.event,
                now,
                p.doc.due_at,
                p.overdue,
                got.outbox_ids if got else (),
                p.caught_up,
            )
        )
    audit.append_many(session, entries)
    return fired, len(planned) - len(mine)


def _fire_one_by_one(
    db: Database,
    session: Session,
    settings: Settings,
    planned: list[_Planned],
    now: datetime,
    result: _BatchResult,
) -> None:
    """The careful path, when :func:`_fire_all` met a concurrent writer: each document in a
    savepoint of its own, so one busy document is deferred and the rest still fire."""
    by_doc: dict[int, list[_Planned]] = {}
    for p in planned:
        by_doc.setdefault(p.doc.id, []).append(p)
    for doc_id, rungs in by_doc.items():
        try:
            with session.begin_nested():
                done, duplicates = _fire_all(db, session, settings, rungs, now)
        except (ConcurrentChange, OperationalError) as exc:
            # Someone else wrote this document's audit chain meanwhile (or a deadlock was
            # broken in our disfavour): undo this document only; the next sweep retries it.
            result.deferred.append(doc_id)
            log.warning("sweep: document %s deferred to the next sweep: %s", doc_id, exc)
            continue
        result.fired.extend(done)
        result.escalated += bool(done)
        result.duplicates += duplicates
