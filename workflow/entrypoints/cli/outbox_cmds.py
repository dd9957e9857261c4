"""``santongbu outbox``: see what was emailed, what waits and what failed; deliver; retry.

Emails are queued in the outbox in the same transaction as the change that causes them and
delivered by the Celery worker (``celery -A workers worker``). These commands let an operator
look at the table, run one delivery pass by hand, and send a failed email again, through the
same service and the same rules as the HTTP API (:mod:`workflow.services.outbox_admin`):
reading needs an administrator, auditor, supervisor or leader (``--as``), retrying an
administrator.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import typer

from states.catalogue import label
from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _
from workflow.kernel.models.outbox import STATUSES, OutboxMessage
from workflow.services.outbox_admin import worker_id

outbox_app = typer.Typer(
    help="The email outbox: list, show, deliver now, retry a failed email.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
READER = typer.Option(
    None,
    "--as",
    envvar="SANTONGBU_USER",
    help="Your login (an administrator, auditor, supervisor or leader).",
)


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    local = value.astimezone(ZoneInfo(common.context().settings.timezone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def _recipients(row: OutboxMessage) -> str:
    if row.channel != "email":  # a group robot's message: no addresses
        return f"{row.channel} robot of unit #{row.unit_id}"
    to = [r["address"] for r in row.to_list]
    text = ", ".join(to[:2]) + (f" +{len(to) - 2}" if len(to) > 2 else "")
    return text + (f" (cc {len(row.cc_list)})" if row.cc_list else "")


@outbox_app.command("list")
@common.command
def outbox_list(
    status: str | None = typer.Option(None, "--status", help="Only pending, sending, sent or failed."),
    document: int | None = typer.Option(None, "--document", help="Only emails about this document id."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many, newest first."),
    as_: str | None = READER,
    json_: bool = JSON,
) -> None:
    """List emails in the outbox, newest first."""
    if status is not None and status not in STATUSES:
        common.fail(_("--status: '{status}' is not one of {p1}", status=status, p1=", ".join(STATUSES)))
    if not as_:
        common.fail(_("outbox list needs --as LOGIN (an administrator, auditor, supervisor or leader)"))
    outbox = common.context().services.outbox
    rows = outbox.list(as_, status=status, document_id=document, limit=limit)
    if json_:
        return common.emit_json([outbox.view(r) for r in rows])
    if not rows:
        typer.echo(_("no emails with status {status}", status=status) if status else _("no emails"))
        return
    rows_out: list[list[object]] = []
    for r in rows:
        when = _when(r.sent_at) if r.status == "sent" else _when(r.next_attempt_at)
        rows_out.append(
            [
                r.id,
                r.status,
                r.attempts,
                label("event", r.event, common.context().lang),
                r.document_id or "-",
                when,
                _recipients(r),
                outbox.view(r)["subject"],
            ]
        )
        if r.status == "failed" and r.last_error:
            rows_out.append(["", "", "", "", "", "", "", _("error: {problem}", problem=r.last_error)])
    common.table(
        [_("id"), _("status"), _("tries"), _("event"), _("document"), _("time"), _("to"), _("subject")],
        rows_out,
    )


@outbox_app.command("show")
@common.command
def outbox_show(
    outbox_id: int = typer.Argument(..., metavar="ID", help="The email's outbox id."),
    as_: str | None = READER,
    json_: bool = JSON,
) -> None:
    """Show one email: recipients, delivery state and the plain-text body."""
    if not as_:
        common.fail(_("outbox show needs --as LOGIN (an administrator, auditor, supervisor or leader)"))
    outbox = common.context().services.outbox
    row = outbox.show(as_, outbox_id)
    view = outbox.view(row, bodies=True)
    if json_:
        return common.emit_json(view)

    def fmt(items: list[dict[str, str]]) -> str:
        return ", ".join(f"{i['name']} <{i['address']}>" if i.get("name") else i["address"] for i in items)

    rows_out = [
        (_("id"), row.id),
        (
            _("channel"),
            row.channel
            if row.channel == "email"
            else _("{channel} robot of unit #{unit}", channel=row.channel, unit=row.unit_id),
        ),
        (_("status"), row.status),
        (_("event"), label("event", row.event, common.context().lang)),
        (_("document"), row.document_id or "-"),
        (_("language"), row.language),
        (_("to"), fmt(row.to_list)),
        (_("cc"), fmt(row.cc_list) or "-"),
        (_("subject"), view["subject"]),
        (_("queued"), _when(row.created_at)),
        (_("attempts"), row.attempts),
        (_("next attempt"), _when(row.next_attempt_at) if row.status == "pending" else "-"),
        (
            _("claimed by"),
            _("{login} at {at}", login=row.claimed_by, at=_when(row.claimed_at)) if row.claimed_by else "-",
        ),
        (_("sent"), _when(row.sent_at)),
        (_("last error"), row.last_error or "-"),
        ("message-id", view["message_id"]),
        (_("dedupe key"), row.dedupe_key or "-"),
    ]
    common.table([_("field"), _("value")], [list(r) for r in rows_out])
    typer.echo("")
    typer.echo(view["body_text"].rstrip())


@outbox_app.command("deliver")
@common.command
def outbox_deliver(
    limit: int = typer.Option(100, "--limit", min=1, help="At most this many emails in this pass."),
    json_: bool = JSON,
) -> None:
    """Deliver due emails once, in this process (what the worker does every few seconds)."""
    # Each outcome is printed below; keep the worker's log lines off the terminal.
    logging.getLogger("santongbu.notifications").addHandler(logging.NullHandler())
    report = common.context().services.outbox.deliver(worker_id="cli:" + worker_id(), limit=limit)
    if json_:
        return common.emit_json(report.as_dict())
    if not report.claimed:
        typer.echo(_("nothing to deliver"))
        return
    for o in report.outcomes:
        extra = _(" (next try {at})", at=_when(o.next_attempt_at)) if o.next_attempt_at else ""
        typer.echo(
            _(
                "{outbox_id:>5}  {result:<7}  attempt {attempts}  {detail}{extra}",
                outbox_id=o.outbox_id,
                result=o.result,
                attempts=o.attempts,
                detail=o.detail,
                extra=extra,
            )
        )
    typer.echo(
        _(
            "{claimed} claimed via {transport}: {p2} sent, {p3} to retry, {p4} failed",
            claimed=report.claimed,
            transport=report.transport,
            p2=len(report.sent),
            p3=len(report.retried),
            p4=len(report.failed),
        )
    )


@outbox_app.command("retry")
@common.command
def outbox_retry(
    outbox_id: int = typer.Argument(..., metavar="ID", help="The failed email's outbox id."),
    as_: str | None = typer.Option(
        None, "--as", envvar="SANTONGBU_USER", help="Acting administrator's login."
    ),
    json_: bool = JSON,
) -> None:
    """Queue a failed email again now, with a fresh count of attempts (administrators only)."""
    if not as_:
        common.fail(_("retry needs --as LOGIN (an administrator)"))
    outbox = common.context().services.outbox
    row = outbox.retry(as_, outbox_id)
    if json_:
        return common.emit_json(outbox.view(row))
    typer.echo(_("email {id} queued again; the next delivery pass sends it", id=row.id))


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
