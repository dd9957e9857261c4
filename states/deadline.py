"""The interpretation deadline counted in working days (docs/design.md §3). Pure: no I/O, no wall clock.

The rule, as an inspector counts it:

* Day 1 is the first working day **after the calendar day of publication** (in the working
  zone), whatever the time of publication: 00:01 and 23:59 on the same day give the same
  deadline, and publishing on a holiday or a make-up working day changes nothing about that.
* The document is due at the end of the Nth working day, shown as ``23:59:59`` local time.
  ``due_at`` is exactly that second (``.000000``); the whole second counts, so an instant is
  late only when its whole-second value lies after ``due_at`` (see :func:`is_late`). In plain
  words: anything done on the due day, local time, is on time.
* A deadline is *provisional* when any day from the day after publication up to the due day
  lies in a year whose official holiday schedule is not known: that schedule could still add
  holidays or make-up working days inside the span and move the deadline.

Which days are working days is the calendar's business (:class:`WorkingDays`); the rule here
is the same for every calendar, so it is tested with small hand-made calendars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from states.reasons import Reason

END_OF_DAY = time(23, 59, 59)
REMINDER_TIME = time(9, 0)
_ONE_DAY = timedelta(days=1)
# Far more than any run of consecutive non-working days (the longest, Spring Festival plus
# weekends, is under two weeks); stops a broken calendar from looping for ever.
_MAX_GAP_DAYS = 366


class WorkingDays(Protocol):
    """What the deadline rule needs to know about days."""

    def is_working_day(self, d: date) -> bool:
        """True if government offices work on ``d`` (weekdays and make-up weekends)."""
        ...

    def is_official(self, year: int) -> bool:
        """True if ``year``'s State Council schedule is known (not an estimate)."""
        ...


@dataclass(frozen=True)
class DueDate:
    """A computed deadline and the evidence for it."""

    due_at: datetime
    """The deadline as an aware UTC instant: what is stored."""
    due_local: datetime
    """The same instant in the working zone (``23:59:59`` of the due day): what is shown."""
    counted_days: tuple[date, ...]
    """The working days counted, day 1 first; the last one is the due day."""
    provisional: bool
    """True if a day in the span lies in a year without an official schedule."""
    days: int
    """N, the number of working days allowed."""

    @property
    def due_date(self) -> date:
        return self.due_local.date()


@lru_cache(maxsize=16)
def zone(tz: str) -> ZoneInfo:
    """A cached :class:`ZoneInfo`; unknown names raise :class:`ValueError` with the name."""
    try:
        return ZoneInfo(tz)
    except Exception as exc:  # ZoneInfoNotFoundError, or ValueError for malformed keys
        raise ValueError(f"unknown time zone '{tz}'") from exc


def _aware(instant: datetime, what: str) -> datetime:
    if instant.tzinfo is None or instant.tzinfo.utcoffset(instant) is None:
        raise ValueError(f"{what} is a naive datetime: give a time zone (e.g. +08:00)")
    return instant


def local_date(instant: datetime, tz: str) -> date:
    """The calendar day of ``instant`` in the working zone."""
    return _aware(instant, "instant").astimezone(zone(tz)).date()


def add_working_days(start: date, n: int, calendar: WorkingDays) -> date:
    """The Nth working day after ``start`` (``start`` itself never counts); ``n`` >= 1."""
    return _counted(start, n, calendar)[-1]


def _counted(start: date, n: int, calendar: WorkingDays) -> tuple[date, ...]:
    """The N working days after ``start``; a calendar that memoises them (an optional
    ``working_days_after(start, n)`` method, same answer) is asked for them instead."""
    memo = getattr(calendar, "working_days_after", None)
    return memo(start, n) if memo is not None else count_forward(start, n, calendar)


def count_forward(start: date, n: int, calendar: WorkingDays) -> tuple[date, ...]:
    """The N working days after ``start``, day 1 first, asking the calendar day by day."""
    if n < 1:
        raise ValueError(f"the number of working days must be at least 1, not {n}")
    counted: list[date] = []
    day, gap = start, 0
    is_working = calendar.is_working_day
    while len(counted) < n:
        day += _ONE_DAY
        if is_working(day):
            counted.append(day)
            gap = 0
        else:
            gap += 1
            if gap > _MAX_GAP_DAYS:
                raise ValueError(f"no working day in the year after {day - timedelta(days=gap)}")
    return tuple(counted)


