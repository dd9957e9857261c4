"""The directory and token listings on the command line name who is asking, and the services
decide by the same rules as for the API (``states.permissions``): an administrator lists every
token, anyone else only their own; the user list is for administrators, supervisors, auditors
and leaders; the unit list for anyone active. A refusal is one line, exit 2, and audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import SAMPLE
from workflow.entrypoints.cli.main import app
from workflow.kernel.models import AuditEvent

NOW = "2024-03-04T10:00+08:00"


@pytest.fixture
def cli(db, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANTONGBU_MAIL_FOLDER", str(tmp_path / "mail"))
    monkeypatch.delenv("SANTONGBU_USER", raising=False)
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        result = runner.invoke(app, ["--db", db.url, "--lang", "en", "--now", NOW, *args], env=env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    assert run("unit", "import", str(SAMPLE))[0] == 0
    for login in ("liu.spc", "lin.zfc"):
        assert run("token", "create", login, "--as", "admin")[0] == 0
    return run


def refused_line(result: tuple[int, str]) -> str:
    code, out = result
    assert code == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out, out
    return lines[0]


def last_refusal(db, actor: str) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        event = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.actor == actor, AuditEvent.outcome == "refused")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None, f"no refusal audited for {actor}"
        return event.action, [r["code"] for r in json.loads(event.details)["reasons"]]


def listed(result: tuple[int, str]) -> list[dict]:  # type: ignore[type-arg]
    code, out = result
    assert code == 0, out
    return json.loads(out)  # type: ignore[no-any-return]


def test_a_clerk_listing_every_token_is_refused_and_the_refusal_audited(db, cli) -> None:  # type: ignore[no-untyped-def]
    line = refused_line(cli("token", "list", "--as", "liu.spc"))
    assert line == "liu.spc may list only their own tokens"
    assert last_refusal(db, "liu.spc") == ("token_list", ["not_own_tokens"])
    refused_line(cli("token", "list", "--login", "lin.zfc", "--as", "liu.spc"))  # nor another's
    assert last_refusal(db, "liu.spc") == ("token_list", ["not_own_tokens"])


def test_a_clerk_lists_their_own_tokens_and_an_administrator_every_one(cli) -> None:  # type: ignore[no-untyped-def]
    own = listed(cli("token", "list", "--login", "liu.spc", "--as", "liu.spc", "--json"))
    assert [t["login"] for t in own] == ["liu.spc"]
    every = listed(cli("token", "list", "--json", env={"SANTONGBU_USER": "admin"}))  # --as from the env
    assert sorted(t["login"] for t in every) == ["lin.zfc", "liu.spc"]


def test_an_unknown_user_is_refused_in_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    for args in (["token", "list"], ["user", "list"], ["unit", "list"]):
        assert refused_line(cli(*args, "--as", "nobody")) == "no user nobody"


def test_the_lists_name_who_is_asking(cli) -> None:  # type: ignore[no-untyped-def]
    for args in (["token", "list"], ["user", "list"], ["unit", "list"]):
        code, out = cli(*args)
        assert code == 2 and "--as" in out, (args, out)


def test_the_user_list_is_for_supervisors_auditors_leaders_and_administrators(db, cli) -> None:  # type: ignore[no-untyped-def]
    assert refused_line(cli("user", "list", "--as", "liu.spc")) == (
        "liu.spc is neither a supervisor nor an auditor"
    )
    assert last_refusal(db, "liu.spc") == ("user_list", ["not_auditor"])
    for reader in ("admin", "audit.cs"):
        assert "liu.spc" in {u["login"] for u in listed(cli("user", "list", "--as", reader, "--json"))}


def test_any_active_user_lists_the_units_but_not_a_deactivated_one(db, cli) -> None:  # type: ignore[no-untyped-def]
    assert "spc" in {u["code"] for u in listed(cli("unit", "list", "--as", "liu.spc", "--json"))}
    assert cli("user", "set", "lin.zfc", "--inactive", "--as", "admin")[0] == 0
    assert refused_line(cli("unit", "list", "--as", "lin.zfc")) == "user lin.zfc is deactivated"
    assert last_refusal(db, "lin.zfc") == ("unit_list", ["inactive_user"])
