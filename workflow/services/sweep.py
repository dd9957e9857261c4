"""The deadline sweep: fire each due rung of the ladder once per document (docs/design.md §4, §9).

Deadlines live in the database (``documents.due_at``), not in Celery ETAs: a beat task runs
:func:`sweep` every ``sweep_interval_seconds`` and it finds, "as of" the injected clock, every
published document that has a due rung not yet recorded. Why it is safe to run anywhere, any
number of times, at once:

* **Exactly once.** Each rung writes one ``escalations`` row, unique per (document, level),
  with ``INSERT … ON CONFLICT DO NOTHING``; its emails (outbox rows) and its audit event are
  written in the same transaction, and only when the insert really inserted. A racing sweep, a
  second beat or a redelivered task finds the row and queues nothing.
* **Concurrent sweeps share the work.** On PostgreSQL the candidates of a batch are claimed
  with ``FOR UPDATE SKIP LOCKED``, so two sweeps take disjoint documents instead of waiting on
  each other; on SQLite ``BEGIN IMMEDIATE`` admits one writer at a time anyway.
* **Bounded transactions.** Candidates are taken in batches of ``sweep_batch_size`` documents
  (keyset-paginated on ``(next_rung_at, id)``), each batch its own transaction, so 10,000 overdue
  documents never make one giant transaction, and one slow batch never holds every lock.
* **Catch-up.** A sweep that did not run for days (Redis down, workers stopped) fires every
  missing rung, once each, in ladder order.
* **A posting stops the ladder.** Only documents in ``published`` are candidates; a posting
  moves the state to ``interpretation_posted`` under the document's version check.

The query never loads a document whose next rung is not due: each published document carries
``next_rung_at``, the instant its next unfired rung comes due (NULL once all have fired),
written by the sweep itself after each look, and read through a partial index of open
documents only — so a sweep with nothing due reads nothing, however long the history. Anything
that may bring a rung earlier sets the hint back to the publication instant: publishing, a
calendar load (:func:`reset_hints`), a sweep running with a ladder other than the one the hints
were computed with (``sweep_state``). The hint decides only *when* a document is looked at;
what fires is decided by :meth:`states.ladder.Ladder.due_levels` as before.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, defer

from states.deadline import is_late
from states.ladder import DEFAULT_LADDER, Ladder, Rung, parse_ladder, whole_working_days_overdue
from states.lifecycle import State
from states.snapshot import SYSTEM
from workflow.kernel import audit
from workflow.kernel.bulk import insert_many, table_of
from workflow.kernel.calendar import calendar_for
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange
from workflow.kernel.models import Document, Escalation, SweepState
from workflow.kernel.settings import Settings

log = logging.getLogger("santongbu.sweep")

ACTION = "escalation"
"""The audit action of a fired rung (details: level, event, working days overdue, emails)."""
OPEN_STATE = State.PUBLISHED.value


def ladder_for(settings: Settings) -> Ladder:
    """The ladder configured by ``settings.ladder`` (JSON; see :func:`states.ladder.parse_ladder`),
    else docs/design.md §4's default."""
    text = settings.ladder
    return parse_ladder(text) if text else DEFAULT_LADDER


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
class SweepReport:
    """What one sweep did; ``fired`` in the order it happened."""

    now: datetime
    ladder: tuple[str, ...]
    batch_size: int
    batches: int = 0
    documents: int = 0
    """Documents that had at least one rung fired by this sweep."""
    fired: list[Fired] = field(default_factory=list)
    already_recorded: int = 0
    """Rungs a concurrent sweep recorded between our read and our insert (nothing was queued)."""
    deferred: list[int] = field(default_factory=list)
    """Documents left for the next sweep because a concurrent change held them."""
    seconds: float = 0.0

    def count(self, level: str) -> int:
        return sum(1 for f in self.fired if f.level == level)

    @property
    def emails(self) -> int:
        return sum(len(f.outbox_ids) for f in self.fired)

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "ladder": list(self.ladder),
            "batch_size": self.batch_size,
            "batches": self.batches,
            "documents": self.documents,
            "fired": [f.as_dict() for f in self.fired],
            "fired_by_level": {level: self.count(level) for level in self.ladder},
            "emails_queued": self.emails,
            "already_recorded": self.already_recorded,
            "deferred": self.deferred,
            "seconds": round(self.seconds, 3),
        }


