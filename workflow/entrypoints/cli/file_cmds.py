"""Material files on the command line: ``doc attach --file`` with any file (text goes in as the
material's text, an image, video, PDF, DOCX, XLSX or PPTX as its file), ``doc replace-file`` and
``doc download`` (commands of the ``doc`` group)."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from workflow.entrypoints.cli import common, doc_cmds
from workflow.entrypoints.cli.common import _


def replace_file(
    doc_id: int = typer.Argument(...),
    material_id: int = typer.Argument(...),
    file: Path = typer.Option(..., "--file", help="The new file (image, video, PDF, DOCX, XLSX, PPTX)."),
    if_version: int | None = doc_cmds.IF_VERSION,
    as_: str = doc_cmds.AS,
    json_: bool = doc_cmds.JSON,
) -> None:
    """Replace a material's file; the package changes, so every signature on it is voided."""
    try:
        fh = file.open("rb")
    except OSError as exc:
        common.fail(_("--file: cannot read {file}: {p1}", file=file, p1=common.os_problem(exc)))
    with fh:
        outcome = common.context().services.workflow.replace_file(
            as_, doc_id, material_id, source=fh, filename=file.name, expected_version=if_version
        )
    doc_cmds._done(outcome, json_, _("material {id}: file replaced", id=material_id))


def download(
    doc_id: int = typer.Argument(...),
    material_id: int = typer.Argument(...),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to write it (default: its name, here)."
    ),
    as_: str = doc_cmds.AS,
) -> None:
    """Save a material's file (whoever may read the document; a refusal is audited)."""
    got = common.context().services.workflow.read_file(as_, doc_id, material_id)
    target = output or Path(got.name)
    if target.is_dir():
        target = target / got.name
    try:
        with got.open() as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
    except OSError as exc:
        common.fail(_("cannot write {target}: {p1}", target=target, p1=common.os_problem(exc)))
    typer.echo(
        _(
            "{size} bytes ({mime}) written to {target}; sha256 {sha256}",
            size=got.size,
            mime=got.mime,
            target=target,
            sha256=got.sha256,
        )
    )


def register(app: typer.Typer) -> None:
    doc_cmds.doc_app.command("replace-file")(common.command(replace_file))
    doc_cmds.doc_app.command("download")(common.command(download))
