"""OWASP ASVS 4.0.3, chapter V2 (authentication): sign-in throttling shared by every server
process, and API token authentication throttled and audited the same way.

Two tests run two real ``santongbu serve`` processes on one database and alternate between
them, because a throttle kept in each process's memory is exactly what they must catch. The
others run one in-process server with an injected clock, to walk through the delays. Client
addresses come from ``X-Forwarded-For``, believed because 127.0.0.1 is made a trusted proxy.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.api_support import live_server
from tests.web_support import PASSWORD, Session, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.entrypoints.api import create_app
from workflow.kernel import bursts
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent
from workflow.kernel.settings import Settings
from workflow.services.tokens import Tokens

CLERK = "liu.spc"
ROOT = Path(__file__).resolve().parents[2]
SANTONGBU = Path(sys.executable).with_name("santongbu")


def sign_in_events(db: Database, **details: str) -> list[dict[str, object]]:
    """The details of every ``sign_in`` event whose details contain ``details``."""
    with db.transaction() as s:
        rows = [
            json.loads(e.details) | {"_outcome": e.outcome, "_actor": e.actor}
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.action == "sign_in").order_by(AuditEvent.id)
            )
        ]
    return [r for r in rows if all(r.get(k) == v for k, v in details.items())]


def aggregated(db: Database, action: str, key: str) -> list[dict[str, object]]:
    with db.transaction() as s:
        rows = [
            json.loads(e.details)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.outcome == "refused")
                .order_by(AuditEvent.id)
            )
        ]
    return [r for r in rows if r.get("aggregated") and r.get("key") == key]


# --------------------------------------------------------------------------- two processes
@dataclass
class TwoServers:
    db: Database
    urls: list[str]

    def attempt(self, n: int, login: str, password: str, address: str) -> int:
        """One sign-in through server ``n % 2``, from ``address``; the status."""
        visitor = Session(self.urls[n % 2])
        visitor.client.headers["X-Forwarded-For"] = address
        try:
            return visitor.sign_in(login, password).status_code
        finally:
            visitor.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def two_servers(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoServers]:
    folder = tmp_path_factory.mktemp("two-servers")
    path = folder / "santongbu.db"
    shutil.copy(seeded_template, path)
    env = {
        **os.environ,
        "SANTONGBU_SECRET_KEY": secrets.token_urlsafe(48),
        "SANTONGBU_TRUSTED_PROXIES": "127.0.0.1",
        "SANTONGBU_MAIL_FOLDER": str(folder / "mail"),
        "SANTONGBU_DATABASE_URL": f"sqlite:///{path}",
    }
    procs, urls = [], []
    for _ in range(2):
        port = _free_port()
        procs.append(
            subprocess.Popen(
                [str(SANTONGBU), "serve", "--port", str(port)],
                cwd=folder,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        for url, proc in zip(urls, procs, strict=True):
            while True:
                try:
                    if httpx.get(url + "/web/login", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server died"
                assert time.monotonic() < deadline, "santongbu serve did not start"
                time.sleep(0.1)
        db = Database(f"sqlite:///{path}")
        yield TwoServers(db, urls)
        db.dispose()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def test_v2_2_1_the_account_limit_holds_across_two_server_processes(two_servers: TwoServers) -> None:
    """ASVS V2.2.1 (anti-automation against brute force): with two server processes on one
    database, ten wrong passwords for one account in a row get exactly five password checks
    (SANTONGBU_THROTTLE_ACCOUNT_FAILURES) before the rest are told to wait (429), whichever
    process answers. Kept in each process's memory, the count let ten checks through."""
    statuses = [two_servers.attempt(n, CLERK, "wrong password 123", "198.51.100.1") for n in range(10)]
    assert statuses == [401] * 5 + [429] * 5
    checked = sign_in_events(two_servers.db, why="wrong password", login=CLERK)
    assert len(checked) == 5 and all(e["address"] == "198.51.100.1" for e in checked)


def test_v2_2_1_one_address_cannot_guess_across_many_accounts(two_servers: TwoServers) -> None:
    """ASVS V2.2.1: a limit per client address too. Twelve logins, four guesses each, from one
    address across two processes: the first twenty (SANTONGBU_THROTTLE_ADDRESS_FAILURES) are
    checked, the other 28 wait. ASVS V7.1.x / V2.2.1: these anonymous failures are one
    aggregated audit event for the address, not 48 rows."""
    statuses = [
        two_servers.attempt(n, f"guess{n % 12:02d}", "password guess 1", "198.51.100.2") for n in range(48)
    ]
    assert statuses == [401] * 20 + [429] * 28
    assert (
        two_servers.attempt(0, "chen.spc", PASSWORD, "198.51.100.2") == 429
    )  # the address waits, even when right
    assert two_servers.attempt(1, "chen.spc", PASSWORD, "198.51.100.3") == 303  # another address does not
    assert not sign_in_events(two_servers.db, address="198.51.100.2")  # no row per attempt
    _flush(two_servers.db)
    [event] = aggregated(two_servers.db, "sign_in", "sign_in:198.51.100.2")
    assert event["count"] == 49
    assert event["why"] == {"unknown login": 20, "throttled": 29}


