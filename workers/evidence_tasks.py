"""The evidence check as a Celery task run by beat (docs/evidence.md): fetch the pages due,
record what they show, nudge delivery when an email was queued.

Thin: it calls :meth:`workflow.services.evidence.service.Evidence.check_due`. Idempotent and safe
twice at once: a result is recorded with a compare-and-set on the page's current check, so a
second beat or a redelivered message that checks the same page drops its result. A fetch is
bounded in time and size by the settings, so a task never hangs a worker for longer than
``evidence_batch_size`` pages × ``evidence_total_timeout_seconds`` / 4 (four at a time).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task

from workers.delivery_tasks import DELIVER_OUTBOX
from workflow.bootstrap import Services
from workflow.kernel.settings import Settings

log = logging.getLogger("santongbu.workers")

CHECK_EVIDENCE = "santongbu.check_evidence"


def run_check(services: Services, celery: Celery) -> dict[str, Any]:
    """Check every page due, as of the services' clock; a bounded summary for the log."""
    run = services.evidence.check_due()
    nudged = False
    if run.emails:
        try:
            celery.send_task(DELIVER_OUTBOX)
            nudged = True
        except Exception as exc:  # the results are recorded; the beat's delivery will follow
            log.warning("evidence: could not nudge delivery (%s); the beat will deliver", exc)
    summary = run.as_dict(services.settings.language)
    checked = summary.pop("checked")
    return summary | {"checked_count": len(checked), "delivery_nudged": nudged, "checked": checked[:50]}


def beat_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    every = settings.evidence_interval_seconds
    return {"check-evidence": {"task": CHECK_EVIDENCE, "schedule": every, "options": {"expires": every}}}


def register(celery: Celery, services: Services) -> None:
    """Register the task on ``celery``, over ``services``, and add its beat entry."""

    def check_evidence(self: Task) -> dict[str, Any]:
        """Fetch, check and keep every publication and posting page due now."""
        return run_check(services, self.app)

    celery.task(name=CHECK_EVIDENCE, bind=True, acks_late=True, ignore_result=True, shared=False)(
        check_evidence
    )
    celery.conf.beat_schedule = {**(celery.conf.beat_schedule or {}), **beat_entries(services.settings)}
