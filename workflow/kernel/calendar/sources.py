"""Year schedules from the two maintained packages, and why each is trusted the way it is.

* ``chinesecalendar`` transcribes every State Council notice, holidays **and** make-up working
  days (调休), for the years it covers (2004–2026 in 1.11.0). Outside them it raises
  ``NotImplementedError``. Its years are official.
* ``holidays`` (country ``CN``) knows the statutory holidays for any year and the make-up days
  only for the years its maintainers transcribed; for a year not announced yet it has the
  holidays and silently no make-up days. Its years are therefore estimates: provisional.

Both have had transcription errors (holidays#3293 missed two 2019 make-up Sundays until 0.92;
chinese-calendar#125: 1.11.0 misses the make-up Saturday 2005-12-31 that the 2006 notice sets).
Errors confirmed against a notice are corrected in :data:`CORRECTIONS`, and the tests check that
the two packages agree on every day of 2004–2026 after them, so an upgrade that brings a new
discrepancy fails loudly instead of moving deadlines silently.

Both are asked per whole year and the answer is cached: the packages never change while the
process runs.
"""

from __future__ import annotations

from datetime import date
from functools import cache, lru_cache
from importlib import metadata

from workflow.kernel.calendar.schedule import YearSchedule

# date → (kind, name): corrections to chinesecalendar, each confirmed against the notice.
CORRECTIONS: dict[date, tuple[str, str]] = {
    # 国办发明电〔2005〕35号 (2006 notice): 元旦 1月1日—3日放假 … 12月31日(星期六)上班。
    date(2005, 12, 31): ("workday", "New Year's Day (make-up working day, 国办发明电〔2005〕35号)"),
}


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:  # pragma: no cover - both are dependencies
        return "?"


@lru_cache(maxsize=1)
def chinesecalendar_years() -> range:
    """The years ``chinesecalendar`` has notices for."""
    from chinese_calendar import constants

    days = constants.holidays.keys()
    return range(min(days).year, max(days).year + 1)


@cache
def chinesecalendar_year(year: int) -> YearSchedule | None:
    """The official schedule of ``year`` from ``chinesecalendar``, or None outside its coverage."""
    if year not in chinesecalendar_years():
        return None
    from chinese_calendar import constants

    days_off = {d: str(n) for d, n in constants.holidays.items() if d.year == year}
    make_up = {d: str(n) for d, n in constants.workdays.items() if d.year == year}
    fixed = sorted(d for d in CORRECTIONS if d.year == year)
    for d in fixed:
        kind, name = CORRECTIONS[d]
        days_off.pop(d, None)
        make_up.pop(d, None)
        (make_up if kind == "workday" else days_off)[d] = name
    note = f" + corrections {', '.join(d.isoformat() for d in fixed)}" if fixed else ""
    return YearSchedule(
        year=year,
        holidays=days_off,
        workdays=make_up,
        official=True,
        source=f"chinesecalendar {_version('chinesecalendar')}{note}",
    )


@cache
def holidays_year(year: int) -> YearSchedule:
    """An estimate of ``year`` from the ``holidays`` package: statutory holidays (and make-up
    days where it has them); never official, because it cannot tell an announced year from
    one it has merely extrapolated."""
    import holidays

    cn = holidays.country_holidays("CN", years=year)
    days_off = {d: str(n) for d, n in cn.items() if d.year == year}
    make_up = {d: "make-up working day" for d in cn.weekend_workdays if d.year == year}
    return YearSchedule(
        year=year,
        holidays=days_off,
        workdays={d: n for d, n in make_up.items() if d not in days_off},
        official=False,
        source=f"holidays {_version('holidays')}",  # "provisional" is official=False, shown in words
    )


def package_year(year: int) -> YearSchedule:
    """The best package answer for ``year``: ``chinesecalendar`` if it covers it, else ``holidays``."""
    return chinesecalendar_year(year) or holidays_year(year)
