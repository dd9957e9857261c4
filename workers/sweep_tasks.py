"""The deadline sweep and the audit checkpoint as Celery tasks, and their beat entries.

Thin on purpose: :func:`sweep_deadlines` calls :func:`workflow.services.sweep.sweep` and then nudges
outbox delivery; :func:`audit_checkpoint` calls :func:`workflow.kernel.audit_checkpoint.take_checkpoint`.

The checkpoint entry ticks every :func:`checkpoint_poll_seconds` (a minute at most) and the task
decides: a checkpoint when events were added and ``audit_checkpoint_interval_seconds`` has
passed, or at once when a sign-off, publication or posting was appended since the last one (the
services enqueue nothing: the task looks for such events after the last checkpoint's newest
event id, one indexed query). Each is exported as a signed anchor when
``SANTONGBU_AUDIT_EXPORT_DIR`` is set. Both tasks are
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
from workflow.kernel.audit_checkpoint import take_checkpoint
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings
from workflow.services.sweep import sweep

log = logging.getLogger("santongbu.workers")

SWEEP_DEADLINES = "santongbu.sweep_deadlines"
AUDIT_CHECKPOINT = "santongbu.audit_checkpoint"


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


def run_checkpoint(db: Database, clock: Clock, settings: Settings, *, force: bool = False) -> dict[str, Any]:
    """An audit checkpoint if one is due (``force``: now), exported when the settings say where.
    A failed export is logged and raised: the task fails visibly, the next tick tries again."""
    interval = None if force else settings.audit_checkpoint_interval_seconds
    try:
        done = take_checkpoint(db, clock.now(), export_dir=settings.audit_export_dir,
                               interval_seconds=interval)
    except Exception as exc:
        log.error("audit checkpoint failed: %s", exc)
        raise
    return done.as_dict()


def checkpoint_poll_seconds(settings: Settings) -> float:
    """How often beat asks whether a checkpoint is due: a sign-off, publication or posting is
    anchored within this time."""
    return min(60.0, float(settings.audit_checkpoint_interval_seconds))


def sweep_deadlines(task: Task) -> dict[str, Any]:
    """Fire every due rung of the escalation ladder, then nudge outbox delivery."""
    return run_sweep(task.app)


def audit_checkpoint(task: Task, force: bool = False) -> dict[str, Any]:
    """Record every audit chain head when due (``force``: now), signed and exported if set up."""
    from workers.app import runtime

    rt = runtime(task.app)
    return run_checkpoint(rt.db, rt.clock, rt.settings, force=force)


def beat_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """The periodic entries of this module. Each expires after one interval, so ticks missed
    while workers were down collapse into the next run instead of replaying one by one."""
    every = settings.sweep_interval_seconds
    checkpoint = checkpoint_poll_seconds(settings)
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
