"""Injected time: logic never reads the wall clock, so deadlines can be tested by moving a clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current instant as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, used only at the edges (CLI, server, worker start-up)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; thread-safe so workers can share it in tests."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._now = to_utc(start)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = to_utc(instant)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


def to_utc(instant: datetime) -> datetime:
    """Normalise to aware UTC; a naive datetime is refused because its zone is a guess."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: give a time zone (e.g. +08:00)")
    return instant.astimezone(UTC)
