"""OWASP ASVS 4.0.3, chapter V3 (session management), against a real uvicorn server.

Sessions are server-side (``web_sessions``): each test shows one way a session ends at once,
and that a copy of the cookie is worthless afterwards, whichever server process it is shown to.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.api_support import live_server
from tests.web_support import PASSWORD, Session, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.entrypoints.api import create_app
from workflow.entrypoints.cli.main import app as cli_app
from workflow.entrypoints.web import install
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, Document, WebSession
from workflow.services.accounts import Accounts
from workflow.services.directory import Directory

CLERK = "liu.spc"


def replay(base_url: str, cookie: str, path: str = "/web/documents") -> int:
    """GET ``path`` with nothing but a copied session cookie; the status."""
    import httpx

    return httpx.get(
        base_url + path, headers={"Cookie": f"santongbu_session={cookie}"}, timeout=30
    ).status_code


def documents(db: Database) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(Document)) or 0)


def test_v3_3_1_sign_out_ends_the_session_in_every_process(db: Database, tmp_path: Path) -> None:
    """ASVS V3.3.1: logout invalidates the session token, so that the back button or a
    downstream relying party does not resume an authenticated session. A cookie copied before
    sign-out and replayed afterwards reads nothing and changes nothing, on this server process
    and on a second one serving the same database."""
    with web_env(db, tmp_path, people=(CLERK,)) as env:
        other = create_app(env.db, env.clock, env.settings)
        install(other, env.db, env.clock, env.settings, secret=env.secret)
        with live_server(other) as second:
            clerk = Session(env.base_url)
            assert clerk.sign_in(CLERK).status_code == 303
            stolen = clerk.session_cookie
            assert stolen is not None
            assert replay(second, stolen) == 200  # the copy works while the session lives
            token = clerk.csrf("/web/documents/new")
            before = documents(db)
            assert clerk.post("/web/logout", {"csrf_token": token}).status_code == 303
            for base in (env.base_url, second):
                assert replay(base, stolen) == 303  # to the sign-in page
            # The copied cookie and its CSRF token cannot create a document either.
            import httpx

            answer = httpx.post(
                second + "/web/documents",
                headers={"Cookie": f"santongbu_session={stolen}"},
                data={
                    "csrf_token": token,
                    "title": "重放",
                    "doc_number": "x",
                    "disclosure": "proactive",
                    "risk": "no",
                    "body": "x",
                },
                timeout=30,
            )
            assert answer.status_code in (303, 403)
            assert documents(db) == before
            with db.transaction() as s:
                row = s.scalars(select(WebSession)).one()
                assert row.ended_why == "signed_out"
                outs = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "sign_out")))
                assert len(outs) == 1 and f'"session": "ws:{row.id_hash[:12]}"' in outs[0].details
            clerk.close()


def test_v3_2_1_v3_2_2_session_id_is_new_random_and_stored_as_a_digest(
    web_db: Database, tmp_path: Path
) -> None:
    """ASVS V3.2.1 (a new session token on authentication), V3.2.2 (at least 64 bits of
    entropy), V3.2.3 (stored only in a Secure, HttpOnly cookie) and V3.4.x: the cookie names a
    random session, never the user, and the database keeps only the id's SHA-256 digest."""
    from workflow.entrypoints.web.security import SessionCodec

    with web_env(web_db, tmp_path, people=None) as env:
        clerk = Session(env.base_url)
        clerk.get("/web/login")
        anonymous = clerk.session_cookie
        clerk.sign_in(CLERK)
        cookie = clerk.session_cookie
        assert cookie and cookie != anonymous
        data = SessionCodec(env.secret).loads(cookie)
        assert data is not None and data.signed_in and len(data.sid) >= 24  # 18 random bytes = 144 bits
        assert CLERK not in cookie
        with web_db.transaction() as s:
            row = s.scalars(select(WebSession)).one()
        assert row.id_hash == hashlib.sha256(data.sid.encode()).hexdigest() and data.sid not in row.id_hash
        assert row.address == "127.0.0.1" and row.ended_at is None
        flags = [c for c in clerk.raw_set_cookies if c.startswith("santongbu_session=")][-1].lower()
        assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags
        # The session's reference is what the audit trail names: the sign-in event carries it.
        with web_db.transaction() as s:
            event = s.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in")).one()
        assert f'"session": "{row.ref}"' in event.details and '"address": "127.0.0.1"' in event.details
        clerk.close()


