"""``santongbu deadline`` and ``santongbu calendar``: working days, holiday schedules, deadlines."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

from states.deadline import DueDate, compute_due, zone
from workflow.entrypoints.cli import common
from workflow.kernel.calendar import Calendar
from workflow.kernel.calendar.readonly import ReadOnlyCalendar, existing_calendar
from workflow.services.calendar_admin import LoadResult

WEEKDAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_FILE_BYTES = 1_000_000

calendar_app = typer.Typer(
    help=(
        "Working-day calendar: the State Council's holidays and make-up working days (调休). "
        "Years come from an administrator's file if loaded, else from the chinesecalendar "
        "package (official notices, 2004–2026), else from the holidays package (statutory "
        "holidays only: deadlines reaching into such a year are provisional)."
    ),
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print one JSON object instead of text.")

# Help texts: one line per paragraph (the help formatter wraps them); \b keeps examples as typed.
DEADLINE_HELP = """Compute the interpretation deadline for a publication date.

Day 1 is the first working day after the day of publication, whatever the time; the deadline is 23:59:59 (Asia/Shanghai) of day N. Make-up working weekends (调休) count. A deadline reaching into a year without an official schedule is marked provisional.

Needs no database: without one the packages' calendars are used; with a set-up database, years loaded by an administrator take precedence. Nothing is created.

\b
Example:
  $ santongbu deadline --published 2019-09-27
  published    2019-09-27 00:00:00+08:00 (Fri)
  due          2019-10-08 23:59:59+08:00 (Tue)   [2019-10-08T15:59:59Z]
  counted      3 working days: 2019-09-29 Sun (make-up), 2019-09-30 Mon, 2019-10-08 Tue
  provisional  no
  calendar     packages: 2019 chinesecalendar 1.11.0 (official)

\b
  $ santongbu deadline --published 2026-12-30T10:00 --json
