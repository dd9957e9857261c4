"""``santongbu serve``, ``santongbu token …`` and ``santongbu openapi``: the HTTP API.

The API modules are imported inside each command, so that the rest of the CLI starts
without FastAPI.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _

token_app = typer.Typer(
    help="API tokens for the HTTP API: create (shown once), list, revoke.", no_args_is_help=True
)

AS = typer.Option(..., "--as", envvar="SANTONGBU_USER", help="Acting administrator's login.")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _app() -> Any:
    from workflow.entrypoints.api import create_app

    return create_app(services=common.context().services)


def openapi_json(app: Any) -> str:
    """The OpenAPI document as committed in docs/openapi.json (stable key order, final newline)."""
    return json.dumps(app.openapi(), ensure_ascii=False, indent=2) + "\n"


def _tokens() -> Any:
    return common.context().services.tokens


def api_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Like :func:`common.command`, with the API's own reasons (tokens) put into words."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from workflow.entrypoints.api.messages import render
        from workflow.kernel.errors import SantongbuError

        try:
            return fn(*args, **kwargs)
        except SantongbuError as exc:
            common.fail(render(exc.reasons, common.context().lang))

    return wrapper


def app_from_environment() -> Any:
    """The app as each ``serve --workers N`` process builds it: settings from the environment
    (``serve`` exports its --db and --lang there first), the real clock, API and pages."""
    from workflow.bootstrap import bootstrap
    from workflow.entrypoints.api import create_app
    from workflow.entrypoints.web import install
    from workflow.kernel.settings import Settings

    # announce: each server process logs whether the audit trail is keyed
    app = create_app(services=bootstrap(Settings(), announce=True))
    install(app)
    return app


def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."
    ),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=32,
        help="Server processes. One Python process uses one core at a time; with "
        "PostgreSQL, use about one per core.",
    ),
) -> None:
    """Serve the HTTP API and the web pages with uvicorn (pages at /web, OpenAPI at
    /openapi.json, browsable at /docs)."""
    import os

    import uvicorn

    from workflow.entrypoints.api.http_protocol import IMPORT_STRING, NoDelayHTTPProtocol
    from workflow.kernel import audit

    ctx = common.context()
    where = (
        f"santongbu on http://{host}:{port}  (database: {ctx.db.dialect}; pages at /web, API docs at /docs)"
    )
    keyed = audit.keyed_status()
    common.stderr(f"audit trail {keyed['detail']}" if keyed["keyed"] else f"WARNING: {keyed['detail']}")
    # Uvicorn's access log shows method, path and status, never headers: tokens stay out of logs.
    if workers == 1:
        from workflow.entrypoints.web import install

        app = _app()
        install(app)
        common.stderr(where)
        uvicorn.run(
            app, host=host, port=port, log_level="info", proxy_headers=False, http=NoDelayHTTPProtocol
        )
        return
    if ctx.now is not None:
        common.fail(_("--now cannot be combined with --workers: each process would keep its own clock"))
    os.environ["SANTONGBU_DATABASE_URL"] = ctx.settings.database_url
    os.environ["SANTONGBU_LANGUAGE"] = ctx.settings.language
    common.stderr(_("{where}, {workers} processes", where=where, workers=workers))
    uvicorn.run(
        "workflow.entrypoints.cli.server_cmds:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        # TCP_NODELAY on each connection: the socket uvicorn binds for its workers is not
        # marked TCP, so asyncio leaves Nagle on (~40 ms a request; see http_protocol).
        http=IMPORT_STRING,
    )


def openapi(
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
) -> None:
    """Print (or write) the API's OpenAPI document."""
    text = openapi_json(_app())
    if output is None:
        typer.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(_("wrote {output}", output=output))


@token_app.command("create")
@api_errors
def token_create(
    login: str = typer.Argument(..., help="Whose token it is."),
    name: str | None = typer.Option(None, "--name", help="What it is for, e.g. 'portal sync'."),
    expires: str | None = typer.Option(
        None, "--expires", help="Lifetime, e.g. 90d, 12h or 4w (default: until revoked)."
    ),
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Create a token for LOGIN and print it. It is shown this once: only a digest is kept."""
    from workflow.services.tokens import parse_lifetime

    secret, view = _tokens().create(as_, login, name, parse_lifetime(expires) if expires else None)
    if json_:
        return common.emit_json({**view, "token": secret})
    typer.echo(secret)
    zone = common.context().settings.timezone
    until = _(", valid until {at}", at=_local_minute(view["expires_at"], zone)) if view["expires_at"] else ""
    common.stderr(
        _(
            "token {p0} ({p1}…) for {login} created{until}; copy it now, it is not shown again",
            p0=view["id"],
            p1=view["prefix"],
            login=login,
            until=until,
        )
    )


def _local_minute(instant: Any, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M%z")


def _local_day(instant: Any, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d")


@token_app.command("list")
@api_errors
def token_list(
    login: str | None = typer.Option(None, "--login", help="Only this user's tokens."),
    as_: str = typer.Option(
        ..., "--as", envvar="SANTONGBU_USER", help="Your login: an administrator, or --login yourself."
    ),
    json_: bool = JSON,
) -> None:
    """List tokens (id, owner, prefix, state, expiry, last use, name); never the secrets.
    Administrators list every token; anyone else only their own (--login LOGIN)."""
    tokens = _tokens().list(as_, login)
    if json_:
        return common.emit_json(tokens)
    zone = common.context().settings.timezone
    if tokens:
        common.table(
            [_("id"), _("login"), _("prefix"), _("state"), _("expires"), _("last used"), _("name")],
            [
                [
                    t["id"],
                    t["login"],
                    f"{t['prefix']}…",
                    _(
                        "revoked {at} by {login}",
                        at=t["revoked_at"].strftime("%Y-%m-%d"),
                        login=t["revoked_by"],
                    )
                    if t["revoked_at"]
                    else _("expired")
                    if not t["active"]
                    else _("active"),
                    _local_day(t["expires_at"], zone) if t["expires_at"] else _("no expiry"),
                    _local_minute(t["last_used_at"], zone) if t["last_used_at"] else _("never used"),
                    t["name"],
                ]
                for t in tokens
            ],
        )
    else:
        typer.echo(_("no tokens"))


@token_app.command("revoke")
@api_errors
def token_revoke(
    token_id: int = typer.Argument(..., min=1, max=2**31 - 1, help="The token's id (see token list)."),
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Revoke a token; it stops working at once."""
    view = _tokens().revoke(as_, token_id)
    if json_:
        return common.emit_json(view)
    typer.echo(_("token {p0} ({p1}…) of {p2} revoked", p0=view["id"], p1=view["prefix"], p2=view["login"]))


def register(app: typer.Typer) -> None:
    app.command("serve")(common.command(serve))
    app.command("openapi")(common.command(openapi))
    app.add_typer(token_app, name="token")
