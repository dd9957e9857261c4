"""One year's holiday schedule: the exceptions to the Monday–Friday rule, and where they came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType


@dataclass(frozen=True)
class YearSchedule:
    """What decides the working days of one year.

    ``holidays`` are days off (a holiday period may include its weekend days); ``workdays``
    are make-up working days (调休) on Saturdays or Sundays. Every other day follows the
    Monday–Friday rule. ``official`` says whether the schedule is the State Council's notice
    (True) or an estimate from statutory rules (False: deadlines reaching into it are
    provisional).
    """

    year: int
    holidays: Mapping[date, str]
    workdays: Mapping[date, str]
    official: bool
    source: str
    notice: str | None = None
    sha256: str | None = None
    loaded: bool = field(default=False, compare=False)
    """True if it came from the database (an administrator's file), not from a package."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", MappingProxyType(dict(sorted(self.holidays.items()))))
        object.__setattr__(self, "workdays", MappingProxyType(dict(sorted(self.workdays.items()))))

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5

    def working_flags(self) -> dict[date, bool]:
        """Every day of the year and whether it is worked: the precomputed form the calendar uses."""
        day, end = date(self.year, 1, 1), date(self.year, 12, 31)
        flags: dict[date, bool] = {}
        while day <= end:
            flags[day] = self.is_working_day(day)
            day += timedelta(days=1)
        return flags

    def periods(self) -> list[tuple[date, date, str]]:
        """Holidays folded into consecutive runs of the same name: (first day, last day, name)."""
        runs: list[tuple[date, date, str]] = []
        for d, name in self.holidays.items():
            if runs and runs[-1][2] == name and runs[-1][1] + timedelta(days=1) == d:
                runs[-1] = (runs[-1][0], d, name)
            else:
                runs.append((d, d, name))
        return runs
