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

This module chooses what is due, batch by batch; the hints live in
:mod:`workflow.services.sweep_hints` and the writes of a fired rung in
:mod:`workflow.services.sweep_fire` (its names are re-exported here for callers).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, defer

from states.deadline import working_days_overdue
from states.ladder import DEFAULT_LADDER, Ladder, parse_ladder
from workflow.kernel.calendar import calendar_for
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange
from workflow.kernel.models import Document, Escalation
from workflow.kernel.settings import Settings
from workflow.services.sweep_fire import (
    ACTION,
    Fired,
    _BatchResult,
    _fire_all,
    _fire_one_by_one,
    _Planned,
)
from workflow.services.sweep_hints import (
    OPEN_STATE,
    _candidates_query,
    _check_ladder,
    _store_hints,
    reset_hints,
)

__all__ = [
    "ACTION",
    "OPEN_STATE",
    "Fired",
    "SweepReport",
    "_Planned",
    "_fire_all",
    "ladder_for",
    "reset_hints",
    "sweep",
]

log = logging.getLogger("santongbu.sweep")


def ladder_for(settings: Settings) -> Ladder:
    """The ladder configured by ``settings.ladder`` (JSON; see :func:`states.ladder.parse_ladder`),
    else docs/design.md §4's default."""
    text = settings.ladder
    return parse_ladder(text) if text else DEFAULT_LADDER


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


def _fired_levels(session: Session, ids: Iterable[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for doc_id, level in session.execute(
        select(Escalation.document_id, Escalation.level).where(Escalation.document_id.in_(list(ids)))
    ):
        found.setdefault(doc_id, set()).add(level)
    return found


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
            overdue = working_days_overdue(doc.due_at, now, calendar, tz)
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
    if report.fired:  # the worker logs one INFO line per sweep with the counts (workers/sweep_tasks.py)
        log.debug(
            "sweep as of %s: %s",
            now.isoformat(),
            ", ".join(f"{lv} {report.count(lv)}" for lv in ladder.levels if report.count(lv)),
        )
    return report