def working_days_between(after: date, until: date, calendar: WorkingDays) -> int:
    """Working days in the half-open span (``after``, ``until``]; 0 if ``until`` <= ``after``.

    Publication on day P and posting on the deadline day D gives N: the same count as the rule.
    """
    if until <= after:
        return 0
    is_working = calendar.is_working_day
    count, day = 0, after
    while day < until:
        day += _ONE_DAY
        if is_working(day):
            count += 1
    return count


def compute_due(
    published_at: datetime, calendar: WorkingDays, *, days: int = 3, tz: str = "Asia/Shanghai"
) -> DueDate:
    """The deadline for a document made public at ``published_at`` (aware; any zone)."""
    local = zone(tz)
    published_on = _aware(published_at, "published_at").astimezone(local).date()
    counted = _counted(published_on, days, calendar)
    due_day = counted[-1]
    due_local = datetime.combine(due_day, END_OF_DAY, tzinfo=local)
    first_year, last_year = (published_on + _ONE_DAY).year, due_day.year
    if first_year == last_year:  # the common case, one look-up
        provisional = not calendar.is_official(first_year)
    else:
        provisional = not all(calendar.is_official(y) for y in range(first_year, last_year + 1))
    return DueDate(
        due_at=due_local.astimezone(UTC),
        due_local=due_local,
        counted_days=counted,
        provisional=provisional,
        days=days,
    )


def is_late(due_at: datetime, instant: datetime) -> bool:
    """True if ``instant`` lies after the deadline second (the whole 23:59:59 is on time)."""
    return _aware(instant, "instant").replace(microsecond=0) > _aware(due_at, "due_at")


Count = Callable[[date, date, WorkingDays], int]
"""How working days in a half-open span of dates are counted: :func:`working_days_between`,
or a faster counter with the same answer (the reports' per-year running totals)."""


def working_days_overdue(
    due_at: datetime, now: datetime, calendar: WorkingDays, tz: str, *, count: Count | None = None
) -> int:
    """THE number of working days overdue, used by the sweep, emails, reports, postings, pages,
    API and demo: working days that have *fully passed* since the due day.

    0 until late, and still 0 right after the deadline although already late (shown as
    "逾期不满 1 个工作日"); 1 once the first working day after the due day is over, 2 once the
    second is, and so on. The ladder's "1 working day overdue" rung fires at the very instant
    this figure reaches 1 (:mod:`states.ladder`). Due Tue 2024-02-20 23:59:59: Wed 21 all day
    is 0, Thu 22 00:00 is 1, Sat 24 00:00 is 3 (Wed, Thu, Fri), still 3 over the weekend.
    A posting is late by this figure at the instant it was made.
    """
    if not is_late(due_at, now):
        return 0
    counter = count or working_days_between
    return counter(local_date(due_at, tz), local_date(now, tz) - _ONE_DAY, calendar)


def working_days_taken(
    published_at: datetime, posted_at: datetime, calendar: WorkingDays, tz: str, *, count: Count | None = None
) -> int:
    """Working days from publication to posting: those after the publication day up to and
    including the posting day (posting on the due day gives N, the days allowed)."""
    counter = count or working_days_between
    return counter(local_date(published_at, tz), local_date(posted_at, tz), calendar)


def posting_outcome(
    published_at: datetime, due_at: datetime, posted_at: datetime, calendar: WorkingDays, tz: str
) -> tuple[bool, int, int]:
    """(on time, working days taken, working days late) of a posting made at ``posted_at``:
    late is :func:`is_late`, days late is :func:`working_days_overdue` at the posting."""
    taken = working_days_taken(published_at, posted_at, calendar, tz)
    if not is_late(due_at, posted_at):
        return True, taken, 0
    return False, taken, working_days_overdue(due_at, posted_at, calendar, tz)


def overdue_words(n: int, lang: str = "zh") -> str:
    """:func:`working_days_overdue` in words, for a document already late: 0 is "less than 1"."""
    if n < 1:
        return Reason("overdue_under_one").text(lang)
    return Reason("overdue_one" if n == 1 else "overdue_days", {"n": n}).text(lang)


def reminder_at(due_at: datetime, tz: str) -> datetime:
    """09:00 local on the due day, as an aware UTC instant (the first rung of the ladder)."""
    due_day = local_date(due_at, tz)
    return datetime.combine(due_day, REMINDER_TIME, tzinfo=zone(tz)).astimezone(UTC)
