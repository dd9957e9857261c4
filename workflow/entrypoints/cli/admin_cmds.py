"""``santongbu unit`` and ``santongbu user``: the directory of units and people."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _
from workflow.services.directory import Directory

unit_app = typer.Typer(
    help="Units (处室/单位): drafting units, supervising units, leadership.", no_args_is_help=True
)
user_app = typer.Typer(
    help="Users: clerks, signers, supervisors, auditors, administrators.", no_args_is_help=True
)

AS = typer.Option(
    None,
    "--as",
    envvar="SANTONGBU_USER",
    help="Acting administrator's login (not needed for the very first user).",
)
READER = typer.Option(..., "--as", envvar="SANTONGBU_USER", help="Your login (the acting user).")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _directory() -> Directory:
    return common.context().services.directory


@unit_app.command("add")
@common.command
def unit_add(
    code: str = typer.Argument(..., help="Short code, e.g. zfc."),
    name: str = typer.Option(..., "--name", help="Full name, e.g. 政法处."),
    kind: str = typer.Option("drafting", "--kind", help="drafting, supervising or leadership."),
    mailbox: str | None = typer.Option(None, "--mailbox", help="The unit's email address."),
    head: str | None = typer.Option(None, "--head", help="Login of the unit's head."),
    as_: str | None = AS,
    json_: bool = JSON,
) -> None:
    """Add a unit."""
    view = _directory().add_unit(
        as_, {"code": code, "name": name, "kind": kind, "mailbox": mailbox, "head": head}
    )
    common.emit_json(view) if json_ else typer.echo(
        _("unit {p0} {p1} added", p0=view["code"], p1=view["name"])
    )


def _secret(value: str | None) -> str | None:
    """``-`` reads the value from standard input (so a credential stays out of the shell's
    history and the process list)."""
    if value == "-":
        return sys.stdin.readline().strip()
    return value


@unit_app.command("set")
@common.command
def unit_set(
    code: str = typer.Argument(..., help="The unit to change."),
    name: str | None = typer.Option(None, "--name", help="Full name."),
    mailbox: str | None = typer.Option(
        None, "--mailbox", "--email", help="The unit's email address ('' removes it)."
    ),
    head: str | None = typer.Option(None, "--head", help="Login of the unit's head ('' removes it)."),
    supervising: bool | None = typer.Option(
        None, "--supervising/--no-supervising", help="Whether the unit supervises (escalations go to it)."
    ),
    kind: str | None = typer.Option(None, "--kind", help="drafting, supervising or leadership."),
    wecom_webhook: str | None = typer.Option(
        None,
        "--wecom-webhook",
        help="The WeCom group robot's webhook URL ('-' reads it from stdin, '' removes the robot).",
    ),
    wecom_events: str | None = typer.Option(
        None,
        "--wecom-events",
        help="Comma-separated events for the WeCom robot ('' = every event routed to the unit).",
    ),
    dingtalk_webhook: str | None = typer.Option(
        None,
        "--dingtalk-webhook",
        help="The DingTalk group robot's webhook URL ('-' reads it from stdin, '' removes it).",
    ),
    dingtalk_secret: str | None = typer.Option(
        None, "--dingtalk-secret", help="The DingTalk robot's 加签 secret, SEC… ('-' reads it from stdin)."
    ),
    dingtalk_events: str | None = typer.Option(
        None,
        "--dingtalk-events",
        help="Comma-separated events for the DingTalk robot ('' = every event routed).",
    ),
    as_: str | None = AS,
    json_: bool = JSON,
) -> None:
    """Change a unit: name, mailbox, head, supervising, group robots (administrators).

    The next email and robot message already go to the unit as it is now.
    """
    if as_ is None:
        common.fail(_("give the acting administrator with --as LOGIN"))
    view = _directory().update_unit(
        as_,
        code,
        {
            "name": name,
            "mailbox": mailbox,
            "head": head,
            "supervising": supervising,
            "kind": kind,
            "wecom_webhook": _secret(wecom_webhook),
            "wecom_events": wecom_events,
            "dingtalk_webhook": _secret(dingtalk_webhook),
            "dingtalk_secret": _secret(dingtalk_secret),
            "dingtalk_events": dingtalk_events,
        },
    )
    common.emit_json(view) if json_ else typer.echo(
        _("unit {p0} changed: {p1}", p0=view["code"], p1=_describe(view))
    )


def _describe(u: dict[str, Any]) -> str:
    parts = [f"{u['kind']}", f"mailbox={u['mailbox'] or '-'}", f"head={u['head'] or '-'}", _robots(u)]
    return "  ".join(p for p in parts if p)


def _robots(u: dict[str, Any]) -> str:
    """Each robot's events and the last characters of its key (never the webhook or secret)."""
    return "  ".join(
        _(
            "{channel}={events} (key {key})",
            channel=c,
            events=",".join(r["events"]) if r["events"] else _("all"),
            key=r["key"],
        )
        for c, r in (u.get("robots") or {}).items()
        if r
    )


