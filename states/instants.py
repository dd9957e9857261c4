"""Instants as people give them and as they are shown back. Pure: no I/O, no wall clock.

One convention (README, "Times"; docs/api.md): people read the working zone (Asia/Shanghai)
with its offset; JSON carries ISO 8601 with the offset (``2024-02-20T23:59:59+08:00``); the
database stores UTC. Every instant typed into the CLI, a page, an import file or the API is
read by :func:`parse_instant` or checked by :func:`check_instant`, so the rules are the same
everywhere:

* an ISO 8601 date or date-time (``2024-02-09``, ``2024-02-09 10:30``,
  ``2024-02-09T10:30+08:00``); without an offset it is read in the working zone;
* nothing before 2000-01-01 00:00 in the working zone: earlier values are typing mistakes for a
  system of this age, and before 1928 the zone database gives Shanghai its local mean time
  (+08:05:43), which nobody means; nothing after the year 2200 either.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from states.deadline import zone
from states.reasons import Reason

EARLIEST_YEAR, LATEST_YEAR = 2000, 2200


class InstantError(ValueError):
    """An instant that cannot be used; :attr:`reason` says why in Chinese or English."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.text("en"))
        self.reason = reason


def check_instant(value: datetime, tz: str, *, what: str = "time") -> datetime:
    """``value`` (aware, or naive in the working zone) if it lies in the years allowed."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        value = value.replace(tzinfo=zone(tz))
    earliest = datetime.combine(date(EARLIEST_YEAR, 1, 1), time(0, 0), tzinfo=zone(tz))
    if value < earliest or value.astimezone(zone(tz)).year > LATEST_YEAR:
        raise InstantError(Reason("instant_out_of_range", {"what": what, "value": value.date().isoformat()}))
    return value


def parse_instant(text: str, tz: str, *, what: str = "time") -> datetime:
    """An aware datetime from what a person typed (see the module docstring)."""
    cleaned = text.strip()
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InstantError(Reason("instant_unreadable", {"what": what, "value": cleaned})) from None
    return check_instant(parsed, tz, what=what)


def shown(value: datetime, tz: str) -> str:
    """An instant as people read it in messages: ISO 8601 in the working zone, with the offset."""
    return value.astimezone(zone(tz)).isoformat()


_UTC_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(\+00:00|Z)$")


def localise(data: Any, tz: str) -> Any:
    """``data`` (JSON-ready dicts and lists) with every instant written in the working zone:
    datetimes, and the UTC ISO strings the services record in outcome and audit details
    (``2024-02-20T15:59:59+00:00`` → ``2024-02-20T23:59:59+08:00``, the same instant)."""
    if isinstance(data, datetime):
        return shown(data, tz)
    if isinstance(data, str):
        return shown(datetime.fromisoformat(data), tz) if _UTC_INSTANT.match(data) else data
    if isinstance(data, dict):
        return {k: localise(v, tz) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [localise(v, tz) for v in data]
    return data
