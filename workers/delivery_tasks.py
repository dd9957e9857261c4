"""The outbox delivery task: a thin shell around the outbox service's delivery pass
(:meth:`workflow.services.outbox_admin.OutboxAdmin.deliver`).

Idempotent and safe to run on many workers at once: rows are claimed in the database, so a
redelivered or duplicated task message just finds nothing left to send.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task

from workflow.bootstrap import Services
from workflow.services.outbox_admin import worker_id

DELIVER_OUTBOX = "santongbu.deliver_outbox"


def deliver_outbox(services: Services, hostname: str | None, limit: int = 100) -> dict[str, Any]:
    """Deliver up to ``limit`` due emails; returns the run's report (as JSON-able data)."""
    report = services.outbox.deliver(worker_id=worker_id(hostname), limit=limit)
    return report.as_dict() | {"sent_count": len(report.sent)}


def register(celery: Celery, services: Services) -> None:
    """Register the delivery task on ``celery``, over ``services`` (each app its own task)."""

    def deliver(self: Task, limit: int = 100) -> dict[str, Any]:
        """Deliver up to ``limit`` due emails."""
        return deliver_outbox(services, self.request.hostname, limit)

    celery.task(name=DELIVER_OUTBOX, bind=True, acks_late=True, ignore_result=True, shared=False)(deliver)