@unit_app.command("seal-secrets")
@common.command
def unit_seal_secrets(as_: str | None = AS) -> None:
    """Encrypt robot webhooks and secrets still stored in plain text (after setting
    SANTONGBU_SECRETS_KEY_FILE on a database upgraded without it)."""
    if as_ is None:
        common.fail(_("give the acting administrator with --as LOGIN"))
    sealed = _directory().seal_secrets(as_)
    typer.echo(_("robot credentials encrypted for {count} unit(s)", count=sealed))


@unit_app.command("list")
@common.command
def unit_list(as_: str = READER, json_: bool = JSON) -> None:
    """List units (anyone active)."""
    units = _directory().list_units(as_)
    if json_:
        return common.emit_json(units)
    common.table(
        [_("code"), _("kind"), _("name"), _("mailbox"), _("head"), _("robots")],
        [[u["code"], u["kind"], u["name"], u["mailbox"] or "", u["head"] or "-", _robots(u)] for u in units],
    )


@user_app.command("add")
@common.command
def user_add(
    login: str = typer.Argument(..., help="Login, e.g. li.ming."),
    name: str = typer.Option(..., "--name", help="Full name."),
    unit: str = typer.Option(..., "--unit", help="Code of the user's unit."),
    email: str | None = typer.Option(None, "--email"),
    roles: str = typer.Option(
        "member", "--roles", help="Comma-separated: member, signer, supervisor, auditor, admin, leader."
    ),
    as_: str | None = AS,
    json_: bool = JSON,
) -> None:
    """Add a user. The first user of a new database needs no --as and must be an admin."""
    view = _directory().add_user(
        as_, {"login": login, "name": name, "unit": unit, "email": email, "roles": roles}
    )
    common.emit_json(view) if json_ else typer.echo(
        _("user {p0} ({p1}, {p2}) added", p0=view["login"], p1=view["name"], p2=view["unit"])
    )


@user_app.command("set")
@common.command
def user_set(
    login: str = typer.Argument(..., help="The user to change."),
    roles: str | None = typer.Option(None, "--roles"),
    email: str | None = typer.Option(None, "--email"),
    name: str | None = typer.Option(None, "--name"),
    unit: str | None = typer.Option(None, "--unit"),
    active: bool | None = typer.Option(None, "--active/--inactive", help="Deactivate a user who left."),
    as_: str | None = AS,
    json_: bool = JSON,
) -> None:
    """Change a user's roles, email, name, unit or active flag."""
    if as_ is None:
        common.fail(_("give the acting administrator with --as LOGIN"))
    view = _directory().update_user(
        as_, login, {"roles": roles, "email": email, "name": name, "unit": unit, "active": active}
    )
    common.emit_json(view) if json_ else typer.echo(_("user {p0} changed", p0=view["login"]))


@user_app.command("history")
@common.command
def user_history(
    login: str = typer.Argument(..., help="Whose units to show."), as_: str | None = AS, json_: bool = JSON
) -> None:
    """The units a user belonged to, oldest first (administrators, supervisors, auditors, leaders)."""
    if as_ is None:
        common.fail(_("give your login with --as LOGIN"))
    rows = _directory().user_history(as_, login)
    if json_:
        return common.emit_json(rows)
    common.table(
        [_("unit"), _("since"), _("until"), _("changed by")],
        [
            [
                r["unit"],
                r["since"].isoformat(),
                r["until"].isoformat() if r["until"] else _("now"),
                r["changed_by"] or "-",
            ]
            for r in rows
        ],
    )


@user_app.command("list")
@common.command
def user_list(unit: str | None = typer.Option(None, "--unit"), as_: str = READER, json_: bool = JSON) -> None:
    """List users (administrators, supervisors, auditors, leaders)."""
    users = _directory().list_users(as_, unit)
    if json_:
        return common.emit_json(users)
    common.table(
        [_("login"), _("unit"), _("roles"), _("name"), _("email"), _("active")],
        [
            [
                u["login"],
                u["unit"],
                ",".join(u["roles"]),
                u["name"],
                u["email"] or "",
                _("yes") if u["active"] else _("no (inactive)"),
            ]
            for u in users
        ],
    )


def _import(path: Path, as_: str | None, json_: bool) -> None:
    counts = _directory().import_file(as_, path)
    common.emit_json(counts) if json_ else typer.echo(
        _(
            "imported {p0} units and {p1} users from {name}",
            p0=counts["units"],
            p1=counts["users"],
            name=path.name,
        )
    )


@unit_app.command("import")
@common.command
def unit_import(
    path: Path = typer.Argument(..., help="TOML/JSON with [[units]] and [[users]], or a CSV of units."),
    as_: str | None = AS,
    json_: bool = JSON,
) -> None:
    """Import units (and users) from a file, all or nothing."""
    _import(path, as_, json_)


@user_app.command("import")
@common.command
def user_import(
    path: Path = typer.Argument(..., help="TOML/JSON with [[units]] and [[users]], or a CSV of users."),
    as_: str | None = AS,
    json_: bool = JSON,
) -> None:
    """Import users (and units) from a file, all or nothing."""
    _import(path, as_, json_)


def register(app: typer.Typer) -> None:
    app.add_typer(unit_app, name="unit")
    app.add_typer(user_app, name="user")
