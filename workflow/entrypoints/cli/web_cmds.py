"""``santongbu user password LOGIN``: set (or clear) a person's password for the web pages;
``santongbu user end-sessions LOGIN``: sign them out everywhere.

People sign in to the pages with a password; systems use API tokens (``santongbu token``).
Setting a password is administration (docs/design.md §7): the acting administrator is named with
``--as`` (or ``SANTONGBU_USER``), and the change is audited — never the password itself. The
password is asked for twice without echo, or read from the first line of stdin with
``--password-stdin`` for scripts; it never appears on the command line (where ``ps`` and the
shell history would show it). Setting a new password signs the user out everywhere.
"""

from __future__ import annotations

import sys

import typer

from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _

AS = typer.Option(None, "--as", envvar="SANTONGBU_USER", help="Acting administrator's login.")


def password(
    login: str = typer.Argument(..., help="Whose password to set."),
    as_: str | None = AS,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    clear: bool = typer.Option(
        False, "--clear", help="Remove the password: the user can no longer sign in to the pages."
    ),
) -> None:
    """Set LOGIN's password for the web pages (asked twice, not echoed)."""
    from workflow.services.passwords import password_problem

    if as_ is None:
        common.fail(_("give the acting administrator with --as LOGIN (or SANTONGBU_USER)"))
    secret: str | None = None
    if not clear:
        if password_stdin:
            secret = sys.stdin.readline().rstrip("\r\n")
        else:
            secret = typer.prompt(
                _("new password for {login}", login=login), hide_input=True, confirmation_prompt=True
            )
        problem = password_problem(login, secret)
        if problem:
            common.fail(_("password not accepted: {problem}", problem=problem))
    common.context().services.accounts.set_password(as_, login, secret)
    typer.echo(
        _(
            "password of {login} {p1}; existing web sessions of {login} are ended",
            login=login,
            p1="cleared" if clear else "set",
        )
    )


def end_sessions(
    login: str = typer.Argument(..., help="Whose web sessions to end."),
    as_: str | None = AS,
) -> None:
    """Sign LOGIN out of the web pages everywhere, at once (a lost laptop, a shared screen)."""
    if as_ is None:
        common.fail(_("give the acting administrator with --as LOGIN (or SANTONGBU_USER)"))
    count = common.context().services.accounts.end_sessions(as_, login)
    typer.echo(
        _("{count} web session{p1} of {login} ended", count=count, p1="s" if count != 1 else "", login=login)
    )


def register(app: typer.Typer) -> None:
    """Add ``password`` and ``end-sessions`` to the ``user`` group that :mod:`admin_cmds` defines."""
    from workflow.entrypoints.cli.admin_cmds import user_app

    user_app.command("password")(common.command(password))
    user_app.command("end-sessions")(common.command(end_sessions))
