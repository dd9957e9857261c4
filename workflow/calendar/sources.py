"""Year schedules from the two maintained packages, and why each is trusted the way it is.

* ``chinesecalendar`` transcribes every State Council notice, holidays **and** make-up working
  days (调休), for the years it covers (2004–2026 in 1.11.0). Outside them it raises
  ``NotImplementedError``. Its years are official.
* ``holidays`` (country ``CN``) knows the statutory holidays for any year and the make-up days
  only for the years its maintainers transcribed; for a year not announced yet it has the
  holidays and silently no make-up days. Its years are therefore estimates: provisional.

Both are asked per whole year and the answer is cached: the packages never change while the
process runs.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import metadata

from .schedule import YearSchedule


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


@lru_cache(maxsize=None)
def chinesecalendar_year(year: int) -> YearSchedule | None:
    """The official schedule of ``year`` from ``chinesecalendar``, or None outside its coverage."""
    if year not in chinesecalendar_years():
        return None
    from chinese_calendar import constants

    return YearSchedule(
        year=year,
        holidays={d: str(n) for d, n in constants.holidays.items() if d.year == year},
        workdays={d: str(n) for d, n in constants.workdays.items() if d.year == year},
        official=True,
        source=f"chinesecalendar {_version('chinesecalendar')}",
    )


@lru_cache(maxsize=None)
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
        source=f"holidays {_version('holidays')} (statutory rules; provisional)",
    )


def package_year(year: int) -> YearSchedule:
    """The best package answer for ``year``: ``chinesecalendar`` if it covers it, else ``holidays``."""
    return chinesecalendar_year(year) or holidays_year(year)


def is_weekend(d: date) -> bool:
    return d.weekday() >= 5
