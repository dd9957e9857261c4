"""The outbox delivery task: a thin shell around the outbox service's delivery passes
(:meth:`workflow.services.outbox_admin.OutboxAdmin.deliver`), spread over every worker.

One task keeps claiming while rows are due — batch after batch of ``outbox_batch_size`` over one
SMTP connection, up to ``outbox_batches_per_task`` batches — instead of one batch per beat tick.
When its first batch comes back full (a backlog), it sends one more delivery task before it
starts sending, so an idle worker joins in; that task does the same, so within a few
milliseconds every worker is delivering, and the extra messages find nothing once the backlog is
gone. A task that used up its batches with rows still due re-enqueues itself and returns, so a
long backlog never holds one task (and its broker message) for long.

Idempotent and safe to run on many workers at once: rows are claimed in the database, so a
redelivered or duplicated task message just finds nothing left to send. A nudge that cannot be
sent (broker down) is logged; the beat's next tick starts delivery again.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task

from workflow.bootstrap import Services
from workflow.services.outbox_admin import worker_id

log = logging.getLogger("santongbu.workers")
DELIVER_OUTBOX = "santongbu.deliver_outbox"


def _nudge(celery: Celery, why: str) -> bool:
    try:
        celery.send_task(DELIVER_OUTBOX)
        return True
    except Exception as exc:
        log.warning("outbox: could not ask for %s (%s); the beat's next tick will", why, exc)
        return False


def deliver_outbox(
    services: Services, hostname: str | None, limit: int | None = None, celery: Celery | None = None
) -> dict[str, Any]:
    """Deliver due emails until none is left or this task's batches are used up; with
    ``celery``, ask for help at a backlog and hand over to a fresh task at the end of the
    batches. Returns the run's report (as JSON-able data, without the per-row outcomes)."""
    helped: list[bool] = []

    def backlog() -> None:
        if celery is not None:
            helped.append(_nudge(celery, "help with a backlog"))

    report = services.outbox.deliver(
        worker_id=worker_id(hostname), limit=limit, max_batches=None, on_backlog=backlog
    )
    handed_over = bool(report.more and celery is not None and _nudge(celery, "the rest of the backlog"))
    summary = report.as_dict()
    summary.pop("outcomes")
    for key in ("sent", "retried", "failed"):
        summary[key] = summary[key][:50]  # a bounded sample: 10,000 ids make no useful log
    result = summary | {"sent_count": len(report.sent), "helped": any(helped), "handed_over": handed_over}
    # One line per delivery run with the counts; the details only at DEBUG (docs/operations.md).
    log.info(
        "outbox: %d claimed, %d sent, %d to retry, %d failed",
        report.claimed,
        len(report.sent),
        len(report.retried),
        len(report.failed),
    )
    log.debug("outbox details: %s", result)
    return result


def register(celery: Celery, services: Services) -> None:
    """Register the delivery task on ``celery``, over ``services`` (each app its own task)."""

    def deliver(self: Task, limit: int | None = None) -> dict[str, Any]:
        """Deliver due emails, batch after batch, asking other workers to help with a backlog."""
        return deliver_outbox(services, self.request.hostname, limit, self.app)

    celery.task(name=DELIVER_OUTBOX, bind=True, acks_late=True, ignore_result=True, shared=False)(deliver)
