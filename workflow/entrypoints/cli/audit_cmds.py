"""``santongbu audit``: verify the hash chains and checkpoint their heads.

The trail queries (by document, unit, actor, action, period) live in
:mod:`workflow.entrypoints.cli.audit_query_cmds` and are added to the same ``audit`` group.
"""

from __future__ import annotations

import typer

from workflow.entrypoints.cli import common

audit_app = typer.Typer(
    help="The audit trail: verify its hash chains, checkpoint, query.", no_args_is_help=True
)


@audit_app.command("verify")
@common.command
def verify(
    document: int = typer.Option(None, "--document", help="Verify one document's chain only."),
    json_: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Recompute every chain; report the first broken link of each and the events after it.

    Exit status 0 when intact, 1 when something was edited, inserted or deleted.
    """
    report = common.context().services.audit.verify(document)
    if json_:
        common.emit_json(report.as_dict())
    else:
        typer.echo(
            f"checked {report.events} events in {report.chains} chains against {report.checkpoints} checkpoint(s)"
        )
        for b in report.breaks:
            after = (
                f"; {len(b.events_after)} later event(s) unverifiable: ids {b.events_after[:20]}"
                if b.events_after
                else ""
            )
            where = f"event id {b.event_id}, " if b.event_id else ""
            typer.echo(f"BROKEN {b.chain} at seq {b.seq} ({where}{b.problem}){after}")
        typer.echo("audit trail intact" if report.ok else "audit trail BROKEN")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
@common.command
def checkpoint(json_: bool = typer.Option(False, "--json")) -> None:
    """Record every chain head now (the worker does this periodically; both wait for a
    checkpoint being written elsewhere, so the checkpoints stay one chain)."""
    cp = common.context().services.audit.checkpoint()
    common.emit_json(cp.as_dict()) if json_ else typer.echo(
        f"checkpoint {cp.id}: {cp.chains} chains, {cp.hash[:16]}"
    )


def register(app: typer.Typer) -> None:
    try:
        from workflow.entrypoints.cli import audit_query_cmds
    except ImportError:  # the query commands are optional until their issue lands
        audit_query_cmds = None  # type: ignore[assignment]
    if audit_query_cmds is not None:
        audit_query_cmds.extend(audit_app)
    app.add_typer(audit_app, name="audit")
