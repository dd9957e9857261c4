"""The working-day calendar the deadline rule counts on (implements :class:`states.deadline.WorkingDays`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from states.deadline import count_forward
from workflow.kernel.calendar.schedule import YearSchedule
from workflow.kernel.calendar.sources import package_year


class Calendar:
    """Working days from schedules loaded by administrators, else from the packages.

    Each year is resolved once and expanded into a ``date → worked`` table, so a deadline
    costs a few dictionary look-ups. A ``Calendar`` never changes after it is built: loading a
    year builds a new one.
    """

    def __init__(self, loaded: Iterable[YearSchedule] = ()) -> None:
        self._loaded = {s.year: s for s in loaded}
        self._schedules: dict[int, YearSchedule] = {}
        self._flags: dict[date, bool] = {}
        self._after: dict[tuple[date, int], tuple[date, ...]] = {}

    def schedule(self, year: int) -> YearSchedule:
        """The schedule that decides ``year``: a loaded one wins over the packages."""
        found = self._schedules.get(year)
        if found is None:
            found = self._loaded.get(year) or package_year(year)
            self._schedules[year] = found
            self._flags.update(found.working_flags())
        return found

    def is_working_day(self, d: date) -> bool:
        try:
            return self._flags[d]
        except KeyError:
            self.schedule(d.year)
            return self._flags[d]

    def working_days_after(self, start: date, n: int) -> tuple[date, ...]:
        """The N working days after ``start``, memoised: many documents share a publication day."""
        key = (start, n)
        found = self._after.get(key)
        if found is None:
            found = self._after[key] = count_forward(start, n, self)
        return found

    def is_official(self, year: int) -> bool:
        return self.schedule(year).official

    def source(self, year: int) -> str:
        return self.schedule(year).source

    @property
    def loaded_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._loaded))


_PACKAGES: Calendar | None = None


def package_calendar() -> Calendar:
    """A process-wide calendar from the packages alone (no database): for ``santongbu deadline``."""
    global _PACKAGES
    if _PACKAGES is None:
        _PACKAGES = Calendar()
    return _PACKAGES
