"""The calendar as the application reads it: the years loaded in the database, and deadlines.

Every function takes the caller's session and only reads. Loading a year and recomputing the
open deadlines is administration, in :mod:`workflow.services.calendar_admin`.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from states.deadline import DueDate, compute_due, posting_outcome
from workflow.kernel.calendar.calendar import Calendar
from workflow.kernel.calendar.schedule import YearSchedule
from workflow.kernel.models import CalendarDay, CalendarYear
from workflow.kernel.settings import Settings

_SESSION_KEY = "santongbu.calendar"


def loaded_schedules(session: Session) -> list[YearSchedule]:
    """Every year an administrator loaded, as schedules."""
    years = list(session.scalars(select(CalendarYear).order_by(CalendarYear.year)))
    if not years:
        return []
    days: dict[int, list[CalendarDay]] = {}
    for day in session.scalars(select(CalendarDay).order_by(CalendarDay.day)):
        days.setdefault(day.year, []).append(day)
    return [
        YearSchedule(
            year=y.year,
            holidays={d.day: d.name for d in days.get(y.year, []) if d.kind == "holiday"},
            workdays={d.day: d.name for d in days.get(y.year, []) if d.kind == "workday"},
            official=y.official,
            source=y.source,
            notice=y.notice,
            sha256=y.sha256,
            loaded=True,
        )
        for y in years
    ]


# The built calendar of each database this process uses, until a calendar load.
#
# A Calendar never changes once built; what can change it is a year being loaded (or replaced),
# here or in another process (the CLI, the worker, another server process). So each database
# has one entry, tagged with the version it was built at:
#
# * ``generation`` — bumped in this process by :func:`calendar_changed`, which the load calls in
#   its transaction and again when that transaction commits: a load made here is seen by the
#   next transaction of every Database object on that URL, even at the same clock instant;
# * ``(count, max(loaded_at))`` of ``calendar_years`` — the version every process can read: a
#   load replaces the year's row with a new ``loaded_at`` (the load's instant), an added year
#   changes the count. One aggregate row over a table of a few rows, read once per transaction
#   that needs the calendar (``session.info`` keeps it for the rest of the transaction), in
#   place of reading every loaded day and expanding the years again.
#
# Why read the version in every such transaction rather than trust the cache for a while: a
# deadline computed on a calendar older than a committed load would not be corrected — the load
# recomputes the open deadlines it can see, and a document published afterwards by a process
# still holding the old calendar is not among them. A time-to-live would open that window for
# its whole length on every process; LISTEN/NOTIFY (PostgreSQL only) would need a connection
# and a thread per process and still leave a window between the commit and the notification.
# The read costs one round trip (~0.07 ms on loopback here) on the transactions that compute
# a deadline or count working days, and nothing on the others (the calendar is read lazily).
#
# A year stored without its content hash (a schedule built in code) is never shared, as before.
_VERSION = select(func.count(), func.count(CalendarYear.sha256), func.max(CalendarYear.loaded_at))
_BUILT: dict[str, tuple[tuple[object, ...], Calendar]] = {}
_GENERATIONS: dict[str, int] = {}
_BUILT_LOCK = threading.Lock()
_HOOKED = "santongbu.calendar.changed"
_SEEDED_KEY = "santongbu.calendar.version"


def _database(session: Session) -> str:
    """What identifies the session's database within this process: its engine's URL."""
    bind = session.get_bind()
    return str(bind.engine.url)


def version_read() -> Any:
    """The calendar's version as one row subquery, for a caller that folds it into a read it
    makes anyway (the document commands' one read); hand the values to :func:`seed_version`."""
    return select(
        func.count().label("calendar_years"),
        func.count(CalendarYear.sha256).label("calendar_hashed"),
        func.max(CalendarYear.loaded_at).label("calendar_loaded_at"),
    ).subquery("calendar_version")


def seed_version(session: Session, count: int, hashed: int, last: datetime | None) -> None:
    """The version read in this transaction by the caller: :func:`calendar_for` uses it
    instead of reading it again."""
    session.info[_SEEDED_KEY] = (count, hashed, last)


def calendar_for(session: Session, settings: Settings) -> Calendar:
    """The calendar as this session's database sees it (one light query per transaction)."""
    found = session.info.get(_SESSION_KEY)
    if found is None:
        where = _database(session)
        seeded = session.info.pop(_SEEDED_KEY, None)
        count, hashed, last = seeded if seeded is not None else session.execute(_VERSION).one()
        with _BUILT_LOCK:
            generation = _GENERATIONS.get(where, 0)
            entry = _BUILT.get(where)
        version = (generation, count, last)
        if entry is not None and entry[0] == version:
            found = entry[1]
        else:
            found = Calendar(loaded_schedules(session))
            if hashed == count:
                with _BUILT_LOCK:
                    if _GENERATIONS.get(where, 0) == generation:  # no load here meanwhile
                        _BUILT[where] = (version, found)
        session.info[_SESSION_KEY] = found
    return found


def _bump(where: str) -> None:
    with _BUILT_LOCK:
        _GENERATIONS[where] = _GENERATIONS.get(where, 0) + 1
        _BUILT.pop(where, None)


def calendar_changed(session: Session) -> None:
    """Whoever writes ``calendar_years`` calls this in the same transaction: the calendars this
    process built for the database are dropped now and again when the transaction commits (a
    transaction of another thread may rebuild from the old rows in between). Other processes
    see the change through the version in the database (see above)."""
    where = _database(session)
    _bump(where)
    session.info.pop(_SESSION_KEY, None)
    if not session.info.get(_HOOKED):
        session.info[_HOOKED] = True

        def committed(_session: Session) -> None:
            _session.info.pop(_HOOKED, None)
            _bump(where)

        event.listen(session, "after_commit", committed, once=True)


def forget(session: Session) -> None:
    """Drop the calendar this session has read, after it changed the loaded years."""
    session.info.pop(_SESSION_KEY, None)


def due_for(session: Session, published_at: datetime, settings: Settings) -> DueDate:
    """The deadline of a document published at ``published_at`` (store ``due_at`` and ``provisional``)."""
    return compute_due(
        published_at,
        calendar_for(session, settings),
        days=settings.deadline_days,
        tz=settings.timezone,
    )


def due_sources(session: Session, due: DueDate, settings: Settings) -> dict[str, str]:
    """Year → source of the schedule each counted day came from: what to record with a deadline."""
    calendar = calendar_for(session, settings)
    return {str(y): calendar.source(y) for y in sorted({d.year for d in due.counted_days})}


def posting_result(
    session: Session,
    published_at: datetime,
    due_at: datetime,
    posted_at: datetime,
    settings: Settings,
) -> tuple[bool, int, int]:
    """(on_time, working days taken, working days late) for an interpretation posted at
    ``posted_at``, by :func:`states.deadline.posting_outcome` (the one definition of each).

    On time is judged against the stored ``due_at`` (the deadline the unit was told), not a
    recomputed one.
    """
    return posting_outcome(
        published_at, due_at, posted_at, calendar_for(session, settings), settings.timezone
    )
