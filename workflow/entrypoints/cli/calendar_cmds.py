"""``santongbu deadline`` and ``santongbu calendar``: working days, holiday schedules, deadlines."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

from states.deadline import DueDate, compute_due, zone
from states.i18n import _ as N_
from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _
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
Examples (docs/calendar.md shows their output):
  $ santongbu deadline --published 2019-09-27
  $ santongbu deadline --published 2026-12-30T10:00 --json
"""

SHOW_HELP = """Show a year month by month: days off, make-up working days, working days per month, and where the schedule comes from (an administrator's file or a package; official or provisional).

\b
Example (docs/calendar.md shows its output):
  $ santongbu calendar show 2026
"""

LOAD_HELP = """Load or correct a year's holiday schedule from a TOML file (administrators only; format in docs/calendar.md).

The file replaces whatever was known for that year (package data or an earlier load). Every open deadline (published, interpretation not yet posted) is recomputed; each one that changes gets an audit event, and the load itself one on the system chain. A file with any mistake loads nothing.

\b
Example (docs/calendar.md shows its output):
  $ santongbu calendar load 2027.toml --as admin
"""


def _short(source: str) -> str:
    """A file source with its digest cut to 12 hex digits, for text output (JSON keeps it whole)."""
    return re.sub(r"(sha256:[0-9a-f]{12})[0-9a-f]{52}", r"\1…", source)


def _day(d: date) -> str:
    return f"{d.isoformat()} {_weekday(d.weekday())}"


# For people; JSON keeps WEEKDAY's English abbreviations.
WEEKDAY_WORDS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
MONTH_WORDS = (
    N_("Jan"),
    N_("Feb"),
    N_("Mar"),
    N_("Apr"),
    N_("May"),
    N_("Jun"),
    N_("Jul"),
    N_("Aug"),
    N_("Sep"),
    N_("Oct"),
    N_("Nov"),
    N_("Dec"),
)


# The holidays' names as chinesecalendar gives them (a loaded file names them itself) …
HOLIDAY_NAMES = (
    N_("New Year's Day"),
    N_("Spring Festival"),
    N_("Tomb-sweeping Day"),
    N_("Labour Day"),
    N_("Dragon Boat Festival"),
    N_("Mid-autumn Festival"),
    N_("National Day"),
    N_("Anti-Fascist 70th Day"),
    # … and as the holidays package gives them for the years chinesecalendar does not cover.
    N_("Chinese New Year's Eve"),
    N_("Chinese New Year's Eve (observed)"),
    N_("Chinese New Year (Spring Festival)"),
    N_("Chinese New Year (Spring Festival) (observed)"),
    N_("Tomb-Sweeping Day"),
    N_("Tomb-Sweeping Day (observed)"),
    N_("Labor Day"),
    N_("Labor Day (observed)"),
    N_("Dragon Boat Festival (observed)"),
    N_("Mid-Autumn Festival"),
    N_("Mid-Autumn Festival (observed)"),
    N_("Mid-Autumn Festival; National Day"),
    N_("National Day (observed)"),
    N_("New Year's Day (observed)"),
    N_("make-up working day"),
)


def _weekday(index: int) -> str:
    return _(WEEKDAY_WORDS[index])


def _month(number: int) -> str:
    return _(MONTH_WORDS[number - 1])


