"""The outbox delivery task: a thin shell around :func:`notifications.delivery.deliver_pending`.

Idempotent and safe to run on many workers at once: rows are claimed in the database, so a
redelivered or duplicated task message just finds nothing left to send.
"""
from __future__ import annotations

from typing import Any

from celery import Celery, Task

from notifications.delivery import deliver_pending

DELIVER_OUTBOX = "santongbu.deliver_outbox"


def deliver_outbox(task: Task, limit: int = 100) -> dict[str, Any]:
    """Deliver up to ``limit`` due emails; returns the run's report (as JSON-able data)."""
    from workers.app import runtime, worker_id

    rt = runtime(task.app)
    report = deliver_pending(rt.db, rt.settings, rt.clock,
                             worker_id=worker_id(task.request.hostname), limit=limit)
    return report.as_dict() | {"sent_count": len(report.sent)}


def register(celery: Celery) -> None:
    """Register the delivery task on ``celery`` (each app gets its own task object)."""
    celery.task(name=DELIVER_OUTBOX, bind=True, acks_late=True, ignore_result=True)(deliver_outbox)
