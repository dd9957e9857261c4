"""Quiet, prompt recovery from a broker outage: the beat's scheduler and the worker's consumer.

* :class:`QuietScheduler` (the beat): while the broker is down, Celery's scheduler logged
  ``Message Error`` with a full traceback for every entry on every tick. Here each failed send is
  one warning line, at most one per second however many entries fall due together, and one info
  line when sending works again. Nothing is lost by not sending: every beat entry only says "go
  and look", and the next tick says it again (docs/design.md §4).
* :class:`PromptConsumer` (the worker): Celery reconnects with kombu's default back-off (2 s,
  4 s, 6 s, … up to 30 s between attempts), so a worker could wait tens of seconds after the
  broker came back. Here the wait grows from 0.5 s by 0.5 s up to
  ``SANTONGBU_BROKER_RECONNECT_MAX_SECONDS`` (2 s).

Both are named in the app's configuration (``beat_scheduler``, ``worker_consumer``) by
:func:`workers.app.make_app`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.beat import PersistentScheduler
from celery.worker.consumer import Consumer

log = logging.getLogger("santongbu.workers")

RECONNECT_START = 0.5
RECONNECT_STEP = 0.5


class QuietScheduler(PersistentScheduler):
    """The default (shelve-backed) scheduler, with one warning line per tick instead of a
    traceback per entry while the broker cannot be reached."""

    _down_since: float | None = None
    _last_warning: float = 0.0

    def _ensure_connected(self) -> Any:
        """The producer's first connection: retried every second up to every 5 s, one
        warning line per attempt (Celery's backs off to 30 s between attempts)."""
        started = time.monotonic()
        self._down_since = None

        def unreachable(exc: BaseException, interval: float) -> None:
            if self._down_since is None:
                self._down_since = started
            log.warning(
                "beat: broker unreachable for %.0f s; trying again in %.0f s (%s: %s)",
                time.monotonic() - started,
                interval,
                type(exc).__name__,
                exc,
            )

        connection = self.connection.ensure_connection(
            unreachable,
            self.app.conf.broker_connection_max_retries,
            interval_start=1.0,
            interval_step=1.0,
            interval_max=5.0,
        )
        if self._down_since is not None:
            log.info("beat: broker reachable again after %.0f s", time.monotonic() - self._down_since)
            self._down_since = None
        return connection

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:
            now = time.monotonic()
            if self._down_since is None:
                self._down_since = now
            if now - self._last_warning >= 1.0:
                self._last_warning = now
                cause = exc.__cause__ or exc.__context__ or exc
                log.warning(
                    "beat: broker unreachable for %.0f s, %s not sent; the next tick tries again (%s: %s)",
                    now - self._down_since,
                    entry.name,
                    type(cause).__name__,
                    cause,
                )
            return
        if self._down_since is not None:
            log.info("beat: broker reachable again after %.0f s", time.monotonic() - self._down_since)
            self._down_since = None
        log.debug("beat: sent %s", entry.name)


class PromptConsumer(Consumer):
    """Celery's consumer, reconnecting every 0.5-2 s instead of backing off to 30 s."""

    def ensure_connected(self, conn: Any) -> Any:
        original = conn.ensure_connection
        longest = float(getattr(self.app.conf, "santongbu_reconnect_max_seconds", 2.0))

        def prompt(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("interval_start", RECONNECT_START)
            kwargs.setdefault("interval_step", RECONNECT_STEP)
            kwargs.setdefault("interval_max", longest)
            return original(*args, **kwargs)

        conn.ensure_connection = prompt
        return super().ensure_connected(conn)
