"""The working-day calendar: the deadline calculator, a year's schedule, and loading a year.

Anyone signed in may compute a deadline or look at a year; loading or correcting a year is
for administrators (docs/design.md §3, §7). A load recomputes every open deadline in the same
transaction and audits it all; the calendar service authorises the caller and audits a
refusal, for the API as for the CLI (:class:`workflow.services.calendar_admin.CalendarAdmin`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, Request, UploadFile

from states.deadline import compute_due, local_date
from states.instants import EARLIEST_YEAR, LATEST_YEAR, InstantError, check_instant
from states.reasons import Reason
from workflow.entrypoints.api import messages
from workflow.entrypoints.api.deps import CallerDep, ServicesDep
from workflow.entrypoints.api.problems import request_language, responses
from workflow.entrypoints.api.schemas import MAX_YEAR, MIN_YEAR, CalendarLoadOut, CalendarYearOut, DeadlineOut
from workflow.kernel.calendar import YearSchedule
from workflow.kernel.errors import InvalidInput

router = APIRouter(tags=["calendar"])

Year = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="The year, e.g. 2027.")]
MAX_FILE = 256 * 1024
_SAFE_NAME = re.compile(r"^[\w.\- ]{1,100}$")
_NUL = re.compile("[\x00\ud800-\udfff]")


def _invalid(
    request: Request, field: str, error_type: str, ctx: dict[str, Any] | None = None
) -> InvalidInput:
    problem = messages.own(error_type, ctx, request_language(request))
    return InvalidInput(Reason("invalid", {"field": field, "problem": problem}))


def _instant(request: Request, value: str, tz: str) -> datetime:
    """A date (the day of publication) or an ISO 8601 date-time; without offset, local time."""
    try:
        parsed = (
            datetime.combine(date.fromisoformat(value), time(0, 0))
            if len(value) == 10
            else datetime.fromisoformat(value)
        )
    except ValueError:
        raise _invalid(
            request,
            "published",
            "bad_instant",
        ) from None
    try:
        return check_instant(parsed, tz, what="published")
    except InstantError:
        raise _invalid(
            request,
            "published",
            "year_range",
            {"low": EARLIEST_YEAR, "high": LATEST_YEAR},
        ) from None


@router.get("/deadline", response_model=DeadlineOut, responses=responses(401, 403, 422, 503))
def deadline(
    request: Request,
    who: CallerDep,
    svc: ServicesDep,
    published: Annotated[
        str,
        Query(
            max_length=40,
            description="When the policy text went public: "
            "2024-02-09 or 2024-02-09T10:30+08:00 (no offset: Asia/Shanghai).",
        ),
    ],
) -> dict[str, Any]:
    """When the interpretation is due for a publication at ``published``: the end of the Nth
    working day after the publication day, counting make-up working days (调休)."""
    tz = svc.settings.timezone
    published_at = _instant(request, published, tz)
    calendar = svc.calendar.current()
    due = compute_due(published_at, calendar, days=svc.settings.deadline_days, tz=tz)
    published_on = local_date(published_at, tz)
    years = sorted({published_on.year} | {d.year for d in due.counted_days})
    sources = {str(y): calendar.source(y) for y in years}
    return {
        "published_at": published_at,
        "published_on": published_on,
        "days": due.days,
        "due_at": due.due_at,
        "due_local": due.due_local,
        "due_date": due.due_date,
        "counted_days": list(due.counted_days),
        "provisional": due.provisional,
        "sources": sources,
    }


@router.get("/calendar/{year}", response_model=CalendarYearOut, responses=responses(401, 403, 422, 503))
def show_year(year: Year, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """A year's holidays and make-up working days, and where they came from."""
    schedule = svc.calendar.current().schedule(year)
    return {
        "year": year,
        "loaded": schedule.loaded,
        "official": schedule.official,
        "source": schedule.source,
        "notice": schedule.notice,
        "holidays": [{"date": d, "name": n} for d, n in schedule.holidays.items()],
        "workdays": [{"date": d, "name": n} for d, n in schedule.workdays.items()],
    }


@router.put(
    "/calendar/{year}", response_model=CalendarLoadOut, responses=responses(401, 403, 409, 413, 422, 503)
)
def load_calendar_year(
    request: Request,
    year: Year,
    who: CallerDep,
    svc: ServicesDep,
    file: Annotated[UploadFile, File(description="The year's schedule as TOML (see docs/calendar.md).")],
) -> dict[str, Any]:
    """Load or correct a year's holiday schedule (administrators). Every open deadline is
    recomputed; each one that changes is audited on its document."""
    data = file.file.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise _invalid(request, "file", "file_too_large", {"limit": MAX_FILE})
    name = file.filename if file.filename and _SAFE_NAME.match(file.filename) else f"{year}.toml"

    def check(schedule: YearSchedule) -> None:
        if schedule.year != year:
            raise _invalid(
                request,
                "file",
                "year_mismatch",
                {"file_year": schedule.year, "year": year},
            )
        texts = [schedule.notice or "", *schedule.holidays.values(), *schedule.workdays.values()]
        if any(_NUL.search(t) for t in texts):
            raise _invalid(request, "file", "bad_text")

    return svc.calendar.load(who.login, data, name, check=check).as_dict()
