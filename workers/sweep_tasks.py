"""The periodic work besides delivery, as Celery tasks, and their beat entries: the deadline
sweep, the audit checkpoint, and the refresh of provisional deadlines.

Thin on purpose: each calls one application service from the composition root
(:func:`workflow.bootstrap.bootstrap`) handed to :func:`register`. All are idempotent, so
``acks_late`` (a worker killed mid-task leaves its message to be redelivered) and a second beat
(every tick twice) are harmless: the exactly-once record of a rung is the ``escalations`` row,
not the task message; two checkpoints at once wait for each other inside the audit service; a
refresh that finds nothing stale changes nothing.

There are no ETA or countdown tasks for deadlines. With Redis as the broker, a task whose ETA
lies beyond the visibility timeout is delivered again, and far-future ETAs sit in worker memory
(celery#2599, kombu#337); a deadline that lives in ``documents.due_at`` and a sweep every
``sweep_interval_seconds`` survive restarts, redeliveries and a broker that was down: the first
sweep after it returns catches up.

Time comes from the services' clock: ``SystemClock`` in production; tests and ``santongbu
demo`` build their app with ``make_app(clock=FixedClock(…))`` and move that clock, and the real
tasks sweep "as of" it.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task

from workers.delivery_tasks import DELIVER_OUTBOX
from workflow.bootstrap import Services
from workflow.kernel.settings import Settings

log = logging.getLogger("santongbu.workers")

SWEEP_DEADLINES = "santongbu.sweep_deadlines"
AUDIT_CHECKPOINT = "santongbu.audit_checkpoint"
REFRESH_PROVISIONAL = "santongbu.refresh_provisional_deadlines"


def run_sweep(services: Services, celery: Celery) -> dict[str, Any]:
    """Sweep as of the services' clock; nudge delivery on ``celery`` when emails were queued."""
    report = services.sweep()
    nudged = False
    if report.emails:
        # After commit, so the rows exist. If this message is lost (broker down), the beat's
        # own delivery entry picks the rows up within outbox_interval_seconds.
        try:
            celery.send_task(DELIVER_OUTBOX)
            nudged = True
        except Exception as exc:
            log.warning("sweep: could not nudge delivery (%s); the beat will deliver", exc)
    summary = report.as_dict()
    fired = summary.pop("fired")
    return summary | {
        "fired_count": len(fired),
        "delivery_nudged": nudged,
        "fired": fired[:50],
    }  # a bounded sample: 10,000 rows make no useful log


def run_checkpoint(services: Services) -> dict[str, Any]:
    """One audit checkpoint over every chain head (the audit service serialises them)."""
    cp = services.audit.checkpoint()
    return {"id": cp.id, "at": cp.at.isoformat(), "chains": cp.chains, "hash": cp.hash}


def run_refresh(services: Services) -> dict[str, Any]:
    """Recompute the provisional open deadlines on the calendar as it is now."""
    changed = services.calendar.refresh_provisional()
    return {"changed_count": len(changed), "documents": [m.document_id for m in changed[:50]]}


def beat_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """The periodic entries of this module. Each expires after one interval, so ticks missed
    while workers were down collapse into the next run instead of replaying one by one."""
    every = settings.sweep_interval_seconds
    checkpoint = float(settings.audit_checkpoint_interval_seconds)
    refresh = float(settings.provisional_refresh_interval_seconds)
    return {
        "sweep-deadlines": {"task": SWEEP_DEADLINES, "schedule": every, "options": {"expires": every}},
        "audit-checkpoint": {
            "task": AUDIT_CHECKPOINT,
            "schedule": checkpoint,
            "options": {"expires": checkpoint},
        },
        "refresh-provisional-deadlines": {
            "task": REFRESH_PROVISIONAL,
            "schedule": refresh,
            "options": {"expires": refresh},
        },
    }


def register(celery: Celery, services: Services) -> None:
    """Register the three tasks on ``celery``, over ``services``, and add their beat entries."""

    def sweep_deadlines(self: Task) -> dict[str, Any]:
        """Fire every due rung of the escalation ladder, then nudge outbox delivery."""
        return run_sweep(services, self.app)

    def audit_checkpoint(self: Task) -> dict[str, Any]:
        """Record every audit chain head (catches a document whose whole history was removed)."""
        return run_checkpoint(services)

    def refresh_provisional_deadlines(self: Task) -> dict[str, Any]:
        """Put right a provisional deadline computed on a calendar that changed since."""
        return run_refresh(services)

    for name, fn in (
        (SWEEP_DEADLINES, sweep_deadlines),
        (AUDIT_CHECKPOINT, audit_checkpoint),
        (REFRESH_PROVISIONAL, refresh_provisional_deadlines),
    ):
        celery.task(name=name, bind=True, acks_late=True, ignore_result=True, shared=False)(fn)
    celery.conf.beat_schedule = {**(celery.conf.beat_schedule or {}), **beat_entries(services.settings)}
