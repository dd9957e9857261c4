"""``santongbu evidence check`` and ``santongbu evidence show`` (docs/evidence.md).

``check`` runs the evidence checker once, by hand, "as of" the global ``--now``: what beat's
``santongbu.check_evidence`` does. Its ``--json`` output is a fixed interface for scripts: a list
with one object per checked page carrying ``document_id``, ``channel``, ``status`` and
``reasons`` (and more). ``show`` prints one check and can write its kept page or WARC record.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from states.catalogue import label
from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _

evidence_app = typer.Typer(
    help="Evidence of postings: fetch, check and keep the pages (docs/evidence.md).", no_args_is_help=True
)
AS = typer.Option(..., "--as", envvar="SANTONGBU_USER", help="Your login (the acting user).")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@evidence_app.command("check")
@common.command
def check(
    json_: bool = JSON,
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Pages at most (default: SANTONGBU_EVIDENCE_BATCH_SIZE)."
    ),
) -> None:
    """Fetch and check every publication and posting page due now (or as of the global --now),
    record each result with its audit event, keep the pages, email units whose page has been
    bad for a day. Safe while workers run."""
    ctx = common.context()
    run = ctx.services.evidence.check_due(limit=limit)
    lang = ctx.lang
    if json_:
        return common.emit_json([c.as_dict(lang) for c in run.checked])
    if not run.checked:
        typer.echo("没有到期需核验的网页" if lang == "zh" else "no page due for a check")
    for c in run.checked:
        reasons = "; ".join(r.text(lang) for r in c.reasons)
        flag = f" [{c.change}]" if c.change in ("changed", "disappeared") else ""
        note = (
            ""
            if c.recorded
            else (" (已由其他核验进程记录)" if lang == "zh" else " (recorded by another checker)")
        )
        typer.echo(
            f"#{c.document_id} {c.channel:<11} {label('evidence', c.status, lang)}{flag}"
            f"{': ' + reasons if reasons else ''}  {c.url}{note}"
        )


@evidence_app.command("show")
@common.command
def show(
    check_id: int = typer.Argument(..., help="The check's id (evidence.check_id in 'doc show --json')."),
    as_: str = AS,
    json_: bool = JSON,
    page: bool = typer.Option(False, "--page", help="Print the kept page's bytes as fetched."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the kept WARC record (.warc.gz) to this file."
    ),
) -> None:
    """One check: what was fetched, what was found, and the kept page (readers of the document)."""
    ctx = common.context()
    shown = ctx.services.evidence.show(as_, check_id)
    if output is not None:
        if shown.warc_path is None:
            common.fail("no page was kept for this check" if ctx.lang == "en" else "该次核验没有留存网页")
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shown.warc_path, output)
        typer.echo(_("wrote {output} (sha256 {p1})", output=output, p1=shown.check["sha256"]))
        return
    if page:
        if shown.body is None:
            common.fail("no page was kept for this check" if ctx.lang == "en" else "该次核验没有留存网页")
        typer.echo(shown.body, nl=False)  # bytes are written as they are
        return
    if json_:
        return common.emit_json({**shown.check, "warc": shown.warc_path, "kept_headers": shown.headers})
    c = shown.check
    for key in (
        "id",
        "document_id",
        "posting_id",
        "channel",
        "url",
        "final_url",
        "checked_at",
        "status",
        "http_status",
        "content_type",
        "size",
        "sha256",
        "title",
        "page_date",
        "claimed_at",
        "change",
        "next_check_at",
    ):
        typer.echo(f"{key:<14} {c.get(key) if c.get(key) is not None else '-'}")
    for r in c["reasons"]:
        typer.echo(_("reason         {p0}", p0=r["message"]))
    typer.echo(f"{'kept':<14} {shown.warc_path or '-'}")


def register(app: typer.Typer) -> None:
    app.add_typer(evidence_app, name="evidence")