def _candidates_query(db: Database, now: datetime, after: tuple[datetime, int] | None, limit: int):
    """Published documents whose next rung may be due (their hint has come), in hint order;
    read from the partial index ``ix_documents_next_rung``, which holds open documents only."""
    stmt = (
        select(Document.id, Document.next_rung_at)
        .where(Document.state == OPEN_STATE, Document.next_rung_at <= now)
        .order_by(Document.next_rung_at, Document.id)
        .limit(limit)
    )
    if after is not None:
        last_hint, last_id = after
        stmt = stmt.where(
            or_(
                Document.next_rung_at > last_hint,
                and_(Document.next_rung_at == last_hint, Document.id > last_id),
            )
        )
    if not db.is_sqlite:
        stmt = stmt.with_for_update(skip_locked=True, of=Document)
    return stmt


def _store_hints(session: Session, hints: dict[int, datetime | None]) -> None:
    """Write each document's next hint; a plain UPDATE that leaves ``version`` alone (a hint
    is the sweep's bookkeeping, not a change a person made)."""
    if not hints:
        return
    if session.get_bind().dialect.name == "postgresql":  # one statement, as in workflow.kernel.bulk
        session.execute(
            text(
                "UPDATE documents AS d SET next_rung_at = h.hint FROM json_to_recordset(CAST(:hints AS json)) "
                "AS h(id integer, hint timestamptz) WHERE d.id = h.id"
            ),
            {
                "hints": json.dumps(
                    [{"id": i, "hint": h.isoformat() if h else None} for i, h in hints.items()]
                )
            },
        )
        return
    table = table_of(Document)
    session.execute(
        update(table).where(table.c.id == bindparam("doc")).values(next_rung_at=bindparam("hint")),
        [{"doc": doc_id, "hint": hint} for doc_id, hint in hints.items()],
    )


def reset_hints(session: Session, document_ids: Iterable[int] | None = None) -> None:
    """Make the sweep look again at published documents (all, or ``document_ids``) on its
    next run: their hint goes back to the publication instant. Called when something may have
    brought a rung earlier — a calendar load, a ladder that changed."""
    table = table_of(Document)
    stmt = update(table).where(table.c.state == OPEN_STATE).values(next_rung_at=table.c.published_at)
    if document_ids is not None:
        ids = list(document_ids)
        if not ids:
            return
        stmt = stmt.where(table.c.id.in_(ids))
    session.execute(stmt)


def _check_ladder(db: Database, ladder: Ladder) -> None:
    """Hints were computed with one ladder; a sweep with another resets them all first."""
    wanted = ladder.as_json()
    with db.transaction() as session:
        stored = session.get(SweepState, "ladder")
        if stored is not None and stored.value == wanted:
            return
        reset_hints(session)
        dialect = sqlite if db.is_sqlite else postgresql
        upsert = dialect.insert(SweepState).values(name="ladder", value=wanted)  # two sweeps may race here
        session.execute(upsert.on_conflict_do_update(index_elements=["name"], set_={"value": wanted}))
        log.info("sweep: the ladder is new or changed; every open document will be looked at again")


