"""The pages' guards over plain HTTP (no browser needed): CSRF on every form, the role rules
of docs/design.md §7, sign-in, the session cookie, and what happens without a secret key. Each runs
on SQLite and PostgreSQL against a real uvicorn server."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.factories import new_draft
from tests.web_support import PASSWORD, Session, live_server, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.entrypoints.api import create_app
from workflow.entrypoints.web import install
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, Document
from workflow.services.accounts import MAX_FAILURES, Accounts
from workflow.services.documents import Workflow

CLERK, OTHER_CLERK, SUPERVISOR = "liu.spc", "xu.kxc", "lin.zfc"


def state_of(db: Database, doc_id: int) -> tuple[str, int]:
    with db.transaction() as s:
        doc = s.get(Document, doc_id)
        return doc.state, doc.version


def events(db: Database, **where: object) -> list[AuditEvent]:
    with db.transaction() as s:
        stmt = select(AuditEvent)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEvent, key) == value)
        return list(s.scalars(stmt.order_by(AuditEvent.id)))


def test_a_forged_form_without_the_csrf_token_is_refused(db: Database, tmp_path: Path) -> None:
    with web_env(db, tmp_path, people=(CLERK,)) as env:
        wf = Workflow(env.db, env.clock, env.settings)
        doc = new_draft(wf)
        before = state_of(db, doc)
        clerk = Session(env.base_url)
        assert clerk.sign_in(CLERK).status_code == 303
        url = f"/web/documents/{doc}/fire/prepare_plan"
        attacker = Session(env.base_url)
        foreign_token = attacker.csrf("/web/login")  # a valid token, but of another session
        for forged in (
            {"version": str(before[1])},  # no token
            {"version": str(before[1]), "csrf_token": ""},
            {"version": str(before[1]), "csrf_token": "x" * 43},
            {"version": str(before[1]), "csrf_token": foreign_token},
        ):
            answer = clerk.post(url, forged)
            assert answer.status_code == 403, forged
            assert "安全令牌" in answer.text
            assert state_of(db, doc) == before
        assert not [e for e in events(db, document_id=doc) if e.action == "prepare_plan"]
        # The same form with the session's own token goes through: the refusal above was the token.
        token = clerk.csrf(f"/web/documents/{doc}")
        answer = clerk.post(url, {"version": str(before[1]), "csrf_token": token})
        assert answer.status_code == 303 and answer.headers["location"].startswith(
            f"/web/documents/{doc}?done=fire"
        )
        assert state_of(db, doc)[0] == "interpretation_plan"
        # A JSON body is no form: refused as well, even with the cookie.
        raw = clerk.client.post(url, json={"csrf_token": token}, headers=clerk._headers())
        assert raw.status_code == 403
        clerk.close(), attacker.close()


def test_sign_in_form_itself_needs_the_token(web_db: Database, tmp_path: Path) -> None:
    with web_env(web_db, tmp_path, people=None) as env:
        visitor = Session(env.base_url)
        visitor.get("/web/login")
        answer = visitor.post("/web/login", {"login": CLERK, "password": PASSWORD})
        assert answer.status_code == 403
        assert visitor.get("/web/documents").status_code == 303  # still not signed in
        visitor.close()


def test_a_clerk_cannot_open_or_change_another_units_draft(db: Database, tmp_path: Path) -> None:
    with web_env(db, tmp_path, people=(OTHER_CLERK, SUPERVISOR)) as env:
        wf = Workflow(env.db, env.clock, env.settings)
        doc = new_draft(wf, title="审批处内部草稿")
        before = state_of(db, doc)
        other = Session(env.base_url)
        other.sign_in(OTHER_CLERK)
        page = other.get(f"/web/documents/{doc}")
        assert page.status_code == 403
        assert "无权" in page.text and "审批处内部草稿" not in page.text
        refused = [e for e in events(db, document_id=doc, actor=OTHER_CLERK) if e.outcome == "refused"]
        assert [e.action for e in refused] == ["read"]
        for path in (f"/web/documents/{doc}/timeline", f"/web/documents/{doc}/timeline.csv"):
            assert other.get(path).status_code == 403
        # Not in their list either.
        assert "审批处内部草稿" not in other.get("/web/documents").text
        # A well-formed form with a valid token is still refused by the service, and audited.
        token = other.csrf("/web/documents")
        answer = other.post(f"/web/documents/{doc}/edit/text", {"csrf_token": token, "title": "篡改"})
        assert answer.status_code == 403 and "篡改" not in str(state_of(db, doc))
        assert state_of(db, doc) == before
        # Nor may a clerk see the dashboard or download reports; the supervisor may read the draft.
        assert other.get("/web/dashboard").status_code == 403
        assert other.get("/web/reports/ledger.csv").status_code == 403
        supervisor = Session(env.base_url)
        supervisor.sign_in(SUPERVISOR)
        page = supervisor.get(f"/web/documents/{doc}")
        assert page.status_code == 200 and "审批处内部草稿" in page.text
        assert "进入解读方案</button>" not in page.text  # reads, but no buttons: not the drafting unit
        other.close(), supervisor.close()


def test_session_cookie_is_secure_httponly_samesite(web_db: Database, tmp_path: Path) -> None:
    with web_env(web_db, tmp_path, people=None) as env:
        client = Session(env.base_url)
        assert client.sign_in(CLERK).status_code == 303
        cookie = [c for c in client.raw_set_cookies if c.startswith("santongbu_session=")][-1]
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
        assert PASSWORD not in cookie
        page = client.get("/web/documents")
        assert page.status_code == 200
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        # Signing in issued a new session: the anonymous cookie's token no longer works.
        client.close()


def test_sign_in_failures_are_throttled_and_audited(web_db: Database, tmp_path: Path) -> None:
    with web_env(web_db, tmp_path, people=None) as env:
        client = Session(env.base_url)
        for _ in range(MAX_FAILURES):
            answer = client.sign_in(CLERK, "wrong password 123")
            assert answer.status_code == 401 and "用户名或密码不正确" in answer.text
        assert client.sign_in(CLERK).status_code == 401  # locked for a while, even with the right one
        assert client.sign_in("nobody.here", PASSWORD).status_code == 401
        env.clock.advance(timedelta(minutes=16))
        assert client.sign_in(CLERK).status_code == 303
        logins = [e for e in events(web_db, action="sign_in")]
        assert [e.outcome for e in logins].count("refused") == MAX_FAILURES + 2
        assert logins[-1].outcome == "allowed" and logins[-1].actor == CLERK
        assert all(PASSWORD not in e.details and "wrong password 123" not in e.details for e in logins)
        client.close()


def test_pages_need_a_signed_in_user_and_a_new_password_ends_sessions(
    web_db: Database, tmp_path: Path
) -> None:
    with web_env(web_db, tmp_path, people=None) as env:
        visitor = Session(env.base_url)
        answer = visitor.get("/web/dashboard")
        assert answer.status_code == 303 and answer.headers["location"] == "/web/login?next=/web/dashboard"
        assert visitor.get("/").headers["location"] == "/web/"
        clerk = Session(env.base_url)
        clerk.sign_in(CLERK)
        assert clerk.get("/web/documents").status_code == 200
        Accounts(env.db, env.clock).set_password("admin", CLERK, "another good password")
        assert clerk.get("/web/documents").status_code == 303  # signed out by the change
        # Signing out ends the session too.
        clerk.sign_in(CLERK, "another good password")
        token = clerk.csrf("/web/documents")
        assert clerk.post("/web/logout", {"csrf_token": token}).headers["location"] == "/web/login?bye=1"
        assert clerk.get("/web/documents").status_code == 303
        visitor.close(), clerk.close()


def test_english_switch(web_db: Database, tmp_path: Path) -> None:
    with web_env(web_db, tmp_path, people=None) as env:
        client = Session(env.base_url)
        assert '<html lang="zh-CN">' in client.get("/web/login").text
        english = client.get("/web/login?lang=en")
        assert '<html lang="en">' in english.text and "Sign in" in english.text
        client.sign_in(CLERK)
        listing = client.get("/web/documents").text
        assert (
            '<html lang="en">' in listing and "Documents of 审批处" in listing and "New document" in listing
        )
        back = client.get("/web/lang/zh?next=/web/documents")
        assert back.headers["location"] == "/web/documents"
        assert "本处室文件" in client.get("/web/documents").text
        assert client.get("/web/lang/en?next=https://evil.example/").headers["location"] == "/web/"
        client.close()


def test_without_a_secret_key_the_pages_refuse_and_the_api_still_answers(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sqlite_db
    from tests.conftest import shanghai
    from workflow.kernel.settings import Settings

    monkeypatch.delenv("SANTONGBU_SECRET_KEY", raising=False)
    clock = FixedClock(shanghai(2024, 2, 5, 10, 0))
    settings = Settings(_env_file=None, database_url=db.url, mail_folder=tmp_path / "mail")
    app = create_app(db, clock, settings)
    install(app, db, clock, settings)
    with live_server(app) as url:
        page = httpx.get(url + "/web/login")
        assert page.status_code == 503 and "SANTONGBU_SECRET_KEY" in page.text
        assert "set-cookie" not in page.headers
        assert httpx.get(url + "/health").status_code in (200, 503)


def test_reports_download_as_csv_with_bom(web_db: Database, tmp_path: Path) -> None:
    with web_env(web_db, tmp_path, people=None) as env:
        auditor = Session(env.base_url)
        auditor.sign_in("audit.cs")
        answer = auditor.get("/web/reports/on-time.csv?period=2024")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert re.search(
            r'attachment; filename="santongbu-on-time-2024\.csv"', answer.headers["content-disposition"]
        )
        text = answer.content.decode("utf-8")
        assert text.startswith("\ufeff单位代码,单位,期间,")
        assert auditor.get("/web/reports/nonsense.csv").status_code == 303
        assert auditor.get("/web/reports/ledger.csv?period=2024-13").status_code == 422
        auditor.close()
