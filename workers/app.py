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
mid-task leaves its message to be redelivered) and no long countdowns or ETAs (docs/design.md §9).

The tasks call the application services that the composition root builds
(:func:`workflow.bootstrap.bootstrap`); :func:`make_app` hands those to each task module's
``register``, so the task modules never import this one back.

``celery -A workers worker`` finds :data:`app`; tests build their own with :func:`make_app`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_init
from sqlalchemy.engine import make_url

from workers import attribution, delivery_tasks, evidence_tasks, sweep_tasks
from workflow.bootstrap import Services, bootstrap
from workflow.kernel import audit
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database, normalise_url
from workflow.kernel.settings import Settings


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
        # A broker that is down is noticed in seconds, not at the operating system's TCP
        # timeouts: connecting gives up after 5 s, idle connections are probed (keepalive, and
        # a PING every 10 s), so a worker learns of a restarted Redis and reconnects promptly.
        options: dict[str, Any] = {}
        if settings.broker_url.startswith(("redis://", "rediss://")):
            options = {"socket_connect_timeout": 5, "socket_keepalive": True, "health_check_interval": 10}
        return settings.broker_url, options
    return f"sqla+sqlite:///{embedded_broker_file(settings).resolve()}", {}


def make_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    name: str = "santongbu",
    services: Services | None = None,
) -> Celery:
    """A configured Celery app with every Santongbu task registered on it, over ``services``
    (default: what :func:`~workflow.bootstrap.bootstrap` builds from ``settings``, ``db`` and
    ``clock``; each process of a deployment, one set of services)."""
    services = services or bootstrap(settings, db=db, clock=clock)
    settings = services.settings
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
        broker_connection_max_retries=None,  # a worker waits for its broker as long as it takes
        # Quiet, prompt recovery from a broker outage (workers/quiet.py): one warning line per
        # beat tick instead of tracebacks; workers retry every 0.5-2 s instead of up to 30 s.
        beat_scheduler="workers.quiet:QuietScheduler",
        beat_enable_remote_control=False,
        worker_consumer="workers.quiet:PromptConsumer",
        santongbu_reconnect_max_seconds=settings.broker_reconnect_max_seconds,
        enable_utc=True,
        timezone="UTC",
        worker_hijack_root_logger=False,
        # Periodic work, run by exactly one `celery beat` (or `worker -B`). Each entry
        # expires after one interval so a backlog built while workers were down collapses
        # into the next run instead of replaying every missed tick. The sweep of the
        # escalation ladder, the audit checkpoint and the refresh of provisional deadlines
        # are added by workers.sweep_tasks; the evidence check by workers.evidence_tasks.
        beat_schedule={
            "deliver-outbox": {
                "task": "santongbu.deliver_outbox",
                "schedule": settings.outbox_interval_seconds,
                "options": {"expires": settings.outbox_interval_seconds},
            },
        },
    )
    # Celery logs every task's return value at INFO ("Task … succeeded in 0.01s: {…}"), a
    # whole result dict every few seconds; the tasks log one line with counts themselves
    # (INFO) and their details at DEBUG, so only Celery's warnings and errors are kept.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
    celery.santongbu = services  # read by services_of
    attribution.register(celery, services)  # every task on the worker channel (task signals)
    _fresh_connections_after_fork(services)
    delivery_tasks.register(celery, services)
    sweep_tasks.register(celery, services)
    evidence_tasks.register(celery, services)
    return celery


def _fresh_connections_after_fork(services: Services) -> None:
    """A prefork child must not share the parent's pooled database connections."""
    from celery.signals import worker_process_init

    def dispose(**_: Any) -> None:
        services.db.engine.dispose(close=False)

    worker_process_init.connect(dispose, weak=False)


def services_of(celery: Celery) -> Services:
    """The services an app made by :func:`make_app` runs its tasks over (tests, the demo)."""
    return celery.santongbu


def _announce_audit_key(**_: Any) -> None:
    """A worker's or beat's start-up log says whether the audit trail is keyed (the keyring was
    taken up by :func:`~workflow.bootstrap.bootstrap`)."""
    audit.log_keyed_status()


# Sent by ``celery worker`` / ``celery beat`` (and ``santongbu worker`` / ``beat``) as they
# start, not by the in-process worker of the demo and the tests.
worker_init.connect(_announce_audit_key, weak=False, dispatch_uid="santongbu.audit_key.worker")
beat_init.connect(_announce_audit_key, weak=False, dispatch_uid="santongbu.audit_key.beat")


def _app_for_this_process() -> Celery:
    """The app ``celery -A workers`` finds. A configuration mistake (an unreadable or unsafe
    audit key file, an invalid setting) stops the process with one line an operator can act on,
    not a traceback from inside the import."""
    from pydantic import ValidationError

    from workflow.kernel.auditkeys import KeyFileError

    try:
        return make_app()
    except KeyFileError as exc:
        raise SystemExit(f"santongbu worker: SANTONGBU_AUDIT_KEY_FILE: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"santongbu worker: configuration error: {problems}") from None


app = _app_for_this_process()
