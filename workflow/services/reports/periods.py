"""Report periods: a year, a quarter, a half, a month, a day or a span of days, in local days
of the working zone (docs/design.md §6)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from states.deadline import zone
from states.i18n import _
from workflow.services.audit_queries import invalid

Grain = Literal["month", "quarter"]


@dataclass(frozen=True)
class Period:
    """Whole local days ``first`` … ``last`` (inclusive), e.g. a year, a quarter, a month."""

    label: str
    first: date
    last: date
    tz: str = "Asia/Shanghai"

    @property
    def start_at(self) -> datetime:
        """The first instant of the period (UTC)."""
        return datetime.combine(self.first, time(0), tzinfo=zone(self.tz)).astimezone(UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (UTC; exclusive bound)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=zone(self.tz)).astimezone(UTC)

    def split(self, grain: Grain | None) -> list[Period]:
        """The months or quarters the period spans, each clipped to the period."""
        if grain is None:
            return [self]
        step = 1 if grain == "month" else 3
        parts: list[Period] = []
        year, month = self.first.year, ((self.first.month - 1) // step) * step + 1
        while date(year, month, 1) <= self.last:
            nyear, nmonth = (year, month + step) if month + step <= 12 else (year + 1, month + step - 12)
            first = max(self.first, date(year, month, 1))
            last = min(self.last, date(nyear, nmonth, 1) - timedelta(days=1))
            label = f"{year}-{month:02d}" if grain == "month" else f"{year}-Q{(month - 1) // 3 + 1}"
            parts.append(Period(label, first, last, self.tz))
            year, month = nyear, nmonth
        return parts

    def as_dict(self) -> dict[str, str]:
        return {"label": self.label, "first": self.first.isoformat(), "last": self.last.isoformat()}


_YEAR_RANGE = (1990, 2200)


def _year(text: str) -> int:
    year = int(text)
    if not _YEAR_RANGE[0] <= year <= _YEAR_RANGE[1]:
        raise invalid("period", _("year {year} is out of range", year=year))
    return year


def parse_period(text: str, tz: str = "Asia/Shanghai") -> Period:
    """``2024``, ``2024-Q1``, ``2024-H2``, ``2024-03``, ``2024-03-08`` or ``2024-02-01..2024-03-15``."""
    value = text.strip()
    try:
        if m := re.fullmatch(r"(\d{4})", value):
            y = _year(m[1])
            return Period(value, date(y, 1, 1), date(y, 12, 31), tz)
        if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", value):
            y, q = _year(m[1]), int(m[2])
            first = date(y, 3 * q - 2, 1)
            last = (date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)) - timedelta(days=1)
            return Period(f"{y}-Q{q}", first, last, tz)
        if m := re.fullmatch(r"(\d{4})-[Hh]([12])", value):
            y, h = _year(m[1]), int(m[2])
            return Period(
                f"{y}-H{h}",
                date(y, 1, 1) if h == 1 else date(y, 7, 1),
                date(y, 6, 30) if h == 1 else date(y, 12, 31),
                tz,
            )
        if m := re.fullmatch(r"(\d{4})-(\d{2})", value):
            y, mo = _year(m[1]), int(m[2])
            first = date(y, mo, 1)
            last = (date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)) - timedelta(days=1)
            return Period(value, first, last, tz)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            _year(str(day.year))
            return Period(value, day, day, tz)
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", value):
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            _year(str(first.year)), _year(str(last.year))
            if last < first:
                raise invalid("period", _("{p0} is before {p1}", p0=m[2], p1=m[1]))
            return Period(value, first, last, tz)
    except ValueError:
        raise invalid("period", _("'{text}' is not a valid date", text=text)) from None
    raise invalid(
        "period",
        _(
            "'{text}' is not a period: write 2024, 2024-Q1, 2024-H1, 2024-03, 2024-03-08 or 2024-02-01..2024-03-15",
            text=text,
        ),
    )
