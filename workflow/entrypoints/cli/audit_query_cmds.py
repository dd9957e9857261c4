"""``santongbu audit events`` and ``santongbu audit timeline``: questions asked of the trail.

Added to the ``audit`` group by :func:`workflow.entrypoints.cli.audit_cmds.register`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _
from workflow.entrypoints.cli.report_cmds import CSV, JSON, OUTPUT, emit_table
from workflow.services.audit_admin import AuditAdmin
from workflow.services.audit_queries import DEFAULT_LIMIT, MAX_LIMIT, EventFilter, flat_rows


def _queries() -> AuditAdmin:
    return common.context().services.audit


def events(
    document: int | None = typer.Option(None, "--document", help="Events of this document id."),
    unit: str | None = typer.Option(None, "--unit", help="Events by people of this unit (code)."),
    document_unit: str | None = typer.Option(
        None, "--document-unit", help="Events on documents drafted by this unit (code)."
    ),
    actor: str | None = typer.Option(None, "--actor", help="Events by this login."),
    action: str | None = typer.Option(
        None, "--action", help="e.g. publish, sign, record_posting, edit, calendar_loaded."
    ),
    outcome: str | None = typer.Option(None, "--outcome", help="allowed or refused."),
    channel: str | None = typer.Option(
        None, "--channel", help="cli, api, web, worker or system: how the action came in."
    ),
    since: str | None = typer.Option(
        None, "--since", help="From this instant or date, inclusive (ISO 8601; local zone if none given)."
    ),
    until: str | None = typer.Option(None, "--until", help="Up to this instant or date, exclusive."),
    limit: int = typer.Option(DEFAULT_LIMIT, "--limit", help=f"Events per page (1–{MAX_LIMIT})."),
    after_id: int | None = typer.Option(
        None, "--after-id", help="Next page: the last id of the previous page."
    ),
    as_: str = typer.Option(
        ...,
        "--as",
        envvar="SANTONGBU_USER",
        help="Your login (supervisor, auditor, leader or administrator).",
    ),
    json_: bool = JSON,
    csv_: bool = CSV,
    output: Path | None = OUTPUT,
) -> None:
    """Audit events in time order, filtered; one page at a time (see --after-id)."""
    if outcome is not None and outcome not in ("allowed", "refused"):
        common.fail(_("--outcome: must be allowed or refused"))
    flt = EventFilter(
        document_id=document,
        unit=unit,
        document_unit=document_unit,
        actor=actor,
        action=action,
        outcome=outcome,
        channel=channel,
        since=common.parse_instant(since, what="--since") if since else None,
        until=common.parse_instant(until, what="--until") if until else None,
    )
    page = _queries().events(as_, flt, limit=limit, after_id=after_id)
    emit_table(page.table if json_ else flat_rows(page.table), json_, csv_, output)
    if page.next_after_id is not None and not (json_ or csv_):
        common.stderr(_("more events: add --after-id {next_after_id}", next_after_id=page.next_after_id))


def timeline(
    doc_id: int = typer.Argument(..., help="Document id."),
    as_: str = typer.Option(
        ..., "--as", envvar="SANTONGBU_USER", help="Your login (anyone who may read the document)."
    ),
    json_: bool = JSON,
    csv_: bool = CSV,
    output: Path | None = OUTPUT,
) -> None:
    """What happened to one document and who did it, oldest first (refusals included)."""
    table = _queries().timeline(as_, doc_id)
    emit_table(table if json_ else flat_rows(table), json_, csv_, output)


def extend(audit_app: typer.Typer) -> None:
    """Add the query commands to the ``audit`` group."""
    audit_app.command("events")(common.command(events))
    audit_app.command("timeline")(common.command(timeline))
