"""The Celery application, configured from :class:`workflow.kernel.settings.Settings`.

Broker:

* ``SANTONGBU_BROKER_URL`` set (e.g. ``redis://127.0.0.1:6379/0``): that broker — production,
  any number of workers on any number of hosts, one beat.
* unset (the embedded default): kombu's **SQLAlchemy** transport on an SQLite file of its own
  next to the database (``<db file>.broker.sqlite``). It needs nothing installed, works across
  processes (a worker and ``celery beat``, or ``celery worker -B``), survives restarts, and
  keeps kombu's tables out of the Alembic-managed schema. ``memory://`` only reaches workers in
  the same process, so a separate beat would publish into the void; kombu's filesystem
  transport was tried first and dropped: its reader does not wait for the writer, and a worker
  read a half-written message and stopped (SQLite transactions rule that out).

Either way the broker only carries "go and look" nudges: the truth is the database (outbox rows,
escalation records), the tasks claim rows there, and are safe to run twice or to lose — the next
beat tick finds whatever a lost message would have. Hence ``task_acks_late`` (a worker killed
mid-task leaves its message to be redelivered) and no long countdowns or ETAs (DESIGN §9).

``celery -A workers worker`` finds :data:`app`; tests build their own with :func:`make_app`.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy.engine import make_url

from workflow.kernel.clock import Clock, SystemClock
from workflow.kernel.db import Database, normalise_url
from workflow.kernel.settings import Settings, get_settings


@dataclass
class Runtime:
    """What tasks need besides their arguments: settings, the database and the clock.

    Held by the app (one per worker process), so a test can run a real worker against its own
    database and a fixed clock without touching process-wide state.
    """

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    _db: Database | None = None

    @property
    def db(self) -> Database:
        """The database, opened on first use with the settings' audit keyring (and a log line
        saying whether the trail is keyed)."""
        if self._db is None:
            from workflow.kernel import audit

            audit.configure(self.settings)
            self._db = Database(self.settings.database_url)
        return self._db


def embedded_broker_file(settings: Settings) -> Path:
    """Where the embedded broker keeps its messages: beside the SQLite file, else cwd."""
    url = make_url(normalise_url(settings.database_url))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db_file = Path(url.database)
        return db_file.with_name(db_file.name + ".broker.sqlite")
    return Path("santongbu.broker.sqlite")


def broker_config(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The broker URL and its transport options."""
    if settings.broker_url:
        # Redis: a message not acked within the visibility timeout is redelivered. Our tasks
        # are short and idempotent, so the default hour is fine; we never use long ETAs.
        return settings.broker_url, {}
    return f"sqla+sqlite:///{embedded_broker_file(settings).resolve()}", {}


def worker_id(hostname: str | None = None) -> str:
    """Names the claimer of outbox rows in the database: host and process."""
    return f"{hostname or socket.gethostname()}:{os.getpid()}"


def make_app(settings: Settings | None = None, *, db: Database | None = None,
             clock: Clock | None = None, name: str = "santongbu") -> Celery:
    """A configured Celery app with every Santongbu task registered on it."""
    settings = settings or get_settings()
    broker, transport_options = broker_config(settings)
    celery = Celery(name, broker=broker, set_as_current=False)
    celery.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        enable_utc=True,
        timezone="UTC",
        worker_hijack_root_logger=False,
        # Periodic work, run by exactly one `celery beat` (or `worker -B`). Each entry
        # expires after one interval so a backlog built while workers were down collapses
        # into the next run instead of replaying every missed tick. The sweep of the
        # escalation ladder and the audit checkpoint are added by workers.sweep_tasks.
        beat_schedule={
            "deliver-outbox": {
                "task": "santongbu.deliver_outbox",
                "schedule": settings.outbox_interval_seconds,
                "options": {"expires": settings.outbox_interval_seconds},
            },
        },
    )
    celery.santongbu = Runtime(settings=settings, clock=clock or SystemClock(), _db=db)  # type: ignore[attr-defined]

    from workers import delivery_tasks, sweep_tasks

    delivery_tasks.register(celery)
    sweep_tasks.register(celery, settings)  # the deadline sweep and the audit checkpoint
    return celery


def runtime(celery: Celery) -> Runtime:
    """The runtime of ``celery`` (created on first use for an app built elsewhere)."""
    rt = getattr(celery, "santongbu", None)
    if rt is None:
        rt = Runtime(settings=get_settings())
        celery.santongbu = rt  # type: ignore[attr-defined]
    return rt


app = make_app()
