"""``santongbu db``: create or upgrade the schema."""

from __future__ import annotations

import typer

from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _

db_app = typer.Typer(help="Create or upgrade the database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
@common.command
def upgrade(revision: str = typer.Argument("head", help="Target revision (default: the newest).")) -> None:
    """Create the schema on an empty database or bring an existing one up to date."""
    ctx = common.context()
    try:
        ctx.db.upgrade(revision)
    except Exception as exc:
        common.fail(
            _(
                "could not upgrade {p0}: {name__}: {p2}",
                p0=ctx.db.engine.url.render_as_string(hide_password=True),
                name__=exc.__class__.__name__,
                p2=str(exc).splitlines()[0],
            )
        )
    typer.echo(
        _(
            "database at revision {p0} ({p1})",
            p0=ctx.db.current_revision(),
            p1=ctx.db.engine.url.render_as_string(hide_password=True),
        )
    )


@db_app.command("current")
@common.command
def current() -> None:
    """Show the schema revision the database is at."""
    typer.echo(common.context().db.current_revision() or "empty (run: santongbu db upgrade)")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
