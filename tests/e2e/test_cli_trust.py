"""The trust rules on the command line: whose clock counts, who confirms, who acted through what.

The issue's drills end refused or not on time; a refused action exits 2 with one line.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.factories import SAMPLE
from workflow.entrypoints.cli.main import app

PUBLISHED = "2024-03-04T10:00+08:00"  # Monday


@pytest.fixture
def cli(db, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANTONGBU_MAIL_FOLDER", str(tmp_path / "mail"))
    runner = CliRunner()

    def run(*args: str, now: str | None = PUBLISHED, env: dict[str, str] | None = None) -> tuple[int, str]:
        head = ["--db", db.url, "--lang", "en"] + (["--now", now] if now else [])
        result = runner.invoke(app, [*head, *args], env=env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    return run


def ok(result: tuple[int, str]) -> str:
    code, out = result
    assert code == 0, out
    return out


def refused(result: tuple[int, str]) -> str:
    code, out = result
    assert code == 2, out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
    return out


def signed_document(cli) -> str:  # type: ignore[no-untyped-def]
    ok(cli("unit", "import", str(SAMPLE)))
    doc = str(
        json.loads(
            ok(
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
                    "--json",
                )
            )
        )["document_id"]
    )
    ok(cli("doc", "prepare-plan", doc, "--as", "liu.spc"))
    ok(cli("doc", "edit", doc, "--as", "liu.spc", "--plan", "解读方案", "--interpreter", "liu.spc"))
    ok(cli("doc", "attach", doc, "--as", "liu.spc", "--form", "qa", "--title", "问答", "--body", "问:…答:…"))
    ok(cli("doc", "signers", doc, "chen.spc", "director", "--as", "liu.spc"))
    ok(cli("doc", "request-signoff", doc, "--as", "liu.spc"))
    ok(cli("doc", "sign", doc, "--as", "chen.spc"))
    ok(cli("doc", "sign", doc, "--as", "director"))
    return doc


def test_now_is_refused_unless_the_installation_allows_clock_overrides(cli) -> None:  # type: ignore[no-untyped-def]
    ok(cli("unit", "import", str(SAMPLE)))
    out = refused(cli("unit", "list", "--as", "admin", env={"SANTONGBU_ALLOW_CLOCK_OVERRIDE": "false"}))
    assert "--now is refused" in out and "SANTONGBU_ALLOW_CLOCK_OVERRIDE" in out
    ok(cli("unit", "list", "--as", "admin", now=None, env={"SANTONGBU_ALLOW_CLOCK_OVERRIDE": "false"}))


def test_a_clerk_cannot_name_himself_the_only_signer(cli) -> None:  # type: ignore[no-untyped-def]
    ok(cli("unit", "import", str(SAMPLE)))
    doc = str(
        json.loads(
            ok(
                cli(
                    "doc",
                    "create",
                    "--as",
                    "liu.spc",
                    "--title",
                    "办法",
                    "--number",
                    "1",
                    "--disclosure",
                    "proactive",
                    "--no-risk",
                    "--json",
                )
            )
        )["document_id"]
    )
    out = refused(cli("doc", "signers", doc, "liu.spc", "--as", "liu.spc"))
    assert "liu.spc holds neither the signer nor the leader role" in out and "created this document" in out


def test_the_seventeen_day_drill_is_not_on_time_until_a_supervisor_confirms(cli) -> None:  # type: ignore[no-untyped-def]
    doc = signed_document(cli)
    ok(cli("doc", "publish", doc, "--as", "liu.spc", "--url", "https://jtj.fuzhou.example.cn/zcwj/5.htm"))
    later = "2024-03-21T16:00+08:00"  # seventeen days after publication
    for channel, where in (("portal", "--url"), ("news_media", "--evidence")):
        ok(
            cli(
                "doc",
                "post",
                doc,
                "--as",
                "liu.spc",
                "--channel",
                channel,
                where,
                "https://x.example.cn/5",
                "--at",
                "2024-03-05T10:00+08:00",
                now=later,
            )
        )
    shown = json.loads(ok(cli("doc", "show", doc, "--as", "liu.spc", "--json", now=later)))
    assert shown["state"] == "interpretation_posted" and shown["on_time"] is False
    for p in shown["postings"]:
        assert p["claimed_at"] == "2024-03-05T10:00:00+08:00" and p["recorded_at"].startswith(
            "2024-03-21T16:00"  # JSON instants are in the working zone (README, "Times")
        )
        assert p["confirmed_by"] is None and p["awaiting_confirmation"] is True
    text = ok(cli("doc", "show", doc, "--as", "liu.spc", now=later))
    assert "CLAIM AWAITING CONFIRMATION" in text
    refused(
        cli("doc", "confirm", doc, "--what", "portal", "--reason", "我确认", "--as", "liu.spc", now=later)
    )
    ok(cli("doc", "confirm", doc, "--what", "portal", "--reason", "后台日志", "--as", "zheng.gk", now=later))
    out = ok(
        cli(
            "doc",
            "confirm",
            doc,
            "--what",
            "news_media",
            "--reason",
            "报纸原件",
            "--as",
            "zheng.gk",
            now=later,
        )
    )
    assert "now on time" in out
    shown = json.loads(ok(cli("doc", "show", doc, "--as", "liu.spc", "--json", now=later)))
    assert shown["on_time"] is True and {p["confirmed_by"] for p in shown["postings"]} == {"zheng.gk"}


def test_publishing_two_years_back_needs_backdated(cli) -> None:  # type: ignore[no-untyped-def]
    doc = signed_document(cli)
    out = refused(
        cli(
            "doc",
            "publish",
            doc,
            "--as",
            "liu.spc",
            "--url",
            "https://jtj.example.cn/5.htm",
            "--at",
            "2022-03-04T10:00+08:00",
        )
    )
    assert "--backdated" in out
    ok(
        cli(
            "doc",
            "publish",
            doc,
            "--as",
            "liu.spc",
            "--url",
            "https://jtj.example.cn/5.htm",
            "--at",
            "2024-02-26T10:00+08:00",
            "--backdated",
        )
    )
    shown = json.loads(ok(cli("doc", "show", doc, "--as", "liu.spc", "--json")))
    assert shown["publication"]["awaiting_confirmation"] is True
    assert shown["publication"]["recorded_at"].startswith("2024-03-04T10:00")


def test_events_made_under_now_record_the_real_time_and_the_cli(cli) -> None:  # type: ignore[no-untyped-def]
    doc = signed_document(cli)
    shown = json.loads(ok(cli("doc", "show", doc, "--as", "liu.spc", "--json")))
    for event in shown["timeline"]:
        assert event["channel"] == "cli" and event["credential"].startswith("os:")
        assert event["clock_override"] is True and event["wall_at"][:4] >= "2025"


def test_a_correction_on_the_command_line(cli) -> None:  # type: ignore[no-untyped-def]
    doc = signed_document(cli)
    ok(cli("doc", "publish", doc, "--as", "liu.spc", "--url", "https://jtj.fuzhou.example.cn/zcwj/5.htm"))
    thursday = "2024-03-07T10:00+08:00"  # day 3: on time
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
            "https://x.example.cn/p",
            now=thursday,
        )
    )
    ok(
        cli(
            "doc",
            "post",
            doc,
            "--as",
            "liu.spc",
            "--channel",
            "news_media",
            "--evidence",
            "第3版",
            now=thursday,
        )
    )
    out = ok(
        cli(
            "doc",
            "correct",
            doc,
            "--what",
            "publication",
            "--at",
            "2024-03-01T10:00+08:00",
            "--reason",
            "实际3月1日公开",
            "--as",
            "liu.spc",
            now=thursday,
        )
    )
    # Due Wed 6 Mar, posted Thu 7 10:00: late, but Thu 7 was not over → less than 1.
    assert "now late by less than 1 working day" in out and "interpretation now due 2024-03-06" in out
    out = refused(
        cli(
            "doc",
            "correct",
            doc,
            "--what",
            "portal",
            "--at",
            "2024-03-05T10:00+08:00",
            "--reason",
            "提前",
            "--as",
            "liu.spc",
            now=thursday,
        )
    )
    assert "only a supervisor outside the unit" in out
    text = ok(cli("doc", "show", doc, "--as", "liu.spc", now=thursday))
    assert "corrected publication" in text and "by liu.spc: 实际3月1日公开" in text
    shown = json.loads(ok(cli("doc", "show", doc, "--as", "liu.spc", "--json", now=thursday)))
    assert shown["on_time"] is False and shown["corrections"][0]["before"]["published_at"].startswith(
        "2024-03-04T10:00"
    )