def _where(found: ReadOnlyCalendar) -> None:
    if found.note:
        common.stderr(_("note: {note}; using the packages' calendars only", note=found.note))


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
        common.fail(_("timezone setting: {exc}", exc=exc))
    n = settings.deadline_days if days is None else days
    if not 1 <= n <= 30:
        common.fail(_("--days: {n} is not between 1 and 30", n=n))
    instant = common.parse_instant(published, tz=tz, what="--published")
    found = existing_calendar(settings)
    _where(found)
    cal = found.calendar
    try:
        result = compute_due(instant, cal, days=n, tz=tz)
    except ValueError as exc:
        common.fail(_("--published: {exc}", exc=exc))
    data = _due_json(instant, result, cal, found, tz)
    if json_:
        common.emit_json(data)
        return
    local = instant.astimezone(zone(tz))
    make_up = _("make-up")
    marks = {d: f" ({make_up})" if d.weekday() >= 5 else "" for d in result.counted_days}
    sep = ";" if ctx.lang == "zh" else "; "
    common.table(
        [],
        [
            [_("published"), f"{local.isoformat(sep=' ')} ({_weekday(local.weekday())})"],
            [
                _("due"),
                f"{result.due_local.isoformat(sep=' ')} ({_weekday(result.due_date.weekday())})",
            ],
            [
                _("counted"),
                _(
                    "{n} working day(s): {days}",
                    n=n,
                    days=", ".join(_day(d) + marks[d] for d in result.counted_days),
                ),
            ],
            [
                _("provisional"),
                _(
                    "YES: no official schedule for {years} yet; the deadline is recomputed when an "
                    "administrator loads it",
                    years=", ".join(y for y, s in data["sources"].items() if not s["official"]),
                )
                if result.provisional
                else _("no"),
            ],
            [
                _("calendar"),
                f"{found.where}: "
                + sep.join(
                    f"{y} {_short(s['source'])} ({_('official') if s['official'] else _('estimate')})"
                    for y, s in data["sources"].items()
                ),
            ],
        ],
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
        common.fail(_("YEAR: {year} is not between 1900 and 2200", year=year))
    found = existing_calendar(common.context().settings)
    _where(found)
    data = _year_json(found.calendar, year, found)
    if json_:
        common.emit_json(data)
        return
    status = _("official") if data["official"] else _("PROVISIONAL (estimate: no official schedule loaded)")
    typer.echo(
        _(
            "{year}  {status}  source: {source}  (working days: {days})",
            year=year,
            status=status,
            source=_short(data["source"]),
            days=data["working_days"],
        )
    )
    if data["notice"]:
        typer.echo(_("      notice: {notice}", notice=data["notice"]))
    rows = []
    for m in data["months"]:
        off = (
            "; ".join(
                (h["start"][5:] if h["start"] == h["end"] else f"{h['start'][5:]}–{h['end'][5:]}")
                + f" {_(h['name'])}"
                for h in m["holidays"]
            )
            or "—"
        )
        make_up = ", ".join(f"{w['date'][5:]} {_weekday(WEEKDAY.index(w['weekday']))}" for w in m["workdays"])
        rows.append([_month(m["month"]), m["working_days"], off, make_up])
    common.table([_("month"), _("working days"), _("days off"), _("make-up working days")], rows)


def _fmt(instant: datetime | None, tz: str) -> str:
    return instant.astimezone(zone(tz)).isoformat(sep=" ") if instant else "—"


def _print_load(result: LoadResult, name: str, tz: str) -> None:
    kind = _("official") if result.official else _("provisional (not official)")
    typer.echo(
        _(
            "loaded {year} from {name}: {kind}, {holidays} days off, {workdays} make-up working day{p5}",
            year=result.year,
            name=name,
            kind=kind,
            holidays=result.holidays,
            workdays=result.workdays,
            p5="" if result.workdays == 1 else "s",
        )
    )
    if result.replaced:
        typer.echo(_("replaced the earlier load: {p0}", p0=_short(result.replaced)))
    typer.echo(
        _(
            "open deadlines: {documents_checked} checked, {p1} moved, {p2} only changed their provisional flag",
            documents_checked=result.documents_checked,
            p1=len(result.moved),
            p2=len(result.changed) - len(result.moved),
        )
    )
    for m in result.changed:
        flag = lambda p: " (provisional)" if p else ""  # noqa: E731
        typer.echo(
            _(
                "  document {document_id}: {p1}{p2} → {p3}{p4}",
                document_id=m.document_id,
                p1=_fmt(m.old_due_at, tz),
                p2=flag(m.old_provisional),
                p3=_fmt(m.new_due_at, tz),
                p4=flag(m.new_provisional),
            )
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
        common.fail(_("give the acting administrator with --as LOGIN"))
    if not file.is_file():
        common.fail(_("{file}: no such file", file=file))
    if file.stat().st_size > MAX_FILE_BYTES:
        common.fail(
            _(
                "{file}: larger than {MAX_FILE_BYTES} bytes; this is not a year's schedule",
                file=file,
                MAX_FILE_BYTES=MAX_FILE_BYTES,
            )
        )
    ctx = common.context()
    try:
        data = file.read_bytes()
    except OSError as exc:
        common.fail(_("{file}: cannot be read ({strerror})", file=file, strerror=common.os_problem(exc)))
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
        common.fail(
            _("no database at {database}: create it with 'santongbu db upgrade'", database=url.database)
        )
    try:
        ready = inspect(ctx.db.engine).has_table("calendar_years")
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        common.fail(_("database not reachable: {first}", first=first))
    if not ready:
        common.fail(_("the database has no calendar tables: run 'santongbu db upgrade'"))


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")
    app.command("deadline", help=DEADLINE_HELP)(common.command(deadline))
