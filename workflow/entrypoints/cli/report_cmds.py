"""``santongbu report``: overdue, late, on-time, ledger (台账) and year-end, as a table, JSON or CSV.

Shared by ``santongbu audit events|timeline`` (:mod:`workflow.entrypoints.cli.audit_query_cmds`): the
output options and :func:`emit_table`.

CSV is written UTF-8 with a byte-order mark so Excel opens Chinese intact. Typer offers no
option with an optional value, so ``--csv [FILE]`` is spelt ``--csv`` (to stdout) plus
``--output FILE`` (to a file).
"""

from __future__ import annotations

from pathlib import Path

import typer

from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _
from workflow.kernel import export
from workflow.services.reports import Reports

report_app = typer.Typer(
    help=(
        "Reports for supervisors and auditors: what is overdue now, which interpretations were "
        "posted late, each unit's on-time rate, the ledger (台账) and the year-end report. "
        "Working days are counted on the calendar as loaded now. Every report is computed "
        "as of --now (default: the current time). Output: a table, --json, or --csv "
        "(UTF-8 with BOM), to stdout or --output FILE; or an Excel workbook with --xlsx FILE."
    ),
    no_args_is_help=True,
)

AS = typer.Option(
    ...,
    "--as",
    envvar="SANTONGBU_USER",
    help="Your login; supervisors, auditors, leaders and administrators may run reports.",
)
PERIOD = typer.Option(
    None,
    "--period",
    help="2024, 2024-Q1, 2024-H1, 2024-03, 2024-03-08 or 2024-02-01..2024-03-15 "
    "(local dates, Asia/Shanghai). Default: the current year.",
)
UNIT = typer.Option(None, "--unit", help="Only this unit (its code, e.g. spc).")
NOW = typer.Option(None, "--now", help="Compute as of this instant (ISO 8601, e.g. 2024-05-07T10:00+08:00).")
JSON = typer.Option(False, "--json", help="Print JSON (codes, ISO instants, rates as fractions).")
CSV = typer.Option(False, "--csv", help="Print CSV (UTF-8 with BOM; headers in the --lang language).")
OUTPUT = typer.Option(None, "--output", "-o", help="Write the output (table, JSON or CSV) to this file.")
XLSX = typer.Option(
    None,
    "--xlsx",
    help="Write an Excel workbook to this file: the CSV's columns, typed cells "
    "(dates as dates, rates as percentages), frozen header.",
)


def _reports() -> Reports:
    return common.context().services.reports


def _now(value: str | None):
    return common.parse_instant(value, what="--now") if value else None


def emit_table(
    table: export.Table, json_: bool, csv_: bool, output: Path | None, xlsx: Path | None = None
) -> None:
    """Render ``table`` the way the user asked; one clean line if asked for two formats."""
    if json_ + csv_ + (xlsx is not None) > 1:
        common.fail(_("choose one of --json, --csv and --xlsx"))
    lang = common.context().lang
    if xlsx is not None:
        from workflow.kernel.export_xlsx import write_xlsx

        try:
            write_xlsx(table, xlsx, lang)
        except OSError as exc:
            common.fail(_("--xlsx: cannot write {xlsx}: {p1}", xlsx=xlsx, p1=common.os_problem(exc)))
        typer.echo(_("{p0} row(s) written to {xlsx}", p0=len(table.rows), xlsx=xlsx))
        return
    if csv_:
        if output is not None:
            try:
                export.save_csv(table, output, lang)
            except OSError as exc:
                common.fail(
                    _("--output: cannot write {output}: {p1}", output=output, p1=common.os_problem(exc))
                )
            typer.echo(_("{p0} row(s) written to {output}", p0=len(table.rows), output=output))
        else:
            typer.echo(export.to_csv(table, lang), nl=False)
        return
    if json_:
        import json

        text = json.dumps(table.as_dict(), ensure_ascii=False, indent=2, default=str)
    else:
        text = export.to_text(table, lang)
    if output is not None:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            common.fail(_("--output: cannot write {output}: {p1}", output=output, p1=common.os_problem(exc)))
        typer.echo(_("{p0} row(s) written to {output}", p0=len(table.rows), output=output))
    else:
        typer.echo(text)


