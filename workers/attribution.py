"""Every task a worker runs is attributed to the ``worker`` channel (workflow/kernel/attribution.py):
the credential names the worker (``worker:<hostname>``). A worker on a clock set by hand (the
demo, the tests' ``make_app(clock=FixedClock(...))``) is under a clock override, so its events
also record the real time. Connected once, through Celery's task signals, for every app.
"""
from __future__ import annotations

import socket
from typing import Any

from celery.signals import task_postrun, task_prerun

from workflow.kernel import attribution
from workflow.kernel.clock import SystemClock

_tokens: dict[str, Any] = {}


@task_prerun.connect(weak=False)
def _begin(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None or not str(getattr(task, "name", "")).startswith("santongbu."):
        return
    from workers.app import runtime

    clock = runtime(task.app).clock
    host = getattr(task.request, "hostname", None) or socket.gethostname()
    token = attribution.begin("worker", f"worker:{host}"[:200],
                              clock_override=not isinstance(clock, SystemClock) or attribution.clock_overridden())
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
