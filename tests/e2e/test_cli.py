"""The command line end to end, the way a clerk, a signer and an administrator use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import SAMPLE
from workflow.entrypoints.cli.main import app

NOW = "2024-02-09T10:00+08:00"


@pytest.fixture
def cli(db, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Run ``santongbu`` in-process against the test database; returns (exit code, output)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANTONGBU_MAIL_FOLDER", str(tmp_path / "mail"))
    runner = CliRunner()

    def run(*args: str, now: str = NOW, lang: str = "zh") -> tuple[int, str]:
        result = runner.invoke(app, ["--db", db.url, "--now", now, "--lang", lang, *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    return run


def ok(result: tuple[int, str]) -> str:
    code, out = result
    assert code == 0, out
    return out


def test_a_document_from_draft_to_interpretation_posted(cli) -> None:  # type: ignore[no-untyped-def]
    ok(cli("unit", "import", str(SAMPLE)))
    out = ok(
        cli(
            "doc",
            "create",
            "--as",
            "liu.spc",
            "--title",
            "福州市网约车管理办法",
            "--number",
            "榕交〔2024〕5号",
            "--disclosure",
            "proactive",
            "--no-risk",
            "--body",
            "第一条 为规范…",
            "--json",
        )
    )
    doc = str(json.loads(out)["document_id"])
    ok(cli("doc", "prepare-plan", doc, "--as", "liu.spc"))
    code, out = cli("doc", "request-signoff", doc, "--as", "liu.spc")
    assert code == 2 and "缺少解读方案" in out and "Traceback" not in out
    ok(cli("doc", "edit", doc, "--as", "liu.spc", "--plan", "解读方案", "--interpreter", "liu.spc"))
    ok(cli("doc", "attach", doc, "--as", "liu.spc", "--form", "qa", "--title", "问答", "--body", "问:…答:…"))
    ok(cli("doc", "signers", doc, "chen.spc", "director", "--as", "liu.spc"))
    ok(cli("doc", "request-signoff", doc, "--as", "liu.spc"))
    assert "尚待签署:director" in ok(cli("doc", "sign", doc, "--as", "chen.spc"))
    ok(cli("doc", "sign", doc, "--as", "director"))
    ok(cli("doc", "publish", doc, "--as", "liu.spc", "--url", "https://jtj.fuzhou.example.cn/zcwj/5.htm"))
    shown = json.loads(ok(cli("doc", "show", doc, "--as", "liu.spc", "--json")))
    assert shown["state"] == "published"
    assert shown["due_at"] == "2024-02-20T23:59:59+08:00"  # JSON: the working zone (README, "Times")
    ok(
        cli(
            "doc",
            "post",
            doc,
            "--as",
            "liu.spc",
            "--channel",
            "portal",
            "--url",
            "https://jtj.fuzhou.example.cn/jd/5.htm",
            now="2024-02-19T10:00+08:00",
        )
    )
    out = ok(
        cli(
            "doc",
            "post",
            doc,
            "--as",
            "liu.spc",
            "--channel",
            "news_media",
            "--outlet",
            "福州日报",
            "--evidence",
            "2024-02-19 第2版",
            now="2024-02-19T11:00+08:00",
            lang="en",
        )
    )
    assert "on time" in out and "interpretation posted" in out
    text = ok(cli("doc", "show", doc, "--as", "lin.zfc"))
    assert "解读发布" in text and "时间线:" in text and "登记解读发布" in text
    listed = json.loads(
        ok(cli("doc", "list", "--as", "lin.zfc", "--state", "interpretation_posted", "--json"))
    )
    assert [d["id"] for d in listed] == [int(doc)]
    verify = json.loads(ok(cli("audit", "verify", "--json")))
    assert verify["ok"] is True and verify["events"] > 10


def test_user_mistakes_give_one_line_and_change_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    ok(cli("unit", "import", str(SAMPLE)))
    code, out = cli("doc", "create", "--as", "nobody", "--title", "x")
    assert code == 2 and out.strip() == "没有用户 nobody"
    code, out = cli("doc", "show", "42", "--as", "liu.spc", lang="en")
    assert code == 2 and out.strip() == "no document with id 42"
    code, out = cli("doc", "create", "--as", "liu.spc", "--title", "x", "--disclosure", "secret", lang="en")
    assert code == 2 and "disclosure is invalid" in out
    code, out = cli(
        "doc", "publish", "1", "--as", "liu.spc", "--url", "https://x.example.cn", "--at", "yesterday"
    )
    assert code == 2 and "ISO 8601" in out
    code, out = cli("unit", "add", "new", "--name", "新处", "--as", "liu.spc", lang="en")
    assert code == 2 and "not an administrator" in out
    code, out = cli(
        "user",
        "add",
        "bad",
        "--name",
        "x",
        "--unit",
        "spc",
        "--email",
        "a@b\nBcc: c@d",
        "--as",
        "admin",
        lang="en",
    )
    assert code == 2 and "email" in out
    assert json.loads(ok(cli("doc", "list", "--as", "lin.zfc", "--json"))) == []
    users = json.loads(ok(cli("user", "list", "--as", "admin", "--json")))
    assert "bad" not in {u["login"] for u in users}


def test_an_import_is_all_or_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[units]]\ncode = "a"\nname = "甲"\n[[users]]\nlogin = "root"\nname = "R"\nunit = "a"\nroles = "admin"\n'
        '[[users]]\nlogin = "x"\nname = "X"\nunit = "missing"\n',
        encoding="utf-8",
    )
    code, out = cli("unit", "import", str(bad), lang="en")
    assert code == 2 and "no unit missing" in out
    code, out = cli("unit", "list", "--as", "root", lang="en")  # nobody was imported, not even root
    assert code == 2 and out.strip() == "no user root"


def test_diagram_names_every_state_and_trigger(cli) -> None:  # type: ignore[no-untyped-def]
    from states.lifecycle import State, Trigger

    out = ok(cli("diagram"))
    assert out.lstrip("-\n ").startswith("title") or "stateDiagram-v2" in out
    for state in State:
        assert state.value in out
    for trigger in Trigger:
        assert trigger.value in out


def test_the_console_script_runs_and_hides_tracebacks(tmp_path: Path) -> None:
    env = {**os.environ, "SANTONGBU_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    exe = Path(sys.executable).with_name("santongbu")
    help_ = subprocess.run([str(exe), "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert help_.returncode == 0 and "doc" in help_.stdout and "audit" in help_.stdout
    bad = subprocess.run(
        [str(exe), "--db", "mysql://x", "doc", "list", "--as", "a"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (
        bad.returncode == 2
        and "配置错误:SANTONGBU_DATABASE_URL" in bad.stderr
        and "Traceback" not in bad.stderr
    )


@pytest.mark.parametrize(
    "args",
    [["doc", "list", "--as", "liu.spc"], ["audit", "verify"]],
    ids=["doc list", "audit verify"],
)
def test_a_database_never_set_up_is_one_line_saying_db_upgrade(tmp_path: Path, args: list[str]) -> None:
    """The slip of a first day: a command in a folder where `db upgrade` never ran."""
    env = {**os.environ, "SANTONGBU_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}
    exe = Path(sys.executable).with_name("santongbu")
    run = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        f"数据库 sqlite:///{tmp_path / 'never.db'} 尚未初始化:请先运行 santongbu db upgrade"
    ]


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/none"
    exe = Path(sys.executable).with_name("santongbu")
    run = subprocess.run(
        [str(exe), "--db", url, "--lang", "en", "doc", "list", "--as", "liu.spc"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr and "s3cret" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("cannot reach the database postgresql+psycopg://postgres:***@127.0.0.1:1/none: ")


def test_an_administrator_sets_a_web_password_from_stdin(cli, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from workflow.kernel.clock import FixedClock
    from workflow.services.accounts import Accounts

    ok(cli("unit", "import", str(SAMPLE)))
    runner = CliRunner()
    base = ["--db", db.url, "--now", NOW, "user", "password", "liu.spc", "--password-stdin"]
    refused = runner.invoke(app, [*base, "--as", "liu.spc"], input="Correct-Horse-42\n")
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    weak = runner.invoke(app, [*base, "--as", "admin"], input="liu.spc\n")
    assert weak.exit_code != 0 and "密码不被接受:至少 10 个字符" in weak.output
    done = runner.invoke(app, [*base, "--as", "admin"], input="Correct-Horse-42\n")
    assert done.exit_code == 0, done.output
    assert "Correct-Horse-42" not in done.output
    accounts = Accounts(db, FixedClock(datetime(2024, 2, 9, 2, 0, tzinfo=UTC)))
    assert accounts.sign_in("liu.spc", "Correct-Horse-42") is not None
    assert accounts.sign_in("liu.spc", "wrong-password-1") is None


def test_refusals_are_one_plain_sentence(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A PNG as --body-file, a body over SANTONGBU_MAX_TEXT_BYTES, a second 文号, and an edit
    that changes nothing: each one line that says what happened, never a Python message."""
    ok(cli("unit", "import", str(SAMPLE)))
    png = tmp_path / "scan.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    create = ("doc", "create", "--as", "liu.spc", "--title", "福州市网约车管理办法")
    code, out = cli(*create, "--body-file", str(png), lang="en")
    assert code == 2 and out.strip().endswith(
        "is not a text file (it looks like a PNG file); give a UTF-8 text file"
    )
    assert "codec" not in out and "Traceback" not in out
    latin = tmp_path / "gbk.txt"
    latin.write_bytes("第一条".encode("gbk"))
    code, out = cli(*create, "--body-file", str(latin))
    assert code == 2 and "不是 UTF-8 编码的文本" in out
    big = tmp_path / "big.txt"
    big.write_text("字" * (700 * 1024), encoding="utf-8")  # 2.1 MB of UTF-8 > 2 MiB
    code, out = cli(*create, "--body-file", str(big), lang="en")
    assert code == 2 and "larger than the limit of 2 MiB (SANTONGBU_MAX_TEXT_BYTES)" in out

    first = json.loads(ok(cli(*create, "--number", "榕交〔2024〕5号", "--json")))["document_id"]
    code, out = cli(*create, "--number", "榕交〔2024〕5号")
    assert code == 2 and out.strip() == (
        f"文号 榕交〔2024〕5号 已被文件 {first} 使用;如确需重复,请明确说明:命令行加 --allow-duplicate-number,"
        '接口传 "allow_duplicate_number": true,或在页面上勾选文号旁的"确系有意"'
    )
    ok(cli(*create, "--number", "榕交〔2024〕5号", "--allow-duplicate-number"))

    out = ok(cli("doc", "edit", str(first), "--as", "liu.spc", "--title", "福州市网约车管理办法", lang="en"))
    assert out.strip() == f"document {first}: nothing changed, nothing was written (version 1)"
