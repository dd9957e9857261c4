"""Importing documents in progress from the command line (with the template it writes) and
over HTTP (multipart upload), end to end."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.api_support import api_env
from tests.factories import SAMPLE
from workflow.entrypoints.cli.main import app

NOW = "2024-02-20T12:00+08:00"


def run(db, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["--db", db.url, "--now", NOW, *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_template_then_import_from_the_command_line(db, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    assert run(db, "unit", "import", str(SAMPLE))[0] == 0
    code, out, _ = run(db, "doc", "import-template", "在办文件.xlsx")
    assert code == 0 and "必填:标题, 单位代码, 状态" in out
    ws = load_workbook(tmp_path / "在办文件.xlsx").worksheets[0]
    assert ws["A1"].value == "标题" and ws["A2"].value == "福州市网约车经营服务管理实施细则"
    # The example row as written is a published document: import it as it stands.
    code, out, _ = run(db, "doc", "import", "在办文件.xlsx", "--as", "admin", "--dry-run")
    assert code == 0 and "将导入 1 份文件(公开 1);未写入任何内容" in out
    code, out, _ = run(db, "doc", "import", "在办文件.xlsx", "--as", "admin", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["count"] == 1 and report["by_state"] == {"published": 1}
    code, out, _ = run(db, "doc", "show", str(report["documents"][0]), "--as", "liu.spc", "--json")
    assert json.loads(out)["state"] == "published"
    code, out, err = run(db, "doc", "import", "在办文件.xlsx", "--as", "admin")
    assert code == 2 and "row 2: doc_number" in err and "already in the database" in err
    assert "Traceback" not in out + err
    assert run(db, "doc", "import-template", "t.csv")[0] == 0
    assert (tmp_path / "t.csv").read_bytes().startswith("\ufeff标题".encode())


def _csv(number: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [["标题", "文号", "单位代码", "状态"], ["福州市停车管理办法", number, "spc", "起草"]]
    )
    return buffer.getvalue().encode("gbk")


def test_import_over_http(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with api_env(db, tmp_path / "mail") as env:
        http = env.client("admin")
        done = http.post(
            "/documents/import", files={"file": ("在办.csv", _csv("榕交〔2024〕90号"), "text/csv")}
        )
        assert done.status_code == 201, done.text
        assert done.json()["by_state"] == {"draft": 1} and len(done.json()["documents"]) == 1
        dry = http.post(
            "/documents/import",
            params={"dry_run": "true"},
            files={"file": ("在办.csv", _csv("榕交〔2024〕91号"), "text/csv")},
        )
        assert dry.status_code == 201 and dry.json()["documents"] == []
        bad = http.post(
            "/documents/import", files={"file": ("在办.csv", _csv("榕交〔2024〕90号"), "text/csv")}
        )
        assert bad.status_code == 422 and "row 2: doc_number" in bad.text
        assert (
            http.post("/documents/import", files={"file": ("x.pdf", b"%PDF", "application/pdf")}).status_code
            == 422
        )
        big = http.post(
            "/documents/import", files={"file": ("big.csv", b"x" * (21 * 1024 * 1024), "text/csv")}
        )
        assert big.status_code == 413
        clerk = env.client("clerk").post(
            "/documents/import", files={"file": ("在办.csv", _csv("榕交〔2024〕92号"), "text/csv")}
        )
        assert clerk.status_code == 403
