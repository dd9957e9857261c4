"""``santongbu doc confirm`` and ``santongbu doc correct``: the published record, vouched for
and corrected, each with a reason that stays in the audit trail (docs/design.md §7)."""

from __future__ import annotations

import typer

from states.deadline import overdue_words
from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _
from workflow.entrypoints.cli.doc_cmds import (
    AS,
    IF_VERSION,
    JSON,
    _done,
    _workflow,
    doc_app,
)

WHAT = typer.Option(..., "--what", help="publication, portal or news_media.")
REASON = typer.Option(..., "--reason", help="Why (kept in the audit trail).")


@doc_app.command("confirm")
@common.command
def confirm(
    doc_id: int = typer.Argument(...),
    what: str = WHAT,
    reason: str = REASON,
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """As a supervisor, confirm a claimed time older than the grace window (a backdated
    publication, or a channel's postings); the result is recomputed on it."""
    outcome = _workflow().confirm(as_, doc_id, what=what, reason=reason, expected_version=if_version)
    after = outcome.details.get("result_after")
    extra = ""
    if after is not None:
        extra = (
            _("; now on time")
            if after["on_time"]
            else _(
                "; still {words}", words=overdue_words(after["working_days_late"] or 0, common.context().lang)
            )
        )
    _done(outcome, json_, _("{what} claim confirmed{extra}", what=what, extra=extra))


@doc_app.command("correct")
@common.command
def correct(
    doc_id: int = typer.Argument(...),
    what: str = WHAT,
    reason: str = REASON,
    url: str | None = typer.Option(None, "--url", help="The right URL."),
    at: str | None = typer.Option(None, "--at", help="The right instant (ISO 8601)."),
    outlet: str | None = typer.Option(None, "--outlet", help="A posting's right outlet."),
    evidence: str | None = typer.Option(None, "--evidence", help="A posting's right evidence."),
    posting: int | None = typer.Option(None, "--posting", help="Which posting, when a channel has several."),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Correct a published fact (publication URL or instant; a posting's URL, outlet, evidence
    or instant). The original stays in the audit trail; deadline, ladder and on-time are
    recomputed. An earlier posting or a later publication needs a supervisor."""
    when = common.parse_instant(at, what="--at") if at else None
    outcome = _workflow().correct(
        as_,
        doc_id,
        what=what,
        reason=reason,
        url=url,
        at=when,
        outlet=outlet,
        evidence=evidence,
        posting_id=posting,
        expected_version=if_version,
    )
    after = outcome.details.get("result_after")
    extra = ""
    if after is not None:
        extra = (
            _("; now on time")
            if after["on_time"]
            else _(
                "; now {words}", words=overdue_words(after["working_days_late"] or 0, common.context().lang)
            )
        )
    due = outcome.details.get("after", {}).get("due_at")
    if due is not None and due != outcome.details.get("before", {}).get("due_at"):
        from workflow.entrypoints.cli.doc_cmds import _local

        extra += _("; interpretation now due {at}", at=_local(due, common.context().settings.timezone))
    _done(outcome, json_, _("{what} corrected{extra}", what=what, extra=extra))


def register(app: typer.Typer) -> None:
    """The commands join ``santongbu doc`` (registered by doc_cmds)."""
