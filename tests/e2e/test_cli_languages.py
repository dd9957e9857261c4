"""A whole CLI session in each language: help, usage mistakes, refusals, success lines, lists
and fact blocks. In Chinese (the default) no English sentence appears; in English no Chinese
appears outside the data the session typed in or imported.

Runs the CLI the way the console script does (:func:`workflow.entrypoints.cli.localize.run`:
the language is settled from the command line or the environment before the help is built).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.factories import SAMPLE
from workflow.entrypoints.cli.localize import run
from workflow.entrypoints.cli.main import app

NOW = "2024-02-09T10:00+08:00"
TITLE = "福州市网约车管理办法"

# (arguments, expected exit status) in the order a clerk meets them; {db} is filled in.
SESSION: list[tuple[list[str], int]] = [
    (["--help"], 0),
    (["doc", "--help"], 0),
    (["doc", "create", "--help"], 0),
    (["report", "overdue", "--help"], 0),
    (["doc", "create"], 2),
    (["doc", "create", "--title", "x", "--bogus", "--as", "liu.spc"], 2),
    (["doc", "show", "abc", "--as", "liu.spc"], 2),
    (["frobnicate"], 2),
    (["doc", "list", "--limit", "0", "--as", "liu.spc"], 2),
    (["db", "upgrade"], 0),
    (["unit", "import", str(SAMPLE)], 0),
    (
        [
            "doc",
            "create",
            "--as",
            "liu.spc",
            "--title",
            TITLE,
            "--number",
            "榕交〔2024〕5号",
            "--disclosure",
            "proactive",
            "--no-risk",
            "--body",
            "第一条",
        ],
        0,
    ),
    (["doc", "create", "--as", "liu.spc", "--title", "   "], 2),
    (["doc", "create", "--as", "liu.spc", "--title", "x", "--disclosure", "secret"], 2),
    (["doc", "prepare-plan", "1", "--as", "liu.spc"], 0),
    (["doc", "request-signoff", "1", "--as", "liu.spc"], 2),
    (["doc", "edit", "1", "--as", "liu.spc"], 2),
    (["doc", "publish", "1", "--as", "liu.spc", "--at", "yesterday"], 2),
    (["doc", "show", "1", "--as", "liu.spc"], 0),
    (["doc", "show", "42", "--as", "liu.spc"], 2),
    (["doc", "list", "--as", "liu.spc"], 0),
    (["doc", "search", "网约车", "--as", "lin.zfc"], 0),
    (["user", "list", "--as", "audit.cs"], 0),
    (["user", "list", "--as", "liu.spc"], 2),
    (["unit", "list", "--as", "liu.spc"], 0),
    (["token", "list", "--as", "admin"], 0),
    (["token", "list", "--as", "liu.spc"], 2),
    (["token", "list", "--as", "nobody"], 2),
    (["outbox", "list", "--as", "admin"], 0),
    (["outbox", "list", "--status", "lost", "--as", "admin"], 2),
    (["report", "on-time", "--period", "2024-Q5", "--as", "audit.cs"], 2),
    (["deadline", "--published", "2024-02-09"], 0),
    (["deadline", "--published", "2024-02-30"], 2),
    (["calendar", "show", "2024"], 0),
]

# Words that are names, not sentences: commands, settings, file formats, product names.
ALLOWED = re.compile(
    r"santongbu[ \w\-.]*|celery -A workers \w+|apt-get install graphviz|pip install graphviz"
    r"|https?://\S+|sqlite:///\S+|\S+@\S+|'[^']*'|`[^`]*`|\$ .*|--[a-z][a-z\-]*",
)
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ \-][A-Za-z]{2,}){2,}\b")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, lang_args: list[str]):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANTONGBU_ALLOW_CLOCK_OVERRIDE", "true")
    monkeypatch.setenv("SANTONGBU_MAIL_FOLDER", str(tmp_path / "mail"))
    monkeypatch.delenv("SANTONGBU_LANGUAGE", raising=False)
    monkeypatch.delenv("SANTONGBU_USER", raising=False)
    db = f"sqlite:///{tmp_path / 'session.db'}"
    outputs = []
    for args, expected in SESSION:
        code = run(app, ["--db", db, "--now", NOW, *args, *lang_args], env={})
        captured = capsys.readouterr()
        out = captured.out + captured.err
        assert code == expected, (args, out)
        assert ("Traceback" not in out and "╭" not in out.split("Usage")[0]) or "--help" in args, (args, out)
        if expected == 2:
            assert len(captured.err.strip().splitlines()) == 1, (args, captured.err)
        outputs.append((args, out))
    return outputs


def test_a_chinese_session_has_no_english_sentence(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    found = []
    for args, out in _session(tmp_path, monkeypatch, capsys, []):
        for line in out.splitlines():
            rest = ALLOWED.sub(" ", line)
            for m in ENGLISH_SENTENCE.finditer(rest):
                found.append((" ".join(args[:3]), m.group(0), line.strip()))
    assert not found, "\n".join(map(str, found))


def _data() -> list[str]:
    """Chinese that is data: what the session typed and what the sample bureau holds."""
    bureau = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    values = [TITLE, "榕交〔2024〕5号", "网约车", "第一条"]
    for kind in ("units", "users"):
        for row in bureau.get(kind, []):
            values.extend(str(v) for v in row.values() if isinstance(v, str) and CJK.search(v))
    return sorted(set(values), key=len, reverse=True)


# An English help text may gloss a Chinese term once, in parentheses: "document number (文号)".
GLOSS = re.compile(r"\([^()]*[\u4e00-\u9fff][^()]*\)|\bSantongbu \(三同步\)|[\u4e00-\u9fff]+(?=\))")


def test_an_english_session_has_no_chinese_outside_data(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    data = _data()
    found = []
    for args, out in _session(tmp_path, monkeypatch, capsys, ["--lang", "en"]):
        for line in out.splitlines():
            rest = line
            for value in data:
                rest = rest.replace(value, " ")
            if "--help" in args:
                rest = GLOSS.sub(" ", rest)
            if CJK.search(rest):
                found.append((" ".join(args[:3]), line.strip()))
    assert not found, "\n".join(map(str, found))


def test_lang_goes_before_or_after_the_subcommand_and_the_environment_sets_it(capsys) -> None:  # type: ignore[no-untyped-def]
    for args, env in (
        (["--lang", "en", "doc", "create"], {}),
        (["doc", "create", "--lang", "en"], {}),
        (["doc", "create", "--lang=en"], {}),
        (["doc", "create"], {"SANTONGBU_LANGUAGE": "en"}),
    ):
        assert run(app, args, env=env) == 2
        assert capsys.readouterr().err == "missing option --title (see santongbu doc create --help)\n"
    assert run(app, ["doc", "create", "--lang", "zh"], env={"SANTONGBU_LANGUAGE": "en"}) == 2
    assert capsys.readouterr().err == "缺少选项 --title(见 santongbu doc create --help)\n"
    assert run(app, ["doc", "create", "--lang", "fr"], env={}) == 2
    assert "zh" in capsys.readouterr().err


def test_help_is_translated_with_readable_value_words(capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(app, ["doc", "create", "--help"], env={}) == 0
    zh = capsys.readouterr().out
    assert "政策文件标题。" in zh and "显示本帮助并退出。" in zh and "用法:" in zh
    assert "<str>" not in zh and "<bool>" not in zh and "文本" in zh
    assert run(app, ["doc", "create", "--help", "--lang", "en"], env={}) == 0
    en = capsys.readouterr().out
    assert "Title of the policy" in en and "TEXT" in en and "<str>" not in en
