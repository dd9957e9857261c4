"""Entry point of the ``santongbu`` console script."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from workflow.entrypoints.cli import common

app = typer.Typer(
    name="santongbu",
    help=(
        "Santongbu (三同步): carries policy documents through draft → interpretation plan → "
        "joint sign-off → publication → interpretation posting, and enforces the "
        "3-working-day interpretation deadline."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",  # wrapped docstring lines flow into one paragraph
)


@app.callback()
def _global(
    context: typer.Context,
    database_url: str | None = typer.Option(
        None,
        "--db",
        envvar="SANTONGBU_DATABASE_URL",
        help="Database URL (default sqlite:///santongbu.db in the current folder).",
    ),
    lang: str | None = typer.Option(
        None,
        "--lang",
        help="Language of messages and help: zh (default) or en; also after the subcommand, "
        "or SANTONGBU_LANGUAGE.",
    ),
    now: str | None = typer.Option(
        None,
        "--now",
        help="Act as if it were this instant (ISO 8601); for drills and tests. Refused "
        "unless SANTONGBU_ALLOW_CLOCK_OVERRIDE=true; every event then also records the real time.",
    ),
) -> None:
    from workflow.kernel.settings import Settings

    overrides: dict[str, object] = {}
    if database_url:
        overrides["database_url"] = database_url
    lang = lang or (context.obj or {}).get("lang")  # main() takes --lang from anywhere on the line
    if lang:
        overrides["language"] = lang
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        common.fail(common.configuration_problem(exc, lang or "zh"))
    ctx = common.AppContext(settings=settings)
    common.set_context(ctx)
    if now:
        if not settings.allow_clock_override:
            common.fail(
                common._(
                    "--now is refused: this installation does not allow clock overrides "
                    "(SANTONGBU_ALLOW_CLOCK_OVERRIDE=true permits them, for drills and tests)"
                )
            )
        ctx.now = common.parse_instant(now, what="--now")
    _attribute(context, bool(now))


def _attribute(context: typer.Context, clock_override: bool) -> None:
    """Everything this invocation writes is attributed to the CLI and the operating-system
    user running it (``--as`` is the login acted as); undone when the command ends."""
    from workflow.kernel import attribution

    token = attribution.begin("cli", attribution.os_credential(), clock_override=clock_override)
    attribution.set_clock_override(clock_override)

    def done() -> None:
        attribution.set_clock_override(False)
        attribution.end(token)

    context.call_on_close(done)


def _register() -> None:
    from workflow.entrypoints.cli import (
        admin_cmds,
        audit_cmds,
        calendar_cmds,
        correct_cmds,
        db_cmds,
        diagram_cmds,
        doc_cmds,
        evidence_cmds,
        file_cmds,
        import_cmds,
        ops_cmds,
        outbox_cmds,
        report_cmds,
        search_cmds,
        server_cmds,
        web_cmds,
    )

    for module in (
        db_cmds,
        admin_cmds,
        doc_cmds,
        correct_cmds,
        audit_cmds,
        diagram_cmds,
        calendar_cmds,
        outbox_cmds,
        ops_cmds,
        report_cmds,
        server_cmds,
        web_cmds,
        evidence_cmds,
        search_cmds,
        import_cmds,
        file_cmds,
    ):
        module.register(app)


_register()


def main() -> None:
    """``santongbu``: the language first (it decides the help's), then the command."""
    import sys

    from workflow.entrypoints.cli.localize import run

    sys.exit(run(app))
