"""``santongbu audit``: keys, checkpoints (exported as signed anchors) and verification.

The trail queries (by document, unit, actor, action, period) live in
:mod:`workflow.entrypoints.cli.audit_query_cmds` and are added to the same ``audit`` group.
Exit status of ``verify``: 0 intact, 1 a finding, 2 a usage error (scripts rely on it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _

audit_app = typer.Typer(
    help="The audit trail: keys, checkpoints, verify, query, aggregated bursts.", no_args_is_help=True
)


def public_path(keyring_file: Path) -> Path:
    """Where ``keygen`` writes the public keyring: beside the keyring, ``FILE.pub``."""
    return keyring_file.with_name(keyring_file.name + ".pub")


@audit_app.command("keygen")
@common.command
def keygen(
    output: Path = typer.Option(
        ..., "--output", help="The keyring file to create (mode 0600); FILE.pub gets the public keys."
    ),
    rotate: bool = typer.Option(
        False, "--rotate", help="Add a new active key to an existing keyring (old keys stay, to verify)."
    ),
    json_: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Create the audit keyring: an HMAC secret that keys every event's hash and an Ed25519 key
    that signs the exported checkpoints. Keep FILE off the database host's backups; give
    FILE.pub to the auditors. With --rotate, a new key takes over from now and a key_rotated
    event records where (keyed with the new key)."""
    from sqlalchemy import text

    from states.snapshot import SYSTEM
    from workflow.kernel import audit
    from workflow.kernel.auditkeys import (
        KeyFileError,
        generate_keyring,
        load_keyring,
        rotate_keyring,
        write_public_keyring,
    )
    from workflow.kernel.clock import SystemClock

    ctx = common.context()
    # Not ctx.clock: that takes up SANTONGBU_AUDIT_KEY_FILE, which may name the file to create.
    now = ctx.now or SystemClock().now()
    try:
        if rotate:
            old = load_keyring(output).active.key_id
            db = ctx.db  # first: a database or settings problem must stop us before the file changes
            with db.transaction() as session:
                session.execute(text("SELECT 1"))
            keyring = rotate_keyring(output, now=now)
        else:
            old, db = None, None
            keyring = generate_keyring(output, now=now)
        write_public_keyring(public_path(output), keyring)
    except KeyFileError as exc:
        common.fail(str(exc))
    out: dict[str, Any] = {
        "keyring": str(output),
        "public_keyring": str(public_path(output)),
        "key_id": keyring.active.key_id,
        "keys": list(keyring.key_ids),
        "rotated_from": old,
    }
    if db is not None:
        audit.use_keyring(keyring)
        try:
            with db.transaction() as session:
                ev = audit.append(
                    session,
                    at=now,
                    actor=SYSTEM,
                    action="key_rotated",
                    details={
                        "old_key_id": old,
                        "new_key_id": keyring.active.key_id,
                        "keys": list(keyring.key_ids),
                    },
                )
                out["event"] = {"chain": ev.chain, "seq": ev.seq}
        except Exception as exc:
            common.fail(
                _(
                    "{output} was rotated to key {key_id} (in force; the old keys stay to verify), but its key_rotated event could not be recorded: {exc}",
                    output=output,
                    key_id=keyring.active.key_id,
                    exc=exc,
                ),
                code=1,
            )
    if json_:
        return common.emit_json(out)
    typer.echo(
        (_("rotated {file}", file=output) if rotate else _("created {file}", file=output))
        + _(": active key {key}", key=keyring.active.key_id)
        + (
            _(
                " (after {old}; key_rotated is {chain} seq {seq})",
                old=old,
                chain=out["event"]["chain"],
                seq=out["event"]["seq"],
            )
            if rotate
            else ""
        )
    )
    typer.echo(_("public keyring for auditors: {p0}", p0=public_path(output)))
    if not rotate:
        typer.echo(
            _(
                "now set SANTONGBU_AUDIT_KEY_FILE={output} for the server, the workers and the CLI",
                output=output,
            )
        )


