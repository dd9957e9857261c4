"""The three imports (units, users, documents in progress) read files as offices save them:
CSV in GBK (Excel on Chinese Windows), in UTF-8 with or without a BOM, and ``.xlsx``; a file
with bad rows is refused listing every one with its row number, exit 2, never a traceback.
Through the real CLI, on files these tests write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from tests.factories import SAMPLE
from workflow.entrypoints.cli.main import app
from workflow.services.table_files import FileProblem, decode_text

UNITS = [["code", "name", "kind", "mailbox"], ["ysc", "运输处", "drafting", "ysc@jtj.example.cn"]]
USERS = [
    ["login", "name", "unit", "email", "roles"],
    ["wang.ysc", "王科员", "ysc", "wang@jtj.example.cn", "member"],
]


def _csv(path: Path, rows: list[list[str]], encoding: str) -> Path:
    path.write_bytes("\r\n".join(",".join(r) for r in rows).encode(encoding) + b"\r\n")
    return path


def _xlsx(path: Path, rows: list[list[str]]) -> Path:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    env = {"SANTONGBU_DATABASE_URL": f"sqlite:///{tmp_path / 'office.db'}", "SANTONGBU_LANGUAGE": "en"}
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env)

    assert invoke("db", "upgrade").exit_code == 0
    assert invoke("unit", "import", str(SAMPLE)).exit_code == 0
    return invoke


def _directory(run) -> tuple[dict[str, str], dict[str, str]]:
    units = {u["code"]: u["name"] for u in json.loads(run("unit", "list", "--as", "admin", "--json").output)}
    users = {u["login"]: u["name"] for u in json.loads(run("user", "list", "--as", "admin", "--json").output)}
    return units, users


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_units_and_users_csv_in_every_encoding_excel_saves(run, tmp_path: Path, encoding: str) -> None:
    units = _csv(tmp_path / "units.csv", UNITS, encoding)
    result = run("unit", "import", str(units), "--as", "admin")
    assert result.exit_code == 0, result.output
    users = _csv(tmp_path / "users.csv", USERS, encoding)
    result = run("user", "import", str(users), "--as", "admin")
    assert result.exit_code == 0, result.output
    known_units, known_users = _directory(run)
    assert known_units["ysc"] == "运输处"
    assert known_users["wang.ysc"] == "王科员"


def test_units_and_users_from_a_workbook(run, tmp_path: Path) -> None:
    assert run("unit", "import", str(_xlsx(tmp_path / "处室.xlsx", UNITS)), "--as", "admin").exit_code == 0
    result = run("user", "import", str(_xlsx(tmp_path / "人员.xlsx", USERS)), "--as", "admin")
    assert result.exit_code == 0, result.output
    known_units, known_users = _directory(run)
    assert known_units["ysc"] == "运输处" and known_users["wang.ysc"] == "王科员"


def test_two_bad_rows_are_both_reported_and_nothing_is_written(run, tmp_path: Path) -> None:
    rows = [
        *UNITS,
        ["bad code", "办公室", "drafting", ""],
        ["ok2", "", "drafting", ""],
        ["ok3", "三处", "drafting", ""],
    ]
    result = run("unit", "import", str(_csv(tmp_path / "units_gbk.csv", rows, "gbk")), "--as", "admin")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "units_gbk.csv row 3: code" in result.output
    assert "units_gbk.csv row 4: name" in result.output
    assert "ysc" not in _directory(run)[0] and "ok3" not in _directory(run)[0]


def test_documents_in_progress_from_gbk_csv_with_every_bad_row_listed(run, tmp_path: Path) -> None:
    header = ["标题", "单位代码", "状态", "正文"]
    good = _csv(tmp_path / "在办.csv", [header, ["福州市停车场管理办法", "spc", "起草", "第一条 …"]], "gbk")
    result = run("doc", "import", str(good), "--as", "admin")
    assert result.exit_code == 0, result.output
    bad = [header, ["", "spc", "起草", "x"], ["福州市客运管理办法", "spc", "不存在的状态", "x"]]
    result = run("doc", "import", str(_csv(tmp_path / "坏.csv", bad, "gb18030")), "--as", "admin")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "row 2: title" in result.output and "row 3: state" in result.output


def test_a_file_that_is_not_text_is_one_sentence(run, tmp_path: Path) -> None:
    png = tmp_path / "units.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    result = run("unit", "import", str(png), "--as", "admin")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_decode_text_prefers_utf8_then_gb18030() -> None:
    text = "单位,处室 — 𠀀"  # the last character exists in GB 18030 only, not in GBK
    assert decode_text(text.encode("utf-8-sig")) == text
    assert decode_text(text.encode("gb18030")) == text
    with pytest.raises(FileProblem):
        decode_text(b"\xff\xfe\x00\xd8" * 50 + b"\x80\x81\xff" * 50)