def _fired_levels(session: Session, ids: Iterable[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for doc_id, level in session.execute(
        select(Escalation.document_id, Escalation.level).where(Escalation.document_id.in_(list(ids)))
    ):
        found.setdefault(doc_id, set()).add(level)
    return found


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


def _batch(
    db: Database,
    settings: Settings,
    ladder: Ladder,
    now: datetime,
    after: tuple[datetime, int] | None,
    limit: int,
) -> _BatchResult:
    """One transaction: claim up to ``limit`` candidates after ``after`` and fire their due
    rungs. What it returns is true only once the transaction has committed."""
    tz = settings.timezone
    result = _BatchResult(after=after)
    with db.transaction() as session:
        claimed = session.execute(_candidates_query(db, now, after, limit)).all()
        if not claimed:
            return result
        calendar = calendar_for(session, settings)
        result.claimed, result.after = len(claimed), (claimed[-1].next_rung_at, claimed[-1].id)
        ids = [row.id for row in claimed]
        # The texts are not needed to escalate (emails show title, number, unit and instants)
        # and a policy's body and plan run to many kilobytes each.
        texts = (
            defer(Document.body),
            defer(Document.plan),
            defer(Document.risk_assessment),
            defer(Document.response_plan),
        )
        docs = {
            d.id: d for d in session.scalars(select(Document).where(Document.id.in_(ids)).options(*texts))
        }
        fired = _fired_levels(session, ids)
        planned: list[_Planned] = []
        hints: dict[int, datetime | None] = {}
        for doc_id in ids:
            doc = docs[doc_id]
            if doc.state != OPEN_STATE:  # changed since the read (SQLite)
                continue
            if doc.due_at is None:
                hints[doc_id] = None
                continue
            due = ladder.due_levels(doc.due_at, now, calendar, tz, fired.get(doc_id, ()))
            # After this batch, every due rung is recorded (by us or by a racing sweep).
            hints[doc_id] = ladder.next_at(
                doc.due_at, calendar, tz, set(fired.get(doc_id, ())) | {r.level for r in due}
            )
            if not due:
                continue
            overdue = whole_working_days_overdue(doc.due_at, now, calendar, tz)
            planned.extend(
                _Planned(doc, rung, overdue, rung.fires_at(doc.due_at, calendar, tz), i < len(due) - 1)
                for i, rung in enumerate(due)
            )
        try:
            with session.begin_nested():
                done, duplicates = _fire_all(db, session, settings, planned, now)
        except (ConcurrentChange, OperationalError) as exc:
            log.info(
                "sweep: a concurrent writer met in a batch of %s; firing it document by document (%s)",
                len(claimed),
                exc,
            )
            _fire_one_by_one(db, session, settings, planned, now, result)
            for doc_id in result.deferred:  # left as they were: the next sweep reads them again
                hints.pop(doc_id, None)
        else:
            result.fired.extend(done)
            result.escalated += len({f.document_id for f in done})
            result.duplicates += duplicates
        _store_hints(session, hints)
    return result


def sweep(
    db: Database,
    clock: Clock,
    settings: Settings,
    *,
    batch_size: int | None = None,
    ladder: Ladder | None = None,
) -> SweepReport:
    """Fire every due, unrecorded rung of the ladder as of ``clock.now()``; see the module doc.

    Safe to call concurrently from any number of processes and hosts, and as often as wanted.
    """
    started = time.perf_counter()
    ladder = ladder or ladder_for(settings)
    size = batch_size or settings.sweep_batch_size
    now = clock.now()
    report = SweepReport(now=now, ladder=ladder.levels, batch_size=size)
    _check_ladder(db, ladder)
    after: tuple[datetime, int] | None = None
    while True:
        batch = _batch(db, settings, ladder, now, after, size)
        if batch.claimed:
            report.batches += 1
            report.documents += batch.escalated
            report.fired.extend(batch.fired)
            report.already_recorded += batch.duplicates
            report.deferred.extend(batch.deferred)
        if batch.claimed < size:
            break
        after = batch.after
    report.seconds = time.perf_counter() - started
    if report.fired:
        log.info(
            "sweep as of %s: %s",
            now.isoformat(),
            ", ".join(f"{lv} {report.count(lv)}" for lv in ladder.levels if report.count(lv)),
        )
    return report
