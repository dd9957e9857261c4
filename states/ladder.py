"""The reminder and escalation ladder of docs/design.md §4, as data. Pure: no I/O, no wall clock.

A *rung* says when it fires relative to a document's deadline and which email event it queues:

=================  ===========================================  ==============================
level              fires                                        emails (``notifications``)
=================  ===========================================  ==============================
``reminder``       09:00 local on the due day                   unit mailbox, interpreter
``overdue``        right after ``due_at`` (the whole 23:59:59   unit and its head; supervisors
                   counts as on time)                           in copy
``escalated``      1 working day overdue: once the first        supervisors (unit and head in
                   working day after the due day is over        copy)
``escalated_high`` 3 working days overdue                       leadership (supervisors in copy)
=================  ===========================================  ==============================

"N working days overdue" means N *whole* working days have passed since the due day (the one
figure, :func:`states.deadline.working_days_overdue`, that emails, reports and pages show): the rung
fires right after the deadline would have fallen with N more working days, so each rung gives
the unit a full working day (or three) to act before the next one, and the holiday calendar
(make-up working weekends included) counts exactly as it does for the deadline itself. For a
document due Tue 2024-02-20: reminder Tue 09:00, overdue Wed 00:00, escalated Thu 00:00,
escalated_high Sat 2024-02-24 00:00 (after Wed, Thu and Fri).

Two views of one rule, which must agree (the tests check they do on every day of several
months across the holidays):

* :meth:`Rung.is_due` — whether a rung is due at ``now`` for a given deadline (what fires);
* :meth:`Ladder.next_at` — the first instant any rung not yet fired comes due, which the sweep
  stores on the document (``documents.next_rung_at``) so that it reads a document only when
  something may be due.

The ladder is configurable (a JSON list, see :func:`parse_ladder`); :data:`DEFAULT_LADDER` is
docs/design.md §4.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from states.deadline import WorkingDays, is_late, local_date, overdue_words, zone

# The notification events a rung may queue (their recipients are resolved by notifications).
EVENTS = ("reminder", "overdue", "escalated", "escalated_high")
_MAX_LEVEL_LEN = 32  # escalations.level is VARCHAR(32)
_ONE_DAY = timedelta(days=1)
_MAX_SCAN_DAYS = 3 * 366  # a broken calendar without working days must not loop for ever


class LadderError(ValueError):
    """A ladder definition that cannot be used; the message names the rung and the problem."""


@dataclass(frozen=True)
class Rung:
    """One level of the ladder.

    ``working_days_overdue`` ``None`` means the rung *before* the deadline: it fires at ``at``
    (local time) on the due day. A number N means a rung *after* the deadline: N = 0 fires as
    soon as the document is late; N ≥ 1 fires once N whole working days have passed since the
    due day, i.e. right after the deadline would have been with N more working days (00:00 of
    the day after the Nth working day after the due day).
    """

    level: str
    event: str
    working_days_overdue: int | None = None
    at: time | None = None

    @property
    def before_due(self) -> bool:
        return self.working_days_overdue is None

    def fires_at(self, due_at: datetime, calendar: WorkingDays, tz: str) -> datetime:
        """The UTC instant this rung fires for a document due at ``due_at``."""
        tzinfo = zone(tz)
        due_day = local_date(due_at, tz)
        n = self.working_days_overdue
        if n is None:
            assert self.at is not None
            return datetime.combine(due_day, self.at, tzinfo=tzinfo).astimezone(UTC)
        if n == 0:
            # Late is "after the whole deadline second" (states.deadline.is_late).
            return (due_at.replace(microsecond=0) + timedelta(seconds=1)).astimezone(UTC)
        day = _nth_working_day_after(due_day, n, calendar) + _ONE_DAY
        return datetime.combine(day, time(0, 0), tzinfo=tzinfo).astimezone(UTC)

    def is_due(self, due_at: datetime, now: datetime, calendar: WorkingDays, tz: str) -> bool:
        """True if, at ``now``, this rung should have fired for a document due at ``due_at``."""
        if self.working_days_overdue == 0:
            return is_late(due_at, now)
        return self.fires_at(due_at, calendar, tz) <= now

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"level": self.level, "event": self.event}
        if self.working_days_overdue is not None:
            data["working_days_overdue"] = self.working_days_overdue
        if self.at is not None:
            data["at"] = self.at.strftime("%H:%M")
        return data

    def describe(self, lang: str = "en") -> str:
        """When the rung fires, in words (for docs, the demo and ``--help``)."""
        n = self.working_days_overdue
        at = self.at.strftime("%H:%M") if self.at else ""
        if lang == "zh":
            if n is None:
                return f"截止日 {at}"
            return "超过截止时间后" if n == 0 else overdue_words(n, "zh")
        if n is None:
            return f"{at} on the due day"
        if n == 0:
            return "right after the deadline"
        return overdue_words(n, "en")


@dataclass(frozen=True)
class Ladder:
    """The rungs in the order they fire."""

    rungs: tuple[Rung, ...]

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(r.level for r in self.rungs)

    def rung(self, level: str) -> Rung:
        for r in self.rungs:
            if r.level == level:
                return r
        raise KeyError(level)

    def due_levels(
        self,
        due_at: datetime,
        now: datetime,
        calendar: WorkingDays,
        tz: str,
        fired: Iterable[str] = (),
    ) -> list[Rung]:
        """The rungs due at ``now`` and not in ``fired``, in ladder order (catch-up: a sweep
        that did not run for days fires every missing level, once each, oldest first)."""
        done = set(fired)
        return [r for r in self.rungs if r.level not in done and r.is_due(due_at, now, calendar, tz)]

    def next_at(
        self, due_at: datetime, calendar: WorkingDays, tz: str, fired: Iterable[str] = ()
    ) -> datetime | None:
        """When the first rung not in ``fired`` comes due; ``None`` when all have fired.
        The sweep stores it on the document, so it reads a document only when something may
        be due (``documents.next_rung_at``)."""
        done = set(fired)
        times = [r.fires_at(due_at, calendar, tz) for r in self.rungs if r.level not in done]
        return min(times) if times else None

    def schedule(self, due_at: datetime, calendar: WorkingDays, tz: str) -> list[tuple[Rung, datetime]]:
        """Every rung with the instant it fires for this deadline (for people to read)."""
        return [(r, r.fires_at(due_at, calendar, tz)) for r in self.rungs]

    def as_json(self) -> str:
        return json.dumps([r.as_dict() for r in self.rungs], ensure_ascii=False)


DEFAULT_LADDER = Ladder(
    (
        Rung("reminder", "reminder", None, time(9, 0)),
        Rung("overdue", "overdue", 0),
        Rung("escalated", "escalated", 1),
        Rung("escalated_high", "escalated_high", 3),
    )
)


def _parse_time(value: Any, where: str) -> time:
    if not isinstance(value, str):
        raise LadderError(f"{where}: 'at' must be a time like \"09:00\"")
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise LadderError(f"{where}: 'at' {value!r} is not a time like \"09:00\"") from exc


def parse_ladder(text: str | Sequence[Any] | None) -> Ladder:
    """A ladder from its JSON form; ``None`` or empty text gives :data:`DEFAULT_LADDER`.

    The form is a list of rungs, e.g.
    ``[{"level": "reminder", "at": "09:00"}, {"level": "overdue", "working_days_overdue": 0},
    {"level": "escalated", "working_days_overdue": 1},
    {"level": "escalated_high", "working_days_overdue": 3}]``.
    ``event`` defaults to the level's name and must be one of :data:`EVENTS`. Rungs must be
    listed in the order they fire: at most one before the deadline (it needs ``at``), then
    increasing ``working_days_overdue``. Level names are unique: they are the exactly-once key.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return DEFAULT_LADDER
    try:
        items = json.loads(text) if isinstance(text, str) else list(text)
    except json.JSONDecodeError as exc:
        raise LadderError(f"ladder is not valid JSON: {exc}") from exc
    if not isinstance(items, list) or not items:
        raise LadderError("ladder must be a non-empty JSON list of rungs")
    rungs: list[Rung] = []
    for i, item in enumerate(items, 1):
        where = f"rung {i}"
        if not isinstance(item, dict):
            raise LadderError(f"{where}: must be an object with 'level'")
        unknown = set(item) - {"level", "event", "working_days_overdue", "at"}
        if unknown:
            raise LadderError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        level = item.get("level")
        if not isinstance(level, str) or not level.strip() or len(level) > _MAX_LEVEL_LEN:
            raise LadderError(f"{where}: 'level' must be a name of 1 to {_MAX_LEVEL_LEN} characters")
        where = f"rung {i} ({level})"
        event = item.get("event", level)
        if event not in EVENTS:
            raise LadderError(f"{where}: 'event' must be one of {', '.join(EVENTS)}, not {event!r}")
        n = item.get("working_days_overdue")
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 60):
            raise LadderError(f"{where}: 'working_days_overdue' must be a whole number 0 to 60")
        at = _parse_time(item["at"], where) if item.get("at") is not None else None
        if n is None and at is None:
            raise LadderError(f"{where}: give 'at' (a time on the due day) or 'working_days_overdue'")
        if n is not None and at is not None:
            raise LadderError(
                f"{where}: give either 'at' (a time on the due day, before the "
                "deadline) or 'working_days_overdue' (after it), not both"
            )
        rungs.append(Rung(level, event, n, at))
    _check_order(rungs)
    return Ladder(tuple(rungs))


def _check_order(rungs: list[Rung]) -> None:
    levels = [r.level for r in rungs]
    if len(set(levels)) != len(levels):
        raise LadderError("level names must be unique")
    before = [r for r in rungs if r.before_due]
    if len(before) > 1:
        raise LadderError("at most one rung may fire before the deadline")
    if before and rungs[0] is not before[0]:
        raise LadderError(f"the before-deadline rung ({before[0].level}) must come first")
    after = [r.working_days_overdue or 0 for r in rungs if not r.before_due]
    if after != sorted(after) or len(set(after)) != len(after):
        raise LadderError(
            "rungs after the deadline must be listed in the order they fire (increasing working_days_overdue)"
        )


def _nth_working_day_after(day: date, n: int, calendar: WorkingDays) -> date:
    found, scanned = 0, 0
    while found < n:
        day += _ONE_DAY
        scanned += 1
        if calendar.is_working_day(day):
            found += 1
        elif scanned > _MAX_SCAN_DAYS:
            raise ValueError(f"no working day found after {day - timedelta(days=scanned)}")
    return day