def _flush(db: Database) -> None:
    from workflow.kernel.clock import SystemClock

    bursts.flush(db, SystemClock().now(), timedelta(0), everything=True)


# --------------------------------------------------------------------------- one process, moved clock
def test_v2_2_1_malformed_logins_count_and_are_audited_once_per_address(
    web_db: Database, tmp_path: Path
) -> None:
    """ASVS V2.2.1 and V7.1.x: a malformed login (which never reaches a password check) counts
    against its address like any other failure, and 60 of them reusing one anonymous CSRF token
    leave one aggregated audit event per address and window, not 60 rows."""
    with web_env(web_db, tmp_path, people=None, throttle_address_failures=20) as env:
        visitor = Session(env.base_url)
        token = visitor.csrf("/web/login")
        statuses = [
            visitor.post(
                "/web/login", {"csrf_token": token, "login": "bad login!", "password": "x"}
            ).status_code
            for _ in range(60)
        ]
        assert statuses == [401] * 20 + [429] * 40
        assert sign_in_events(web_db) == []  # nothing yet: the window is open
        env.clock.advance(timedelta(seconds=61))
        visitor.post(
            "/web/login", {"csrf_token": token, "login": "bad login!", "password": "x"}
        )  # next window
        [event] = aggregated(web_db, "sign_in", "sign_in:127.0.0.1")
        assert event["count"] == 60 and event["why"] == {"malformed": 20, "throttled": 40}
        bursts.flush(web_db, env.clock.now() + timedelta(seconds=61), timedelta(seconds=60))
        assert [e["count"] for e in aggregated(web_db, "sign_in", "sign_in:127.0.0.1")] == [60, 1]
        visitor.close()


def test_v2_2_1_delays_double_and_a_stranger_cannot_lock_the_user_out(
    web_db: Database, tmp_path: Path
) -> None:
    """ASVS V2.2.1 ("soft lockouts ... ever increasing delays"): after five failures each
    further attempt waits 15 s, then 30 s, …; the right password works as soon as the wait is
    over (no lockout). Failures from a stranger's address do not delay the user at an address
    where they signed in before."""
    with web_env(web_db, tmp_path, people=None, trusted_proxies="127.0.0.1") as env:

        def attempt(address: str, password: str) -> int:
            visitor = Session(env.base_url)
            visitor.client.headers["X-Forwarded-For"] = address
            try:
                return visitor.sign_in(CLERK, password).status_code
            finally:
                visitor.close()

        desk, stranger, cafe = "203.0.113.10", "198.51.100.66", "198.51.100.77"
        assert attempt(desk, PASSWORD) == 303  # the user's usual address
        assert [attempt(stranger, "wrong password 1") for _ in range(6)] == [401] * 5 + [429]
        assert attempt(desk, PASSWORD) == 303  # not locked out at their desk
        assert attempt(cafe, PASSWORD) == 429  # a new address waits like the stranger
        env.clock.advance(timedelta(seconds=14))
        assert attempt(cafe, PASSWORD) == 429
        env.clock.advance(timedelta(seconds=1))
        assert attempt(stranger, "wrong password 1") == 401  # the sixth check, after 15 s
        env.clock.advance(timedelta(seconds=29))
        assert attempt(stranger, "wrong password 1") == 429  # now 30 s
        env.clock.advance(timedelta(seconds=1))
        assert attempt(cafe, PASSWORD) == 303  # a delay, never a lockout


def test_v2_2_1_api_token_failures_are_throttled_and_audited_per_address(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """ASVS V2.2.1 for the API: presented tokens that do not authenticate count against the
    client address; past SANTONGBU_THROTTLE_ADDRESS_FAILURES the answer is 429 with Retry-After,
    and the failures are one aggregated ``token_auth`` audit event per address and window. A
    valid token keeps working."""
    from tests.conftest import shanghai
    from tests.factories import seed_bureau
    from workflow.kernel.clock import FixedClock

    clock = FixedClock(shanghai(2024, 2, 5, 10, 0))
    settings = Settings(
        database_url=sqlite_db.url, mail_folder=tmp_path / "mail", throttle_address_failures=3
    )
    seed_bureau(sqlite_db, clock)
    good = Tokens(sqlite_db, clock, settings).create("admin", CLERK, "good")[0]
    with live_server(create_app(sqlite_db, clock, settings)) as url:

        def me(token: str) -> httpx.Response:
            return httpx.get(url + "/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)

        guesses = ["stb_" + secrets.token_urlsafe(32) for _ in range(4)] + ["not-a-token"]
        answers = [me(t) for t in guesses]
        assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
        assert re.fullmatch(r"[0-9]+", answers[3].headers["retry-after"])
        assert me(good).status_code == 200
        clock.advance(timedelta(seconds=61))
        bursts.flush(sqlite_db, clock.now(), timedelta(seconds=60))
    [event] = aggregated(sqlite_db, "token_auth", "token_auth:127.0.0.1")
    assert event["count"] == 5 and event["why"] == {"unknown": 4, "malformed": 1}