@audit_app.command("checkpoint")
@common.command
def checkpoint(
    export: Path | None = typer.Option(
        None,
        "--export",
        file_okay=False,
        help="Also write it to this folder as a signed anchor (default: SANTONGBU_AUDIT_EXPORT_DIR, if set).",
    ),
    json_: bool = typer.Option(False, "--json"),
) -> None:
    """Record every chain head now, keyed (the worker does this periodically; both wait for a
    checkpoint being written elsewhere, so the checkpoints stay one chain); with --export, also
    as a signed anchor file for a write-once folder or the auditors."""
    from workflow.kernel.auditkeys import KeyFileError

    try:
        done = common.context().services.audit.checkpoint(export_dir=export)
    except KeyFileError as exc:
        common.fail(str(exc))
    if json_:
        return common.emit_json(done.as_dict())
    key = f"key {done.key_id}" if done.key_id else "NOT KEYED"
    typer.echo(
        _(
            "checkpoint {id}: {chains} chains, {events} events, {key}, {p4}",
            id=done.id,
            chains=done.chains,
            events=done.events,
            key=key,
            p4=done.hash[:16],
        )
    )
    if done.anchor is not None:
        typer.echo(_("anchor written: {anchor}", anchor=done.anchor))


@audit_app.command("verify")
@common.command
def verify(
    document: int | None = typer.Option(None, "--document", help="Verify one document's chain only."),
    anchors: Path | None = typer.Option(
        None,
        "--anchors",
        exists=True,
        file_okay=False,
        help="The folder of exported anchors to check the trail against.",
    ),
    public_key: Path | None = typer.Option(
        None,
        "--public-key",
        exists=True,
        dir_okay=False,
        help="The public keyring (FILE.pub) that checks the anchors' "
        "signatures; not needed where the keyring is set.",
    ),
    since_anchor: bool = typer.Option(
        False, "--since-anchor", help="Incremental: only what the newest anchor does not vouch for."
    ),
    json_: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Check everything: each chain's links and keyed hashes, the heads, the checkpoints, every
    anchor (no chain shorter than one says, none missing, the event count never falling), and
    each document's state, deadline, postings and on-time verdict against its chain.

    Exit status 0 when intact, 1 on any finding, 2 on a usage error.
    """
    from workflow.kernel.audit_findings import VerifyUsageError
    from workflow.kernel.auditkeys import KeyFileError

    service = common.context().services.audit
    try:
        report = service.verify(document, anchors=anchors, public_key=public_key, since_anchor=since_anchor)
    except (KeyFileError, VerifyUsageError) as exc:
        common.fail(str(exc))
    if json_:
        common.emit_json(report.as_dict())
    else:
        since = _(", since anchor {anchor}", anchor=report.since_anchor) if report.since_anchor else ""
        typer.echo(
            _(
                "checked {events} events in {chains} chains, {documents} documents, against {checkpoints} checkpoint(s) and {anchors} anchor(s){since}; {p6}",
                events=report.events,
                chains=report.chains,
                documents=report.documents,
                checkpoints=report.checkpoints,
                anchors=report.anchors,
                since=since,
                p6=_("keyed") if report.keyed else _("NOT KEYED"),
            )
        )
        for note in report.notes:
            typer.echo(_("note: {note}", note=note))
        for b in report.breaks:
            after = (
                _(
                    "; {n} later event(s) unverifiable: ids {ids}",
                    n=len(b.events_after),
                    ids=b.events_after[:20],
                )
                if b.events_after
                else ""
            )
            where = _("event id {id}, ", id=b.event_id) if b.event_id else ""
            at = _(" at seq {seq}", seq=b.seq) if b.seq is not None else ""
            typer.echo(
                _(
                    "BROKEN {chain}{at} ({where}{problem}){after}",
                    chain=b.chain,
                    at=at,
                    where=where,
                    problem=b.problem,
                    after=after,
                )
            )
        typer.echo(_("audit trail intact") if report.ok else _("audit trail BROKEN"))
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("flush")
@common.command
def flush(
    everything: bool = typer.Option(False, "--all", help="Also the bursts whose window is still open."),
) -> None:
    """Write the aggregated events of refusals that came in bursts (the worker does this every
    SANTONGBU_AUDIT_BURST_WINDOW_SECONDS)."""
    count = common.context().services.audit.flush_bursts(everything=everything)
    typer.echo(_("{count} aggregated event{p1} written", count=count, p1="s" if count != 1 else ""))


def register(app: typer.Typer) -> None:
    try:
        from workflow.entrypoints.cli import audit_query_cmds
    except ImportError:  # the query commands are optional until their issue lands
        audit_query_cmds = None  # type: ignore[assignment]
    if audit_query_cmds is not None:
        audit_query_cmds.extend(audit_app)
    app.add_typer(audit_app, name="audit")
