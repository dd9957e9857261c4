"""The periodic work besides delivery, as Celery tasks, and their beat entries: the deadline
sweep, the audit checkpoint, the refresh of provisional deadlines, and the aggregated audit
events of bursts of refusals (:mod:`workflow.kernel.bursts`).

Thin on purpose: each calls one application service from the composition root
(:func:`workflow.bootstrap.bootstrap`) handed to :func:`register`. All are idempotent, so
``acks_late`` (a worker killed mid-task leaves its message to be redelivered) and a second beat
(every tick twice) are harmless: the exactly-once record of a rung is the ``escalations`` row,
not the task message; two checkpoints at once wait for each other inside the audit service; a
refresh that finds nothing stale changes nothing.

The checkpoint entry ticks every :func:`checkpoint_poll_seconds` (a minute at most) and the
audit service decides (:meth:`workflow.services.audit_admin.AuditAdmin.checkpoint` with
``when_due``): a checkpoint when events were added and ``audit_checkpoint_interval_seconds``
has passed, or at once when a sign-off, publication or posting was appended since the last one
(the services enqueue nothing: it looks for such events after the last checkpoint's newest
event id, one indexed query). Each is exported as a signed anchor when
``SANTONGBU_AUDIT_EXPORT_DIR`` is set.

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
FLUSH_AUDIT_BURSTS = "santongbu.flush_audit_bursts"


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
    result = summary | {
        "fired_count": len(fired),
        "delivery_nudged": nudged,
        "fired": fired[:50],
    }  # a bounded sample: 10,000 rows make no useful log
    # One line per sweep with the counts; the details only at DEBUG (docs/operations.md).
    log.info(
        "sweep: %d rung(s) fired on %d document(s), %d email(s) queued, %d deferred (%.2f s)",
        len(fired),
        report.documents,
        report.emails,
        len(report.deferred),
        report.seconds,
    )
    log.debug("sweep details: %s", result)
    return result


def run_checkpoint(services: Services, *, force: bool = False) -> dict[str, Any]:
    """An audit checkpoint if one is due (``force``: now), exported when the settings say where
    (the audit service serialises them). A failed export is logged and raised: the task fails
    visibly, the next tick tries again."""
    try:
        cp = services.audit.checkpoint(when_due=not force)
    except Exception as exc:
        log.error("audit checkpoint failed: %s", exc)
        raise
    return cp.as_dict()


def checkpoint_poll_seconds(settings: Settings) -> float:
    """How often beat asks whether a checkpoint is due: a sign-off, publication or posting is
    anchored within this time."""
    return min(60.0, float(settings.audit_checkpoint_interval_seconds))


def run_refresh(services: Services) -> dict[str, Any]:
    """Recompute the provisional open deadlines on the calendar as it is now."""
    changed = services.calendar.refresh_provisional()
    return {"changed_count": len(changed), "documents": [m.document_id for m in changed[:50]]}


def beat_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """The periodic entries of this module. Each expires after one interval, so ticks missed
    while workers were down collapse into the next run instead of replaying one by one."""
    every = settings.sweep_interval_seconds
    checkpoint = checkpoint_poll_seconds(settings)
    refresh = float(settings.provisional_refresh_interval_seconds)
    bursts = float(settings.audit_burst_window_seconds)
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
        "flush-audit-bursts": {
            "task": FLUSH_AUDIT_BURSTS,
            "schedule": bursts,
            "options": {"expires": bursts},
        },
    }


def register(celery: Celery, services: Services) -> None:
    """Register the four tasks on ``celery``, over ``services``, and add their beat entries."""

    def sweep_deadlines(self: Task) -> dict[str, Any]:
        """Fire every due rung of the escalation ladder, then nudge outbox delivery."""
        return run_sweep(services, self.app)

    def audit_checkpoint(self: Task, force: bool = False) -> dict[str, Any]:
        """Record every audit chain head when due (``force``: now), keyed, and exported as a
        signed anchor if set up (catches a document whose whole history was removed)."""
        return run_checkpoint(services, force=force)

    def refresh_provisional_deadlines(self: Task) -> dict[str, Any]:
        """Put right a provisional deadline computed on a calendar that changed since."""
        return run_refresh(services)

    def flush_audit_bursts(self: Task) -> dict[str, Any]:
        """Write the aggregated audit events of bursts of refusals whose window has closed, and
        forget old sessions and throttle keys."""
        return {"written": services.audit.flush_bursts(), **services.accounts.prune()}

    for name, fn in (
        (SWEEP_DEADLINES, sweep_deadlines),
        (AUDIT_CHECKPOINT, audit_checkpoint),
        (REFRESH_PROVISIONAL, refresh_provisional_deadlines),
        (FLUSH_AUDIT_BURSTS, flush_audit_bursts),
    ):
        celery.task(name=name, bind=True, acks_late=True, ignore_result=True, shared=False)(fn)
    celery.conf.beat_schedule = {**(celery.conf.beat_schedule or {}), **beat_entries(services.settings)}
