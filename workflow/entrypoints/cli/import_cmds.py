"""``santongbu doc import FILE`` and ``doc import-template FILE``: documents already in progress,
from an .xlsx or a .csv (UTF-8 or GBK), all or nothing (commands of the ``doc`` group)."""

from __future__ import annotations

import csv
from pathlib import Path

import typer

from states.catalogue import label
from workflow.entrypoints.cli import common, doc_cmds
from workflow.entrypoints.cli.common import _
from workflow.services.documents.import_rows import COLUMNS

EXAMPLE = {
    "title": "福州市网约车经营服务管理实施细则",
    "doc_number": "榕交〔2024〕12号",
    "unit": "spc",
    "state": "公开",
    "disclosure": "主动公开",
    "risk_assessment_needed": "否",
    "body": "第一条 为规范……",
    "plan": "解读方案:……",
    "interpreter": "liu.spc",
    "materials": "文字解读:政策解读;图解:一图读懂",
    "signers": "chen.spc;director",
    "published_at": "2024-02-09 10:00",
    "publication_url": "https://jtj.fuzhou.gov.cn/zcwj/5.htm",
    "portal_posted_at": "2024-02-19 10:00",
    "portal_url": "https://jtj.fuzhou.gov.cn/jd/5.htm",
}


def import_(
    path: Path = typer.Argument(
        ..., help=".xlsx, or .csv in UTF-8 or GBK; `doc import-template` writes one."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the whole file, write nothing."),
    as_: str = doc_cmds.AS,
    json_: bool = doc_cmds.JSON,
) -> None:
    """Import documents in progress, with their facts so far (administrators).

    The whole file is checked first and every problem listed with its row; one problem refuses
    the file. Each document's audit chain starts with an `imported` event; published documents
    get their deadline, and the next sweep escalates those already overdue.
    """
    report = common.context().services.workflow.import_documents(as_, path, dry_run=dry_run)
    if json_:
        return common.emit_json(report.as_dict())
    lang = common.context().lang
    states = ", ".join(f"{label('state', state, lang)} {n}" for state, n in sorted(report.by_state.items()))
    count = sum(report.by_state.values())
    if report.dry_run:
        typer.echo(
            _(
                "{name}: {count} document(s) would be imported ({states}); nothing written",
                name=path.name,
                count=count,
                states=states,
            )
        )
    else:
        ids = report.documents
        typer.echo(
            _(
                "{name}: {count} document(s) imported ({states}), ids {p3}–{p4}",
                name=path.name,
                count=count,
                states=states,
                p3=ids[0],
                p4=ids[-1],
            )
        )


def template(
    path: Path = typer.Argument(..., help="Where to write it: .xlsx or .csv (UTF-8 with BOM)."),
) -> None:
    """Write an import file with every column (Chinese headers) and one example row."""
    header = [zh for zh, _ in COLUMNS.values()]
    example = [EXAMPLE.get(key, "") for key in COLUMNS]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(header)
        ws.append(example)
        ws.freeze_panes = "A2"
        wb.save(path)
    elif path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows([header, example])
    else:
        common.fail(_("write an .xlsx or a .csv file"))
    typer.echo(
        _(
            "template written to {path} ({n} columns; required: {columns})",
            path=path,
            n=len(header),
            columns=", ".join(zh for zh, required in COLUMNS.values() if required),
        )
    )


def register(app: typer.Typer) -> None:
    doc_cmds.doc_app.command("import")(common.command(import_))
    doc_cmds.doc_app.command("import-template")(common.command(template))
