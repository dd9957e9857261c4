"""``santongbu doc search TEXT``: documents by title, 文号, body and plan text, within what you may
read, with unit, state and period filters (a command of the ``doc`` group, kept in its own
module)."""

from __future__ import annotations

import typer

from states.catalogue import label
from workflow.entrypoints.cli import common, doc_cmds
from workflow.entrypoints.cli.common import _


def search(
    text: str = typer.Argument(..., help="Words to find (Chinese substrings too); every word must match."),
    state: str | None = typer.Option(None, "--state", help="Only documents in this state."),
    unit: str | None = typer.Option(None, "--unit", help="Only this drafting unit's documents."),
    period: str | None = typer.Option(
        None,
        "--period",
        help="Published (or, if not yet, created) in this "
        "period: 2024, 2024-Q1, 2024-03, 2024-02-01..2024-03-15.",
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=200),
    before_id: int | None = typer.Option(
        None, "--before-id", min=1, help="The next page: hits older than this id."
    ),
    as_: str = doc_cmds.AS,
    json_: bool = doc_cmds.JSON,
) -> None:
    """Search documents by title, document number (文号), body and plan text, newest first.

    Words of three characters or more are found anywhere in the text; shorter words narrow
    them, or on their own are looked for in titles and document numbers (文号) only.
    """
    found = common.context().services.workflow.search_documents(
        as_, text, state=state, unit_code=unit, period=period, limit=limit, before_id=before_id
    )
    if json_:
        return common.emit_json(found.as_dict())
    lang = common.context().lang
    if found.titles_only:
        typer.echo(_("(short words: titles and 文号 only)"), err=True)
    rows: list[list[object]] = []
    for h in found.hits:
        rows.append([h.id, h.unit, label("state", h.state, lang), h.title, h.doc_number or ""])
        if h.excerpt and h.matched != ("title",):
            rows.append(["", "", "", f"{','.join(h.matched)}: {h.excerpt}", ""])
    if rows:
        common.table([_("id"), _("unit"), _("state"), _("title"), _("number")], rows)
    else:
        typer.echo(_("no documents"))
    if found.next_before_id is not None:
        typer.echo(_("more: add --before-id {next_before_id}", next_before_id=found.next_before_id), err=True)


def register(app: typer.Typer) -> None:
    doc_cmds.doc_app.command("search")(common.command(search))