@report_app.command("overdue")
@common.command
def overdue(
    as_: str = AS,
    unit: str | None = UNIT,
    period: str | None = typer.Option(
        None, "--period", help="Only documents published in this period (default: all)."
    ),
    now: str | None = NOW,
    json_: bool = JSON,
    csv_: bool = CSV,
    output: Path | None = OUTPUT,
    xlsx: Path | None = XLSX,
) -> None:
    """Documents whose interpretation is past its deadline and not posted yet.

    Most overdue first: working days overdue (0 = late, but no working day has begun since
    the due day), the escalation level reached, and which channel is still missing.
    """
    table = _reports().overdue(as_, unit=unit, period=period, now=_now(now))
    emit_table(table, json_, csv_, output, xlsx)


@report_app.command("late")
@common.command
def late(
    as_: str = AS,
    period: str | None = PERIOD,
    unit: str | None = UNIT,
    now: str | None = NOW,
    json_: bool = JSON,
    csv_: bool = CSV,
    output: Path | None = OUTPUT,
    xlsx: Path | None = XLSX,
) -> None:
    """Interpretations posted late in the period.

    Goes by the day the interpretation was posted; shows working days late and taken,
    counted on today's calendar.
    """
    table = _reports().late(as_, period=period, unit=unit, now=_now(now))
    emit_table(table, json_, csv_, output, xlsx)


@report_app.command("on-time")
@common.command
def on_time(
    as_: str = AS,
    period: str | None = PERIOD,
    unit: str | None = UNIT,
    by: str | None = typer.Option(None, "--by", help="Split the period by month or quarter."),
    now: str | None = NOW,
    json_: bool = JSON,
    csv_: bool = CSV,
    output: Path | None = OUTPUT,
    xlsx: Path | None = XLSX,
) -> None:
    """On-time rate per unit (and month or quarter).

    Documents published in the period: interpretation posted on time, late, overdue, not
    yet due; rate = on time / (on time + late + overdue). A total row comes last.
    """
    if by is not None and by not in ("month", "quarter"):
        common.fail(_("--by: must be month or quarter"))
    table = _reports().on_time(as_, period=period, unit=unit, by=by, now=_now(now))  # type: ignore[arg-type]
    emit_table(table, json_, csv_, output, xlsx)


@report_app.command("ledger")
@common.command
def ledger(
    as_: str = AS,
    period: str | None = PERIOD,
    unit: str | None = UNIT,
    now: str | None = NOW,
    json_: bool = JSON,
    csv_: bool = CSV,
    output: Path | None = OUTPUT,
    xlsx: Path | None = XLSX,
) -> None:
    """The ledger (台账) of documents published in the period.

    Number, unit, publication date and URL, deadline, interpreter, forms of interpretation,
    where and when it was posted (portal, news media, new media), on time or late.
    """
    table = _reports().ledger(as_, period=period, unit=unit, now=_now(now))
    emit_table(table, json_, csv_, output, xlsx)


@report_app.command("year-end")
@common.command
def year_end(
    as_: str = AS,
    period: str | None = PERIOD,
    unit: str | None = UNIT,
    now: str | None = NOW,
    json_: bool = JSON,
    csv_: bool = CSV,
    output: Path | None = OUTPUT,
    xlsx: Path | None = XLSX,
) -> None:
    """Year-end report: how each unit carried out the three synchronisations (三同步).

    Drafted, organised with plan and materials, signed as a package, published,
    interpretation on time / late / overdue, average working days taken, forms and channels
    used, signers' rejections, signatures voided and refused actions.
    """
    table = _reports().year_end(as_, period=period, unit=unit, now=_now(now))
    emit_table(table, json_, csv_, output, xlsx)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
