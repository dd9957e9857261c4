"""Unit upkeep through the CLI (``unit set``, ``user history``) and the API (``PATCH
/units/{code}``, ``GET /users/{login}/history``), end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.api_support import ApiEnv, api_env
from tests.factories import SAMPLE
from tests.robot_secrets import key_file
from workflow.entrypoints.cli.main import app

NOW = "2024-02-09T10:00+08:00"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=cli-key-1"


def run(db, *args: str, input: str | None = None) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["--db", db.url, "--now", NOW, *args], input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_unit_set_from_the_command_line(db, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANTONGBU_SECRETS_KEY_FILE", str(key_file(tmp_path)))
    assert run(db, "unit", "import", str(SAMPLE))[0] == 0
    code, out = run(
        db,
        "unit",
        "set",
        "spc",
        "--head",
        "liu.spc",
        "--email",
        "spc2@jtj.example.cn",
        "--name",
        "行政审批处",
        "--supervising",
        "--as",
        "admin",
    )
    assert code == 0, out
    assert out.strip() == "处室 spc 已修改:supervising  mailbox=spc2@jtj.example.cn  head=liu.spc"
    # The webhook from stdin, so it stays out of the shell history; never printed back.
    code, out = run(
        db,
        "unit",
        "set",
        "spc",
        "--wecom-webhook",
        "-",
        "--wecom-events",
        "overdue,escalated",
        "--no-supervising",
        "--as",
        "admin",
        "--json",
        input=WECOM + "\n",
    )
    assert code == 0, out
    view = json.loads(out)
    assert view["kind"] == "drafting" and view["robots"]["wecom"] == {
        "events": ["overdue", "escalated"],
        "key": "…ey-1",  # the last characters only
    }
    assert "cli-key-1" not in out
    listed = run(db, "unit", "list", "--as", "admin")[1]
    assert "spc" in listed and "wecom=overdue,escalated(密钥 …ey-1)" in listed and "cli-key-1" not in listed

    # Both DingTalk credentials from stdin, one line each (webhook, then secret), as the README shows.
    code, out = run(
        db,
        "unit",
        "set",
        "zfc",
        "--dingtalk-webhook",
        "-",
        "--dingtalk-secret",
        "-",
        "--as",
        "admin",
        "--json",
        input="https://oapi.dingtalk.com/robot/send?access_token=tok9\nSECsecret9\n",
    )
    assert code == 0, out
    assert json.loads(out)["robots"]["dingtalk"] == {"events": None, "signed": True, "key": "…"}
    assert "tok9" not in out and "SECsecret9" not in out

    code, out = run(db, "unit", "set", "spc", "--head", "liu.spc", "--as", "liu.spc")
    assert code == 2 and "Traceback" not in out
    code, out = run(db, "unit", "set", "spc", "--dingtalk-secret", "oops", "--as", "admin")
    assert code == 2 and "SEC" in out

    assert run(db, "user", "set", "xu.kxc", "--unit", "spc", "--as", "admin")[0] == 0
    code, out = run(db, "user", "history", "xu.kxc", "--as", "audit.cs")
    assert code == 0, out
    lines = out.strip().splitlines()[2:]  # under the header and its rule
    assert [line.split()[0] for line in lines] == ["kxc", "spc"]
    assert lines[1].split()[-2:] == ["至今", "admin"]


@pytest.fixture
def served(db, tmp_path: Path) -> Iterator[ApiEnv]:  # type: ignore[no-untyped-def]
    with api_env(db, tmp_path / "mail") as env:
        yield env


def test_patch_units_and_user_history_over_http(served: ApiEnv) -> None:
    http = served.client("admin")
    response = http.patch(
        "/units/spc",
        json={
            "head": "liu.spc",
            "wecom_webhook": WECOM,
            "dingtalk_webhook": "https://oapi.dingtalk.com/robot/send?access_token=t",
            "dingtalk_secret": "SECxyz",
            "dingtalk_events": "escalated_high",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "code": "spc",
        "name": "审批处",
        "kind": "drafting",
        "mailbox": "spc@jtj.example.cn",
        "head": "liu.spc",
        "robots": {
            "wecom": {"events": None, "key": "…ey-1"},
            "dingtalk": {"events": ["escalated_high"], "signed": True, "key": "…"},
        },
    }
    assert "cli-key-1" not in http.get("/units").text and "SECxyz" not in http.get("/units").text
    bad = http.patch("/units/spc", json={"wecom_webhook": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"})
    assert bad.status_code == 422 and "key=" in bad.text
    assert http.patch("/units/nope", json={"name": "x"}).status_code == 404
    assert http.patch("/units/spc", json={"webhook": "x"}).status_code == 422  # unknown field, by name
    assert http.patch("/users/xu.kxc", json={"unit": "spc"}).status_code == 200
    history = http.get("/users/xu.kxc/history").json()
    assert [h["unit"] for h in history] == ["kxc", "spc"] and history[1]["until"] is None