"""

SHOW_HELP = """Show a year month by month: days off, make-up working days (调休), working days per month, and where the schedule comes from (an administrator's file or a package; official or provisional).

\b
Example:
  $ santongbu calendar show 2026
  2026  official  source: chinesecalendar 1.11.0  (working days: 248)
  Jan  21 working days  off: 01-01–01-03 New Year's Day   make-up: 01-04 Sun
  Feb  16 working days  off: 02-15–02-23 Spring Festival   make-up: 02-14 Sat, 02-28 Sat
  ...
"""

LOAD_HELP = """Load or correct a year's holiday schedule from a TOML file (administrators only; format in docs/calendar.md).

The file replaces whatever was known for that year (package data or an earlier load). Every open deadline (published, interpretation not yet posted) is recomputed; each one that changes gets an audit event, and the load itself one on the system chain. A file with any mistake loads nothing.

\b
Example:
  $ santongbu calendar load 2027.toml --as admin
  loaded 2027 from 2027.toml: official, 30 days off, 6 make-up working days
  open deadlines: 3 checked, 2 moved, 0 only changed their provisional flag
    document 1: OLD DUE (provisional) → NEW DUE
    ...
"""


def _short(source: str) -> str:
    """A file source with its digest cut to 12 hex digits, for text output (JSON keeps it whole)."""
    return re.sub(r"(sha256:[0-9a-f]{12})[0-9a-f]{52}", r"\1…", source)


def _day(d: date) -> str:
    return f"{d.isoformat()} {WEEKDAY[d.weekday()]}"


def _where(found: ReadOnlyCalendar) -> None:
    if found.note:
        common.stderr(f"note: {found.note}; using the packages' calendars only")


def _due_json(
    published: datetime, result: DueDate, cal: Calendar, found: ReadOnlyCalendar, tz: str
) -> dict[str, Any]:
    years = sorted({d.year for d in result.counted_days} | {published.astimezone(zone(tz)).year})
    return {
        "published": published.astimezone(zone(tz)).isoformat(),
        "due": result.due_local.isoformat(),
        "due_date": result.due_date.isoformat(),
        "days": result.days,
        "counted_days": [d.isoformat() for d in result.counted_days],
        "provisional": result.provisional,
        "timezone": tz,
        "calendar": found.where,
        "sources": {str(y): {"source": cal.source(y), "official": cal.is_official(y)} for y in years},
    }


def deadline(
    published: str = typer.Option(
        ...,
        "--published",
        metavar="DATE_OR_DATETIME",
        help="When the policy document was made public: 2024-02-09, 2024-02-09T23:59 (read in "
        "the working zone, Asia/Shanghai by default) or with an offset, 2024-02-09T15:59Z.",
    ),
    days: int | None = typer.Option(
        None,
        "--days",
        metavar="N",
        help="Working days allowed (default: the deadline_days setting, 3).",
    ),
    json_: bool = JSON,
) -> None:
    ctx = common.context()
    settings = ctx.settings
    tz = settings.timezone
    try:
        zone(tz)
    except ValueError as exc:
        common.fail(f"timezone setting: {exc}")
    n = settings.deadline_days if days is None else days
    if not 1 <= n <= 30:
        common.fail(f"--days: {n} is not between 1 and 30")
    instant = common.parse_instant(published, tz=tz, what="--published")
    found = existing_calendar(settings)
    _where(found)
    cal = found.calendar
    try:
        result = compute_due(instant, cal, days=n, tz=tz)
    except ValueError as exc:
        common.fail(f"--published: {exc}")
    data = _due_json(instant, result, cal, found, tz)
    if json_:
        common.emit_json(data)
        return
    local = instant.astimezone(zone(tz))
    marks = {d: " (make-up)" if d.weekday() >= 5 else "" for d in result.counted_days}
    typer.echo(f"published    {local.isoformat(sep=' ')} ({WEEKDAY[local.weekday()]})")
    typer.echo(f"due          {result.due_local.isoformat(sep=' ')} ({WEEKDAY[result.due_date.weekday()]})")
    typer.echo(
        f"counted      {n} working day{'s' if n > 1 else ''}: "
        + ", ".join(_day(d) + marks[d] for d in result.counted_days)
    )
    if result.provisional:
        estimates = [y for y, s in data["sources"].items() if not s["official"]]
        typer.echo(
            f"provisional  YES: no official schedule for {', '.join(estimates)} yet; the deadline "
            "is recomputed when an administrator loads it"
        )
    else:
        typer.echo("provisional  no")
    typer.echo(
        f"calendar     {found.where}: "
        + "; ".join(
            f"{y} {_short(s['source'])} ({'official' if s['official'] else 'estimate'})"
            for y, s in data["sources"].items()
        )
    )


def _year_json(cal: Calendar, year: int, found: ReadOnlyCalendar) -> dict[str, Any]:
    sched = cal.schedule(year)
    months = []
    for m in range(1, 13):
        first = date(year, m, 1)
        days_in = (date(year + (m == 12), m % 12 + 1, 1) - first).days
        working = sum(cal.is_working_day(date(year, m, d)) for d in range(1, days_in + 1))
        months.append(
            {
                "month": m,
                "working_days": working,
                "holidays": [
                    {"start": a.isoformat(), "end": b.isoformat(), "name": n}
                    for a, b, n in sched.periods()
                    if a.month == m or b.month == m
                ],
                "workdays": [
                    {"date": d.isoformat(), "weekday": WEEKDAY[d.weekday()], "name": n}
                    for d, n in sched.workdays.items()
                    if d.month == m
                ],
            }
        )
    return {
        "year": year,
        "official": sched.official,
        "provisional": not sched.official,
        "source": sched.source,
        "notice": sched.notice,
        "loaded": sched.loaded,
        "calendar": found.where,
        "working_days": sum(m["working_days"] for m in months),
        "months": months,
    }


@calendar_app.command("show", help=SHOW_HELP)
@common.command
def show(
    year: int = typer.Argument(..., help="The year, e.g. 2026."),
    json_: bool = JSON,
) -> None:
    if not 1900 <= year <= 2200:
        common.fail(f"YEAR: {year} is not between 1900 and 2200")
    found = existing_calendar(common.context().settings)
    _where(found)
    data = _year_json(found.calendar, year, found)
    if json_:
        common.emit_json(data)
        return
    status = "official" if data["official"] else "PROVISIONAL (estimate: no official schedule loaded)"
    typer.echo(f"{year}  {status}  source: {_short(data['source'])}  (working days: {data['working_days']})")
    if data["notice"]:
        typer.echo(f"      notice: {data['notice']}")
    for m in data["months"]:
        off = (
            "; ".join(
                (h["start"][5:] if h["start"] == h["end"] else f"{h['start'][5:]}–{h['end'][5:]}")
                + f" {h['name']}"
                for h in m["holidays"]
            )
            or "—"
        )
        make_up = ", ".join(f"{w['date'][5:]} {w['weekday']}" for w in m["workdays"])
        line = f"{MONTH[m['month'] - 1]}  {m['working_days']:2d} working days  off: {off}"
        typer.echo(line + (f"   make-up: {make_up}" if make_up else ""))


def _fmt(instant: datetime | None, tz: str) -> str:
    return instant.astimezone(zone(tz)).isoformat(sep=" ") if instant else "—"


def _print_load(result: LoadResult, name: str, tz: str) -> None:
    kind = "official" if result.official else "provisional (not official)"
    typer.echo(
        f"loaded {result.year} from {name}: {kind}, {result.holidays} days off, "
        f"{result.workdays} make-up working day{'' if result.workdays == 1 else 's'}"
    )
    if result.replaced:
        typer.echo(f"replaced the earlier load: {_short(result.replaced)}")
    typer.echo(
        f"open deadlines: {result.documents_checked} checked, {len(result.moved)} moved, "
        f"{len(result.changed) - len(result.moved)} only changed their provisional flag"
    )
    for m in result.changed:
        flag = lambda p: " (provisional)" if p else ""  # noqa: E731
        typer.echo(
            f"  document {m.document_id}: {_fmt(m.old_due_at, tz)}{flag(m.old_provisional)}"
            f" → {_fmt(m.new_due_at, tz)}{flag(m.new_provisional)}"
        )


@calendar_app.command("load", help=LOAD_HELP)
@common.command
def load(
    file: Path = typer.Argument(..., help="The year's schedule, a TOML file (format: docs/calendar.md)."),
    as_: str | None = typer.Option(
        None,
        "--as",
        envvar="SANTONGBU_USER",
        metavar="LOGIN",
        help="The acting administrator's login.",
    ),
    json_: bool = JSON,
) -> None:
    if not as_:
        common.fail("give the acting administrator with --as LOGIN")
    if not file.is_file():
        common.fail(f"{file}: no such file")
    if file.stat().st_size > MAX_FILE_BYTES:
        common.fail(f"{file}: larger than {MAX_FILE_BYTES} bytes; this is not a year's schedule")
    ctx = common.context()
    try:
        data = file.read_bytes()
    except OSError as exc:
        common.fail(f"{file}: cannot be read ({exc.strerror})")
    _require_database(ctx)
    result = ctx.services.calendar.load(as_, data, file.name)
    if json_:
        common.emit_json({**result.as_dict(), "file": str(file)})
    else:
        _print_load(result, file.name, ctx.settings.timezone)


def _require_database(ctx: common.AppContext) -> None:
    """Fail in one line if there is no set-up database, rather than creating an empty one."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from workflow.kernel.db import normalise_url

    url = make_url(normalise_url(ctx.settings.database_url))
    on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if on_disk and not Path(str(url.database)).is_file():
        common.fail(f"no database at {url.database}: create it with 'santongbu db upgrade'")
    try:
        ready = inspect(ctx.db.engine).has_table("calendar_years")
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        common.fail(f"database not reachable: {first}")
    if not ready:
        common.fail("the database has no calendar tables: run 'santongbu db upgrade'")


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")
    app.command("deadline", help=DEADLINE_HELP)(common.command(deadline))
