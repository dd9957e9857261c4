"""A calendar for read-only questions asked before any set-up (``santongbu deadline``, ``calendar show``).

Never creates a database: a SQLite file that does not exist, or a database without the
calendar tables, means "packages only". A PostgreSQL server that cannot be reached is said in
a note and the packages are used, so the question still gets its answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from workflow.kernel.calendar.calendar import Calendar, package_calendar
from workflow.kernel.calendar.store import loaded_schedules
from workflow.kernel.db import Database, normalise_url
from workflow.kernel.settings import Settings


@dataclass(frozen=True)
class ReadOnlyCalendar:
    calendar: Calendar
    where: str
    """``database`` or ``packages``."""
    note: str | None = None
    """Why the database was not used, when one was configured."""


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    return None if name in ("", ":memory:") else Path(name)


def existing_calendar(settings: Settings) -> ReadOnlyCalendar:
    """The database's calendar if a set-up database exists, else the packages' alone."""
    url = normalise_url(settings.database_url)
    if make_url(url).get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is None or not path.is_file():
            return ReadOnlyCalendar(package_calendar(), "packages")
    try:
        db = Database(url)
    except Exception as exc:
        return ReadOnlyCalendar(package_calendar(), "packages", f"database not usable: {exc}")
    try:
        if not inspect(db.engine).has_table("calendar_years"):
            return ReadOnlyCalendar(
                package_calendar(),
                "packages",
                "the database has no calendar tables yet (run: santongbu db upgrade)",
            )
        with db.transaction() as session:
            return ReadOnlyCalendar(Calendar(loaded_schedules(session)), "database")
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        return ReadOnlyCalendar(package_calendar(), "packages", f"database not reachable ({first})")
    finally:
        db.dispose()
