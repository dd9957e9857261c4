"""Every action attributed (workflow/kernel/attribution.py), on SQLite and PostgreSQL: the
channel and credential on events made through each interface — CLI, API, pages, worker and
the engine itself — the trail's channel filter, and the reserved names no person may take."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from tests.api_support import live_server
from tests.conftest import shanghai
from tests.factories import CLERK, new_draft, seed_bureau, to_published
from tests.web_support import Session, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.entrypoints.api import create_app
from workflow.entrypoints.cli.main import app as cli_app
from workflow.kernel import attribution, audit
from workflow.kernel.db import Database
from workflow.kernel.errors import Forbidden, InvalidInput
from workflow.kernel.models import AuditEvent, Unit, User
from workflow.services.directory import Directory
from workflow.services.documents import Workflow
from workflow.services.tokens import Tokens


def doc_events(db: Database, doc: int) -> list[AuditEvent]:
    with db.transaction() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.document_id == doc).order_by(AuditEvent.seq))
        )


def test_the_engine_acting_by_itself_is_the_system_channel(db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    doc = new_draft(Workflow(db, clock, settings))
    (event,) = doc_events(db, doc)
    assert (event.channel, event.credential, event.wall_at) == ("system", None, None)
    with db.transaction() as s:
        assert audit.verify(s).ok


def test_a_clock_override_records_the_real_time_and_is_hashed(db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    wf = Workflow(db, clock, settings)
    with attribution.acting("cli", "os:tester@host", clock_override=True):
        doc = new_draft(wf)
    (event,) = doc_events(db, doc)
    assert event.channel == "cli" and event.credential == "os:tester@host"
    assert event.wall_at is not None and event.wall_at.year >= 2025 and event.at == clock.now()
    with db.transaction() as s:
        assert audit.verify(s).ok


def test_cli_events_name_the_operating_system_user_and_filter_by_channel(
    db, clock, settings, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANTONGBU_MAIL_FOLDER", str(tmp_path / "mail"))
    runner = CliRunner()

    def cli(*args: str) -> str:
        result = runner.invoke(cli_app, ["--db", db.url, *args], env={"SANTONGBU_USER": "liu.spc"})
        assert result.exit_code == 0, result.output
        return result.output

    seed_bureau(db, clock)
    new_draft(Workflow(db, clock, settings))  # one event on the system channel
    out = json.loads(cli("doc", "create", "--title", "办法", "--json"))  # --as from SANTONGBU_USER
    (event,) = doc_events(db, out["document_id"])
    assert event.actor == "liu.spc" and event.channel == "cli"
    assert event.credential == attribution.os_credential() and event.wall_at is None  # no --now: real time
    assert attribution.current().channel == "system"  # the invocation's attribution ended with it
    rows = json.loads(
        runner.invoke(
            cli_app, ["--db", db.url, "audit", "events", "--channel", "cli", "--as", "audit.cs", "--json"]
        ).output
    )["rows"]
    assert rows and all(r["channel"] == "cli" for r in rows)
    assert {r["action"] for r in rows} == {"create"}
    everything = json.loads(
        runner.invoke(
            cli_app, ["--db", db.url, "audit", "events", "--as", "audit.cs", "--json", "--limit", "1000"]
        ).output
    )["rows"]
    assert all("channel" in r for r in everything) and {r["channel"] for r in everything} >= {"cli", "system"}
    refused = runner.invoke(
        cli_app, ["--db", db.url, "audit", "events", "--channel", "fax", "--as", "audit.cs"]
    )
    assert refused.exit_code == 2


def test_api_events_name_the_token(db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    secret, token = Tokens(db, clock).create("admin", CLERK, "attribution test")
    with live_server(create_app(db, clock, settings)) as url:
        answer = httpx.post(
            url + "/documents", json={"title": "办法"}, headers={"Authorization": f"Bearer {secret}"}
        )
        assert answer.status_code == 201, answer.text
        doc = answer.json()["document_id"]
        events = httpx.get(
            url + "/audit/events",
            params={"channel": "api"},
            headers={"Authorization": f"Bearer {Tokens(db, clock).create('admin', 'audit.cs')[0]}"},
        ).json()
    (event,) = doc_events(db, doc)
    assert (event.actor, event.channel, event.credential) == (CLERK, "api", f"token:{token['id']}")
    assert event.wall_at is not None  # the app serves on a FixedClock: a clock override
    assert [r["channel"] for r in events["rows"]] == ["api"]


def test_page_events_name_a_hash_of_the_session(web_db: Database, tmp_path: Path) -> None:
    with web_env(web_db, tmp_path, people=None) as env:
        clerk = Session(env.base_url)
        assert clerk.sign_in(CLERK).status_code == 303
        page = clerk.get("/web/documents/new")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        created = clerk.post("/web/documents", {"csrf_token": token, "title": "福州市网约车管理办法"})
        assert created.status_code == 303, created.text
        doc = int(created.headers["location"].split("/documents/", 1)[1].split("?", 1)[0])
        cookie = clerk.session_cookie
    (event,) = doc_events(web_db, doc)
    assert event.channel == "web" and event.credential.startswith("session:")
    assert cookie and event.credential[len("session:") :] not in cookie  # a hash, never the cookie
    with web_db.transaction() as s:
        sign_in = s.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in")).first()
    assert sign_in is not None and sign_in.channel == "web"


@pytest.mark.redis
def test_worker_events_name_the_worker(db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    from workers.app import make_app
    from workers.inprocess import running
    from workers.sweep_tasks import SWEEP_DEADLINES

    seed_bureau(db, clock)
    clock.set(shanghai(2024, 2, 9, 10, 0))
    doc = to_published(Workflow(db, clock, settings))
    clock.set(shanghai(2024, 2, 21, 10, 0))  # past the deadline: the sweep escalates
    app = make_app(
        settings.model_copy(update={"broker_url": "memory://"}), db=db, clock=clock, name="attr-test"
    )
    with running(app, beat=False, pool="threads", concurrency=1) as rt:
        before = rt.probe.count(SWEEP_DEADLINES)
        app.send_task(SWEEP_DEADLINES)
        rt.probe.wait(SWEEP_DEADLINES, before + 1, 60)
    escalations = [e for e in doc_events(db, doc) if e.action == "escalation"]
    assert escalations and all(
        e.channel == "worker" and e.credential.startswith("worker:") for e in escalations
    )
    assert all(e.wall_at is not None for e in escalations)  # the worker runs on a FixedClock


@pytest.mark.parametrize("login", ["system", "worker", "santongbu", "System"])
def test_reserved_names_are_refused_by_user_add_and_import(db, clock, tmp_path, login: str) -> None:  # type: ignore[no-untyped-def]
    directory = seed_bureau(db, clock)
    with pytest.raises(InvalidInput) as err:
        directory.add_user("admin", {"login": login, "name": "机器", "unit": "bgs", "roles": "admin"})
    assert "reserved" in err.value.message("en")
    path = tmp_path / "people.toml"
    path.write_text(f'[[users]]\nlogin = "{login}"\nname = "x"\nunit = "bgs"\n', encoding="utf-8")
    with pytest.raises(InvalidInput):
        directory.import_file("admin", path)
    with db.transaction() as s:
        assert s.scalars(select(User).where(User.login == login)).first() is None


def test_reserved_names_are_refused_by_the_cli_and_the_api(
    db, clock, settings, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    seed_bureau(db, clock)
    result = CliRunner().invoke(
        cli_app,
        [
            "--db",
            db.url,
            "user",
            "add",
            "system",
            "--name",
            "机器",
            "--unit",
            "bgs",
            "--roles",
            "admin",
            "--as",
            "admin",
        ],
    )
    assert result.exit_code == 2 and "为保留名称" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    secret, _ = Tokens(db, clock).create("admin", "admin")
    with live_server(create_app(db, clock, settings)) as url:
        answer = httpx.post(
            url + "/users",
            json={"login": "system", "name": "机器", "unit": "bgs", "roles": ["admin"]},
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert answer.status_code == 422, answer.text


def test_a_user_called_system_from_before_has_no_engine_powers(db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    """Rows written before the names were reserved: the flag, not the login, makes the engine."""
    seed_bureau(db, clock)
    with db.transaction() as s:
        unit = s.scalars(select(Unit.id).where(Unit.code == "spc")).one()
        s.execute(
            insert(User).values(
                login="system", name="冒名", unit_id=unit, roles="member", active=True, created_at=clock.now()
            )
        )
    secret, _ = Tokens(db, clock).create("admin", "system")
    with live_server(create_app(db, clock, settings)) as url:
        headers = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(url + "/users", headers=headers).status_code == 403
        assert httpx.post(url + "/tokens", json={"login": "admin"}, headers=headers).status_code == 403
    with pytest.raises(Forbidden):
        Directory(db, clock).update_user("system", "liu.spc", {"roles": "admin"})


def test_confirmations_and_corrections_through_the_api(db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    wf = Workflow(db, clock, settings)
    doc = to_published(wf)  # Mon 5 Feb 2024 10:00
    clock.set(shanghai(2024, 2, 8, 10, 0))
    wf.record_posting(
        CLERK, doc, channel="portal", url="https://p.example.cn/1", posted_at=shanghai(2024, 2, 6, 10, 0)
    )
    tokens = Tokens(db, clock)
    clerk = {"Authorization": f"Bearer {tokens.create('admin', CLERK)[0]}"}
    supervisor = {"Authorization": f"Bearer {tokens.create('admin', 'zheng.gk')[0]}"}
    with live_server(create_app(db, clock, settings)) as url:
        view = httpx.get(f"{url}/documents/{doc}", headers=clerk).json()
        assert view["claims_waiting"] == 1 and view["postings"][0]["awaiting_confirmation"] is True
        assert view["postings"][0]["recorded_at"] == "2024-02-08T10:00:00+08:00"
        body = {"what": "portal", "reason": "后台日志"}
        assert httpx.post(f"{url}/documents/{doc}/confirmations", json=body, headers=clerk).status_code == 403
        assert (
            httpx.post(f"{url}/documents/{doc}/confirmations", json=body, headers=supervisor).status_code
            == 200
        )
        fix = {"what": "portal", "reason": "网址写错", "url": "https://p.example.cn/2"}
        answer = httpx.post(f"{url}/documents/{doc}/corrections", json=fix, headers=clerk)
        assert answer.status_code == 200, answer.text
        earlier = {"what": "portal", "reason": "提前", "at": "2024-02-05T11:00:00+08:00"}
        refused = httpx.post(f"{url}/documents/{doc}/corrections", json=earlier, headers=clerk)
        assert refused.status_code == 403 and "correction_needs_supervisor" in refused.text
        view = httpx.get(f"{url}/documents/{doc}", headers=clerk).json()
    assert view["claims_waiting"] == 0 and view["postings"][0]["confirmed_by"] == "zheng.gk"
    assert [c["what"] for c in view["corrections"]] == ["portal"]
    assert {e["channel"] for e in view["timeline"] if e["action"] in ("confirm", "correct")} == {"api"}
