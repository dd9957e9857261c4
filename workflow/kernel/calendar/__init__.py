"""The working-day calendar: package sources, schedules loaded by administrators, deadlines.

What the rest of the application calls:

* :func:`due_for` — the deadline of a document published at an instant (on ``publish``);
* :func:`posting_result` — on time or late, and working days taken (on interpretation posting);
* :func:`calendar_for` — the calendar as a session's database sees it.

Loading or correcting a year, and recomputing the open deadlines it moves, is administration:
:mod:`workflow.services.calendar_admin`.
"""

from workflow.kernel.calendar.calendar import Calendar, package_calendar
from workflow.kernel.calendar.fileformat import ScheduleError, parse_schedule
from workflow.kernel.calendar.schedule import YearSchedule
from workflow.kernel.calendar.store import (
    calendar_for,
    due_for,
    due_sources,
    loaded_schedules,
    posting_result,
)

__all__ = [
    "Calendar",
    "ScheduleError",
    "YearSchedule",
    "calendar_for",
    "due_for",
    "due_sources",
    "loaded_schedules",
    "package_calendar",
    "parse_schedule",
    "posting_result",
]
