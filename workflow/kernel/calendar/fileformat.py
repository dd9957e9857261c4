"""The file an administrator writes to load or correct a year (TOML; see ``docs/calendar.md``).

Example::

    year = 2027
    source = "国务院办公厅关于2027年部分节假日安排的通知 (国办发明电〔2026〕N号)"
    official = true

    [[holidays]]
    name = "春节"
    start = 2027-02-05
    end = 2027-02-11

    [[workdays]]
    date = 2027-02-07
    name = "春节调休上班"

Every mistake is reported as one line naming the file and the field (``holidays[2].end``) or,
for TOML syntax, the line and column; nothing is loaded from a file with a mistake.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from states.i18n import _
from states.reasons import Reason
from workflow.kernel.calendar.schedule import YearSchedule
from workflow.kernel.errors import InvalidInput

TOP_KEYS = ("year", "source", "official", "holidays", "workdays")
HOLIDAY_KEYS = ("name", "start", "end")
WORKDAY_KEYS = ("date", "name")
MAX_PERIOD_DAYS = 31
MIN_YEAR, MAX_YEAR = 1990, 2200
DEFAULT_WORKDAY_NAME = "调休上班"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ScheduleError(InvalidInput):
    """A mistake in a schedule file: names the file and the field."""

    def __init__(self, name: str, where: str, problem: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(
            Reason("invalid", {"field": f"{name}: {where}" if where else name, "problem": problem})
        )


def _date(value: Any, name: str, where: str) -> date:
    if isinstance(value, datetime):
        raise ScheduleError(
            name, where, _("{p0} has a time; write a plain date like 2027-02-05", p0=value.isoformat())
        )
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ScheduleError(
        name, where, _("{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2027-02-05", value=value)
    )


def _text(value: Any, name: str, where: str, *, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScheduleError(name, where, _("must be a non-empty text in quotes"))
    if len(value) > limit:
        raise ScheduleError(name, where, _("longer than {limit} characters", limit=limit))
    return value.strip()


def _unknown(table: Mapping[str, Any], allowed: tuple[str, ...], name: str, where: str) -> None:
    for key in table:
        if key not in allowed:
            hint = ""
            if key in TOP_KEYS:
                hint = (
                    f" ('{key}' is a top-level key: put it above the first [[holidays]] or"
                    " [[workdays]] table, or TOML reads it as part of that table)"
                )
            raise ScheduleError(
                name,
                f"{where}.{key}" if where else key,
                _("unknown key; expected one of {p0}{hint}", p0=", ".join(allowed), hint=hint),
            )


def _in_year(d: date, year: int, name: str, where: str) -> None:
    if d.year != year:
        raise ScheduleError(
            name,
            where,
            _(
                "{p0} is not in {year}; every date must lie in the file's year (a day of another year goes into that year's file)",
                p0=d.isoformat(),
                year=year,
            ),
        )


def _table_list(value: Any, name: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ScheduleError(name, where, "must be a list (write [[" + where + "]] tables)")
    return value


def parse_schedule(data: bytes | str, *, name: str) -> YearSchedule:
    """Read and validate a schedule file's content; ``name`` is used in messages and the source."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScheduleError(name, "", _("not UTF-8 text (byte {start})", start=exc.start)) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(name, "", _("TOML syntax error: {exc}", exc=exc)) from None
    _unknown(doc, TOP_KEYS, name, "")

    if "year" not in doc:
        raise ScheduleError(name, "year", _("missing (e.g. year = 2027)"))
    year = doc["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ScheduleError(
            name,
            "year",
            _(
                "{year!r} is not a year between {MIN_YEAR} and {MAX_YEAR}",
                year=year,
                MIN_YEAR=MIN_YEAR,
                MAX_YEAR=MAX_YEAR,
            ),
        )
    notice = _text(doc["source"], name, "source", limit=500) if "source" in doc else None
    official = doc.get("official", True)
    if not isinstance(official, bool):
        raise ScheduleError(name, "official", _("{official!r} is neither true nor false", official=official))

    holidays: dict[date, str] = {}
    owner: dict[date, int] = {}
    periods = _table_list(doc.get("holidays", []), name, "holidays")
    if not periods:
        raise ScheduleError(
            name,
            "holidays",
            _("no holiday period; a year's schedule lists all of them (the file replaces the whole year)"),
        )
    for i, period in enumerate(periods, start=1):
        where = f"holidays[{i}]"
        if not isinstance(period, dict):
            raise ScheduleError(name, where, _("must be a table with name, start and end"))
        _unknown(period, HOLIDAY_KEYS, name, where)
        for key in ("name", "start"):
            if key not in period:
                raise ScheduleError(name, f"{where}.{key}", _("missing"))
        label = _text(period["name"], name, f"{where}.name")
        start = _date(period["start"], name, f"{where}.start")
        end = _date(period.get("end", start), name, f"{where}.end")
        _in_year(start, year, name, f"{where}.start")
        _in_year(end, year, name, f"{where}.end")
        if end < start:
            raise ScheduleError(
                name, f"{where}.end", _("{p0} is before start {p1}", p0=end.isoformat(), p1=start.isoformat())
            )
        if (end - start).days + 1 > MAX_PERIOD_DAYS:
            raise ScheduleError(
                name,
                f"{where}.end",
                _(
                    "the period {p0}–{p1} is longer than {MAX_PERIOD_DAYS} days; is a date mistyped?",
                    p0=start.isoformat(),
                    p1=end.isoformat(),
                    MAX_PERIOD_DAYS=MAX_PERIOD_DAYS,
                ),
            )
        day = start
        while day <= end:
            if day in owner:
                raise ScheduleError(
                    name, where, _("{p0} is already in holidays[{p1}]", p0=day.isoformat(), p1=owner[day])
                )
            holidays[day], owner[day] = label, i
            day += timedelta(days=1)

    workdays: dict[date, str] = {}
    for i, entry in enumerate(_table_list(doc.get("workdays", []), name, "workdays"), start=1):
        where = f"workdays[{i}]"
        if isinstance(entry, dict):
            _unknown(entry, WORKDAY_KEYS, name, where)
            if "date" not in entry:
                raise ScheduleError(name, f"{where}.date", _("missing"))
            day = _date(entry["date"], name, f"{where}.date")
            label = _text(entry["name"], name, f"{where}.name") if "name" in entry else DEFAULT_WORKDAY_NAME
        else:
            day, label = _date(entry, name, where), DEFAULT_WORKDAY_NAME
        _in_year(day, year, name, where)
        if day.weekday() < 5:
            raise ScheduleError(
                name,
                where,
                _(
                    "{p0} is a {p1}; a make-up working day (调休) is a Saturday or Sunday",
                    p0=day.isoformat(),
                    p1=WEEKDAYS[day.weekday()],
                ),
            )
        if day in holidays:
            raise ScheduleError(
                name, where, _("{p0} is also a holiday (holidays[{p1}])", p0=day.isoformat(), p1=owner[day])
            )
        if day in workdays:
            raise ScheduleError(name, where, _("{p0} is listed twice", p0=day.isoformat()))
        workdays[day] = label

    digest = hashlib.sha256(raw).hexdigest()
    return YearSchedule(
        year=year,
        holidays=holidays,
        workdays=workdays,
        official=official,
        source=f"file:{name} sha256:{digest}",
        notice=notice,
        sha256=digest,
    )