def test_v3_3_2_idle_and_absolute_timeouts(web_db: Database, tmp_path: Path) -> None:
    """ASVS V3.3.2: re-authentication after a period of inactivity (session_idle_minutes,
    default 120) and after an absolute lifetime (session_hours, default 8)."""
    with web_env(web_db, tmp_path, people=None, sessions=None) as env:
        clerk = Session(env.base_url)
        clerk.sign_in(CLERK)
        env.clock.advance(timedelta(minutes=119))
        assert clerk.get("/web/documents").status_code == 200
        env.clock.advance(timedelta(minutes=119))  # active all along: not idle
        assert clerk.get("/web/documents").status_code == 200
        env.clock.advance(timedelta(minutes=121))
        assert clerk.get("/web/documents").status_code == 303  # idle
        clerk.sign_in(CLERK)
        for _ in range(8):
            env.clock.advance(timedelta(minutes=59))
            assert clerk.get("/web/documents").status_code == 200
        env.clock.advance(timedelta(minutes=9))  # 8 h 1 min after sign-in
        assert clerk.get("/web/documents").status_code == 303
        with web_db.transaction() as s:
            assert sorted(s.scalars(select(WebSession.ended_why))) == ["expired", "idle"]
        clerk.close()


def test_v3_3_3_a_new_password_deactivation_and_an_administrator_end_every_session(
    web_db: Database, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """ASVS V3.3.3 (a password change terminates the other sessions) and V3.3.4 (sessions can
    be ended): setting a password, deactivating the user and ``santongbu user end-sessions``
    each end all of the user's sessions at once; reactivation does not revive them."""
    with web_env(web_db, tmp_path, people=None) as env:
        accounts, directory = Accounts(env.db, env.clock, env.settings), Directory(env.db, env.clock)
        laptop, phone = Session(env.base_url), Session(env.base_url)

        def both_signed_in() -> None:
            for browser in (laptop, phone):
                assert browser.sign_in(CLERK).status_code == 303
                assert browser.get("/web/documents").status_code == 200

        def both_signed_out() -> None:
            for browser in (laptop, phone):
                assert browser.get("/web/documents").status_code == 303

        both_signed_in()
        accounts.set_password("admin", CLERK, PASSWORD)  # even the same password
        both_signed_out()

        both_signed_in()
        directory.update_user("admin", CLERK, {"active": False})
        both_signed_out()
        directory.update_user("admin", CLERK, {"active": True})
        assert laptop.get("/web/documents").status_code == 303  # not revived

        both_signed_in()
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(
            cli_app,
            [
                "--lang",
                "en",
                "--db",
                web_db.url,
                "--now",
                env.clock.now().isoformat(),
                "user",
                "end-sessions",
                CLERK,
                "--as",
                "admin",
            ],
        )
        assert result.exit_code == 0 and "2 web sessions of liu.spc ended" in result.output
        both_signed_out()
        refused = CliRunner().invoke(
            cli_app, ["--db", web_db.url, "user", "end-sessions", "admin", "--as", CLERK]
        )
        assert refused.exit_code != 0
        with web_db.transaction() as s:
            whys = sorted(s.scalars(select(WebSession.ended_why)))
            assert whys == ["deactivated"] * 2 + ["ended_by_admin"] * 2 + ["password"] * 2
            actions = [
                (e.action, e.outcome)
                for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "sessions_ended"))
            ]
            assert actions == [("sessions_ended", "allowed"), ("sessions_ended", "refused")]
        laptop.close(), phone.close()


