"""Operations: ``santongbu sweep``, ``santongbu worker``, ``santongbu beat`` and ``santongbu demo``.

``sweep`` runs the deadline sweep once, by hand, "as of" the global ``--now`` (drills,
catching up after an outage, cron without Celery). ``worker`` and ``beat`` are thin wrappers
around ``celery -A workers worker`` / ``celery -A workers beat`` that take their settings from
the same place as every other command. ``demo`` is the whole product in one command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from states.catalogue import label
from states.deadline import overdue_words
from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _


@common.command
def sweep_cmd(
    json_: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, help="Documents per transaction (default: SANTONGBU_SWEEP_BATCH_SIZE)."
    ),
) -> None:
    """Fire every due reminder/escalation once, as of now (or the global --now), and queue
    their emails. Safe to run while workers run: each level fires once per document."""
    from states.ladder import LadderError
    from workflow.services.sweep import ladder_for

    ctx = common.context()
    try:
        ladder_for(ctx.settings)
    except LadderError as exc:
        common.fail(_("configuration error: ladder: {exc}", exc=exc))
    report = ctx.services.sweep(batch_size=batch_size)
    if json_:
        common.emit_json(report.as_dict())
        return
    lang = ctx.lang
    when = report.now.astimezone(ZoneInfo(ctx.settings.timezone))
    if not report.fired:
        typer.echo(_("{at}: nothing due", at=when.strftime("%Y-%m-%d %H:%M %z")))
    for f in report.fired:
        n, emails = f.working_days_overdue, len(f.outbox_ids)
        typer.echo(
            f"#{f.document_id} {label('level', f.level, lang)}"
            + (_(" ({words})", words=overdue_words(n, lang)) if n else "")
            + _(" → {n} email(s) queued", n=emails)
        )
    if report.deferred:
        typer.echo(_("left for the next sweep: {ids}", ids=", ".join(f"#{d}" for d in report.deferred)))


@common.command
def worker_cmd(
    beat: bool = typer.Option(False, "--beat", "-B", help="Also run the beat (one per installation!)."),
    concurrency: int | None = typer.Option(None, "--concurrency", "-c", min=1),
    loglevel: str = typer.Option("INFO", "--loglevel", "-l"),
    queues: str | None = typer.Option(None, "--queues", "-Q", help="Comma-separated queues to consume."),
) -> None:
    """Run a Celery worker (same as 'celery -A workers worker'). Start as many as you like, on
    as many hosts as you like; all share the database and the broker."""
    if common.context().now is not None:
        common.fail(_("--now is for one-off commands; a worker always runs on the real clock"))
    app = _app()
    # No gossip or mingle: Santongbu's workers coordinate through the database, not through
    # each other, and gossip's reconnect after a broker outage only logged errors.
    argv = ["worker", f"--loglevel={loglevel}", "--without-gossip", "--without-mingle"]
    if beat:
        argv.append("--beat")
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if queues:
        argv.append(f"--queues={queues}")
    app.worker_main(argv)


@common.command
def beat_cmd(
    loglevel: str = typer.Option("INFO", "--loglevel", "-l"),
    schedule: Path | None = typer.Option(
        None, "--schedule", "-s", help="Beat's state file (default: celerybeat-schedule)."
    ),
) -> None:
    """Run the beat (same as 'celery -A workers beat'): exactly one per installation. It only
    sends "sweep now" and "deliver now"; a second one is harmless but wasteful."""
    if common.context().now is not None:
        common.fail(_("--now is for one-off commands; the beat always runs on the real clock"))
    app = _app()
    argv = ["beat", f"--loglevel={loglevel}"] + ([f"--schedule={schedule}"] if schedule else [])
    app.start(argv)


def _app():
    from workers.app import make_app

    return make_app(services=common.context().services)


@common.command
def demo_cmd(
    folder: Path = typer.Option(
        Path("santongbu-demo"), "--dir", help="Where the demo keeps all its files (replaced on each run)."
    ),
    json_: bool = typer.Option(False, "--json", help="Print the summary as JSON (progress goes to stderr)."),
) -> None:
    """Run the whole product on your machine, with nothing installed or running: a sample
    bureau, documents through every state across the 2024 Spring Festival, a real Celery worker
    and beat sweeping deadlines and sending the escalation ladder to .eml files, and the audit
    trail verified. Under a minute; all files under ./santongbu-demo/."""
    from workflow.demo.report import collect, render_text
    from workflow.demo.run import DemoError, run_demo

    ctx = common.context()
    lang = ctx.lang

    def progress(line: str) -> None:
        print(line, file=sys.stderr if json_ else sys.stdout, flush=True)

    if not json_:
        progress("Santongbu 三同步 — demo 演示" if lang == "zh" else "Santongbu (三同步) — demo")
        progress(("文件夹: " if lang == "zh" else "folder: ") + str(folder))
    try:
        run = run_demo(folder, lang, progress)
        data = collect(run)
    except DemoError as exc:
        common.fail(_("demo stopped: {exc}", exc=exc), code=1)
    finally:
        pass
    run.db.dispose()
    if json_:
        common.emit_json(data)
    else:
        typer.echo(render_text(data, lang))
    if not data["audit"]["ok"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_cmd)
    app.command("worker")(worker_cmd)
    app.command("beat")(beat_cmd)
    app.command("demo")(demo_cmd)
