"""The calendar as the application reads it: the years loaded in the database, and deadlines.

Every function takes the caller's session and only reads. Loading a year and recomputing the
open deadlines is administration, in :mod:`workflow.services.calendar_admin`.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from states.deadline import DueDate, compute_due, is_late, local_date, working_days_between
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


# Built calendars by what was loaded (years, their content hashes and load instants): a
# Calendar never changes once built, so every transaction that sees the same loads shares one
# instead of reading every loaded day and expanding the years again (~11 % of a publish,
# bench_trigger). Any load changes ``loaded_at``, hence the key.
_BUILT: dict[tuple[object, ...], Calendar] = {}
_BUILT_LOCK = threading.Lock()


def calendar_for(session: Session, settings: Settings) -> Calendar:
    """The calendar as this session's database sees it (one light query per session)."""
    found = session.info.get(_SESSION_KEY)
    if found is None:
        key = tuple(
            tuple(row)
            for row in session.execute(
                select(
                    CalendarYear.year,
                    CalendarYear.sha256,
                    CalendarYear.source,
                    CalendarYear.official,
                    CalendarYear.loaded_at,
                ).order_by(CalendarYear.year)
            ).all()
        )
        # A year loaded without its content hash (a schedule built in code) is never shared.
        cacheable = all(row[1] for row in key)
        with _BUILT_LOCK:
            found = _BUILT.get(key) if cacheable else None
        if found is None:
            found = Calendar(loaded_schedules(session))
        if cacheable:
            with _BUILT_LOCK:
                if len(_BUILT) >= 8:
                    _BUILT.clear()
                _BUILT[key] = found
        session.info[_SESSION_KEY] = found
    return found


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
    """(on_time, working days taken, working days late) for an interpretation posted at ``posted_at``.

    On time is judged against the stored ``due_at`` (the deadline the unit was told), not a
    recomputed one. Days taken count working days after the publication day up to and
    including the posting day; days late count those after the due day (0 on a weekend right
    after a Friday deadline, although the posting is late).
    """
    calendar = calendar_for(session, settings)
    tz = settings.timezone
    posted_on = local_date(posted_at, tz)
    taken = working_days_between(local_date(published_at, tz), posted_on, calendar)
    if not is_late(due_at, posted_at):
        return True, taken, 0
    return False, taken, working_days_between(local_date(due_at, tz), posted_on, calendar)