# --------------------------------------------------------------------------- API tokens (V3.5)
def _api(db: Database, tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.conftest import shanghai
    from tests.factories import seed_bureau
    from workflow.kernel.clock import FixedClock
    from workflow.kernel.settings import Settings

    clock = FixedClock(shanghai(2024, 2, 5, 10, 0))
    settings = Settings(database_url=db.url, mail_folder=tmp_path / "mail")
    seed_bureau(db, clock)
    return clock, settings


def test_v3_5_deactivation_revokes_tokens_for_good(db: Database, tmp_path: Path) -> None:
    """ASVS V3.5.x / V2.10: a token is a credential like a session. Deactivating its user revokes
    it at once (audited with the ids); reactivating the user does not revive it."""
    import httpx

    from workflow.services.tokens import Tokens

    clock, settings = _api(db, tmp_path)
    tokens = Tokens(db, clock, settings)
    secret, view = tokens.create("admin", CLERK, "portal sync")
    with live_server(create_app(db, clock, settings)) as url:

        def me() -> int:
            return httpx.get(
                url + "/me", headers={"Authorization": f"Bearer {secret}"}, timeout=30
            ).status_code

        assert me() == 200
        Directory(db, clock).update_user("admin", CLERK, {"active": False})
        assert me() == 401
        Directory(db, clock).update_user("admin", CLERK, {"active": True})
        assert me() == 401
    [listed] = tokens.list("admin", CLERK)
    assert listed["revoked_by"] == "admin" and not listed["active"]
    with db.transaction() as s:
        changed = [
            e.details for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "user_changed"))
        ]
    assert f'"tokens_revoked": [{view["id"]}]' in changed[0]


def test_v3_5_tokens_expire_and_record_their_last_use(
    sqlite_db: Database, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """ASVS V3.5.x / V3.3.x for tokens: ``santongbu token create --expires 90d`` gives a token
    that stops working after 90 days; ``token list`` shows its expiry and when it was last used."""
    import json

    import httpx

    clock, settings = _api(sqlite_db, tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    now = clock.now().isoformat()
    made = runner.invoke(
        cli_app,
        [
            "--db",
            sqlite_db.url,
            "--now",
            now,
            "token",
            "create",
            CLERK,
            "--expires",
            "90d",
            "--as",
            "admin",
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert (
        created["expires_at"] == "2024-05-05T10:00:00+08:00"
    )  # 90 days after 2024-02-05 10:00 +08:00 (JSON in +08:00)
    bad = runner.invoke(
        cli_app, ["--db", sqlite_db.url, "token", "create", CLERK, "--expires", "soon", "--as", "admin"]
    )
    assert bad.exit_code != 0 and "90d" in bad.output
    with live_server(create_app(sqlite_db, clock, settings)) as url:

        def me() -> int:
            return httpx.get(
                url + "/me", headers={"Authorization": f"Bearer {created['token']}"}, timeout=30
            ).status_code

        clock.advance(timedelta(days=89, hours=23))
        assert me() == 200
        listing = runner.invoke(
            cli_app,
            ["--db", sqlite_db.url, "--now", clock.now().isoformat(), "token", "list", "--as", "admin"],
        )
        row = listing.output.splitlines()[-1]  # expires 2024-05-05, last used at 09:00 Beijing time
        assert "有效期" in listing.output and "有效   2024-05-05   2024-05-05 09:00+0800" in row
        clock.advance(timedelta(hours=1))
        assert me() == 401
    listing = runner.invoke(
        cli_app,
        ["--db", sqlite_db.url, "--now", clock.now().isoformat(), "token", "list", "--as", "admin", "--json"],
    )
    [view] = json.loads(listing.output)
    assert (
        view["active"] is False
        and view["revoked_at"] is None
        and view["last_used_at"].startswith("2024-05-05T09:00")
        and view["last_used_at"].endswith("+08:00")
    )


def test_old_sessions_and_throttle_keys_are_forgotten(web_db: Database, tmp_path: Path) -> None:
    """Housekeeping (the beat's flush-audit-bursts task): sessions ended 90 days ago and throttle
    keys without a failure for a day (and no success to remember) are deleted; live ones stay."""
    from workflow.kernel.models import AuthThrottle

    with web_env(web_db, tmp_path, people=None) as env:
        accounts = Accounts(env.db, env.clock, env.settings)
        old, live = Session(env.base_url), Session(env.base_url)
        old.sign_in(CLERK)
        old.post("/web/logout", {"csrf_token": old.csrf("/web/documents")})
        old.sign_in("nobody.here", "wrong password 1")
        env.clock.advance(timedelta(days=91))
        live.sign_in(CLERK)
        pruned = accounts.prune()
        assert pruned["sessions"] == 1 and pruned["throttle_keys"] >= 1
        with web_db.transaction() as s:
            assert [r.ended_at for r in s.scalars(select(WebSession))] == [None]
            keys = set(s.scalars(select(AuthThrottle.key)))
        assert "web:acct:nobody.here" not in keys and f"web:ok:{CLERK}|127.0.0.1" in keys
        old.close(), live.close()
