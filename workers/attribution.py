"""Every task a worker runs is attributed to the ``worker`` channel (workflow/kernel/attribution.py):
the credential names the worker (``worker:<hostname>``). A worker on a clock set by hand (the
demo, the tests' ``make_app(clock=FixedClock(...))``) is under a clock override, so its events
also record the real time.

Celery's task signals are connected once, for every app; :func:`register` tells them which apps
are Santongbu's and over which services (so which clock) each runs its tasks, like the task
modules' own ``register`` — this module never imports :mod:`workers.app` back.
"""

from __future__ import annotations

import socket
from typing import Any
from weakref import WeakKeyDictionary

from celery import Celery
from celery.signals import task_postrun, task_prerun

from workflow.bootstrap import Services
from workflow.kernel import attribution
from workflow.kernel.clock import SystemClock

_apps: WeakKeyDictionary[Celery, Services] = WeakKeyDictionary()
_tokens: dict[str, Any] = {}


def register(celery: Celery, services: Services) -> None:
    """Attribute the tasks ``celery`` runs to the worker channel, on ``services``' clock."""
    _apps[celery] = services


@task_prerun.connect(weak=False)
def _begin(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None or not str(getattr(task, "name", "")).startswith("santongbu."):
        return
    services = _apps.get(task.app)
    clock = services.clock if services is not None else None
    host = getattr(task.request, "hostname", None) or socket.gethostname()
    overridden = (clock is not None and not isinstance(clock, SystemClock)) or attribution.clock_overridden()
    token = attribution.begin("worker", f"worker:{host}"[:200], clock_override=overridden)
    if task_id is not None:
        _tokens[task_id] = token


@task_postrun.connect(weak=False)
def _end(task_id: str | None = None, **_: Any) -> None:
    token = _tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        try:
            attribution.end(token)
        except ValueError:  # reset from another context: leave it; the next task sets its own
            pass
