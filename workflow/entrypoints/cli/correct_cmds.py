"""``santongbu doc confirm`` and ``santongbu doc correct``: the published record, vouched for
and corrected, each with a reason that stays in the audit trail (docs/design.md §7)."""
from __future__ import annotations

from typing import Optional

import typer

from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.doc_cmds import AS, IF_VERSION, JSON, _done, _workflow, doc_app

WHAT = typer.Option(..., "--what", help="publication, portal or news_media.")
REASON = typer.Option(..., "--reason", help="Why (kept in the audit trail).")


@doc_app.command("confirm")
@common.command
def confirm(doc_id: int = typer.Argument(...), what: str = WHAT, reason: str = REASON,
            if_version: Optional[int] = IF_VERSION, as_: str = AS, json_: bool = JSON) -> None:
    """As a supervisor, confirm a claimed time older than the grace window (a backdated
    publication, or a channel's postings); the result is recomputed on it."""
    outcome = _workflow().confirm(as_, doc_id, what=what, reason=reason, expected_version=if_version)
    after = outcome.details.get("result_after")
    extra = ""
    if after is not None:
        extra = "; now on time" if after["on_time"] else f"; still late by {after['working_days_late']} working day(s)"
    _done(outcome, json_, f"{what} claim confirmed{extra}")


def register(app: typer.Typer) -> None:
    """The commands join ``santongbu doc`` (registered by doc_cmds)."""
