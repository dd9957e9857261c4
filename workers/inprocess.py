"""A real Celery worker and beat inside this process: for ``santongbu demo`` and the tests.

Nothing is simulated: the worker is Celery's own ``WorkController`` (via
:func:`celery.contrib.testing.worker.start_worker`) consuming from the app's broker — the
embedded SQLite transport, or Redis — and the beat is Celery's own ``beat.Service`` with the
app's beat schedule. They run in threads so the caller can move the app's injected clock and
watch what the real tasks do; :class:`TaskProbe` counts finished task runs (Celery's
``task_postrun`` signal) so the caller can wait for "two more sweeps" instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.beat import Scheduler, Service
from celery.signals import task_postrun


class TaskProbe:
    """Counts finished runs of each task of one app and keeps what they returned (or raised)."""

    def __init__(self, celery: Celery) -> None:
        self.app = celery
        self._counts: Counter[str] = Counter()
        self._cond = threading.Condition()
        self.failures: list[tuple[str, Any]] = []
        self.results: list[tuple[str, Any]] = []

    def _on_postrun(
        self, sender: Any = None, state: str | None = None, retval: Any = None, **_kw: Any
    ) -> None:
        if sender is None or getattr(sender, "app", None) is not self.app:
            return
        with self._cond:
            self._counts[sender.name] += 1
            if state not in (None, "SUCCESS"):
                self.failures.append((sender.name, retval))
            else:
                self.results.append((sender.name, retval))
            self._cond.notify_all()

    def connect(self) -> None:
        task_postrun.connect(self._on_postrun, weak=False)

    def disconnect(self) -> None:
        task_postrun.disconnect(self._on_postrun)

    def returned(self, name: str) -> list[Any]:
        """What the successful runs of ``name`` returned, in the order they finished."""
        with self._cond:
            return [r for n, r in self.results if n == name]

    def count(self, name: str) -> int:
        with self._cond:
            return self._counts[name]

    def wait(self, name: str, at_least: int, timeout: float) -> None:
        """Block until ``name`` has finished ``at_least`` times in all; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._counts[name] < at_least:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{name} finished {self._counts[name]} times, "
                        f"expected {at_least} within {timeout:.0f} s"
                    )
                self._cond.wait(left)

    def wait_more(self, name: str, more: int, timeout: float) -> None:
        """Block until ``name`` has finished ``more`` further times from now."""
        self.wait(name, self.count(name) + more, timeout)


class _Beat(threading.Thread):
    """Celery's beat service in a thread, with an in-memory schedule (no shelve file) and a
    short loop so it notices short intervals and stops promptly."""

    def __init__(self, celery: Celery, max_interval: float) -> None:
        super().__init__(name="santongbu-beat", daemon=True)
        self.service = Service(celery, max_interval=max_interval, scheduler_cls=Scheduler)

    def run(self) -> None:
        self.service.start(embedded_process=True)

    def stop(self) -> None:
        self.service.stop(wait=True)


def _wake_for_shutdown(celery: Celery, task: str) -> None:
    """Ask for a warm shutdown, then send two messages: one ends the consumer's current poll,
    the other the poll that Celery's loop runs once more on its way out (``synloop`` drains
    in a ``finally``). The tasks are idempotent, so running them once more is harmless."""
    from celery.worker import state

    state.should_terminate = 0
    try:
        for _ in range(2):
            celery.send_task(task)
    except Exception:
        pass


@dataclass
class InProcess:
    """What :func:`running` yields."""

    app: Celery
    probe: TaskProbe
    worker: Any


@contextmanager
def running(
    celery: Celery,
    *,
    beat: bool = True,
    pool: str = "threads",
    concurrency: int = 2,
    loglevel: str = "ERROR",
    beat_loop_seconds: float = 0.2,
    shutdown_timeout: float = 30.0,
    wake_task: str | None = None,
) -> Iterator[InProcess]:
    """Run a worker (and, with ``beat``, the beat) for ``celery`` until the block ends.

    ``wake_task``: an idempotent task sent once at the end so the worker notices the shutdown
    at once instead of at the end of its two-second broker poll (a quicker demo).
    """
    from celery.contrib.testing.worker import start_worker

    probe = TaskProbe(celery)
    probe.connect()
    celery.conf.worker_enable_remote_control = False  # no pidbox: nothing to broadcast to
    beat_thread: _Beat | None = None
    try:
        with start_worker(
            celery,
            pool=pool,
            concurrency=concurrency,
            loglevel=loglevel,
            perform_ping_check=False,
            shutdown_timeout=shutdown_timeout,
        ) as worker:
            if beat:
                beat_thread = _Beat(celery, beat_loop_seconds)
                beat_thread.start()
            try:
                yield InProcess(celery, probe, worker)
            finally:
                if beat_thread is not None:
                    beat_thread.stop()
                    beat_thread.join(shutdown_timeout)
                if wake_task is not None:
                    _wake_for_shutdown(celery, wake_task)
    finally:
        probe.disconnect()
