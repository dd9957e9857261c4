"""The deadline sweep and the audit checkpoint as Celery tasks, and their beat entries.

Thin on purpose: :func:`sweep_deadlines` calls :func:`workflow.services.sweep.sweep` and then nudges
outbox delivery; :func:`audit_checkpoint` calls :func:`workflow.kernel.audit.checkpoint`. Both are
idempotent, so ``acks_late`` (a worker killed mid-task leaves its message to be redelivered) and
a second beat (every tick twice) are harmless: the exactly-once record is the
``escalations`` row, not the task message.

There are no ETA or countdown tasks for deadlines. With Redis as the broker, a task whose ETA
lies beyond the visibility timeout is delivered again, and far-future ETAs sit in worker memory
(celery#2599, kombu#337); a deadline that lives in ``documents.due_at`` and a sweep every
``sweep_interval_seconds`` survive restarts, redeliveries and a broker that was down: the first
sweep after it returns catches up.

Time comes from the app's runtime clock (:class:`workers.app.Runtime`): ``SystemClock`` in
production; tests and ``santongbu demo`` build their app with ``make_app(clock=FixedClock(…))``
and move that clock, and the real tasks sweep "as of" it.
"""
from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from sqlalchemy import text

from workflow.kernel import audit
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings
from workflow.services.sweep import sweep

log = logging.getLogger("santongbu.workers")

SWEEP_DEADLINES = "santongbu.sweep_deadlines"
AUDIT_CHECKPOINT = "santongbu.audit_checkpoint"
# pg_advisory_xact_lock key: two checkpoints at once (two beats) would both chain to the same
# predecessor and break the checkpoint chain; this makes the second wait for the first.
_CHECKPOINT_LOCK = 0x5A4E_4350  # "ZNCP"


def run_sweep(celery: Celery) -> dict[str, Any]:
    """Sweep as of the runtime clock; nudge delivery when emails were queued."""
    from workers.app import runtime
    from workers.delivery_tasks import DELIVER_OUTBOX

    rt = runtime(celery)
    report = sweep(rt.db, rt.clock, rt.settings)
    nudged = False
    if report.emails:
        # After commit, so the rows exist. If this message is lost (broker down), the beat's
        # own delivery entry picks the rows up within outbox_interval_seconds.
        try:
            celery.send_task(DELIVER_OUTBOX)
            nudged = True
        except Exception as exc:  # noqa: BLE001 - the sweep succeeded; delivery will follow
            log.warning("sweep: could not nudge delivery (%s); the beat will deliver", exc)
    summary = report.as_dict()
    fired = summary.pop("fired")
    return summary | {"fired_count": len(fired), "delivery_nudged": nudged,
                      "fired": fired[:50]}  # a bounded sample: 10,000 rows make no useful log


def run_checkpoint(db: Database, clock: Clock) -> dict[str, Any]:
    """One audit checkpoint over every chain head, serialised against concurrent ones."""
    with db.transaction() as session:
        if not db.is_sqlite:  # SQLite's BEGIN IMMEDIATE already admits one writer
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHECKPOINT_LOCK})
        cp = audit.checkpoint(session, clock.now())
        return {"id": cp.id, "at": cp.at.isoformat(), "chains": cp.chain_count, "hash": cp.hash}


def sweep_deadlines(task: Task) -> dict[str, Any]:
    """Fire every due rung of the escalation ladder, then nudge outbox delivery."""
    return run_sweep(task.app)


def audit_checkpoint(task: Task) -> dict[str, Any]:
    """Record every audit chain head (catches a document whose whole history was removed)."""
    from workers.app import runtime

    rt = runtime(task.app)
    return run_checkpoint(rt.db, rt.clock)


def beat_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """The periodic entries of this module. Each expires after one interval, so ticks missed
    while workers were down collapse into the next run instead of replaying one by one."""
    every = settings.sweep_interval_seconds
    checkpoint = float(settings.audit_checkpoint_interval_seconds)
    return {
        "sweep-deadlines": {"task": SWEEP_DEADLINES, "schedule": every, "options": {"expires": every}},
        "audit-checkpoint": {"task": AUDIT_CHECKPOINT, "schedule": checkpoint,
                             "options": {"expires": checkpoint}},
    }


def register(celery: Celery, settings: Settings) -> None:
    """Register both tasks on ``celery`` and add their beat entries."""
    celery.task(name=SWEEP_DEADLINES, bind=True, acks_late=True, ignore_result=True)(sweep_deadlines)
    celery.task(name=AUDIT_CHECKPOINT, bind=True, acks_late=True, ignore_result=True)(audit_checkpoint)
    celery.conf.beat_schedule = {**(celery.conf.beat_schedule or {}), **beat_entries(settings)}
