"""A real HTTP server for the API tests: uvicorn in a thread on a free loopback port.

Nothing is faked: requests go through a TCP socket, uvicorn's HTTP parser, FastAPI and the
services into a real SQLite or PostgreSQL database. The bureau is the sample one; every
persona of the role matrix gets a token of its own (and the clerk a second, revoked one).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from tests.conftest import shanghai, truncate_all
from tests.factories import seed_bureau
from tests.robot_secrets import key_file
from workflow.entrypoints.api import create_app
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent
from workflow.kernel.settings import Settings
from workflow.services.documents import Workflow
from workflow.services.tokens import Tokens

# The personas of docs/design.md §7, from the sample bureau.
PERSONAS: dict[str, str | None] = {
    "admin": "admin",  # administrator (unit bgs)
    "clerk": "liu.spc",  # member of the drafting unit spc
    "other_clerk": "xu.kxc",  # member of another drafting unit
    "signer": "sun.jgc",  # a signer named on the document, from another unit
    "supervisor": "lin.zfc",  # supervisor (政法处)
    "auditor": "audit.cs",  # auditor
    "anonymous": None,  # no token at all
    "revoked": "liu.spc",  # the clerk's revoked token
}


@contextmanager
def live_server(app: object) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<free port> until the block ends; yields the base URL."""
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # proxy_headers=False as `santongbu serve` runs it: forwarded headers are believed only from
    # SANTONGBU_TRUSTED_PROXIES (the app's own middleware), never by uvicorn on its own.
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",  # type: ignore[arg-type]
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class ApiEnv:
    """A served app over a seeded database, with a token per persona."""

    db: Database
    clock: FixedClock
    settings: Settings
    base_url: str
    tokens: dict[str, str] = field(default_factory=dict)
    revoked_token_id: int = 0
    scratch: dict[str, object] = field(default_factory=dict)
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        # One client for the whole module: building one costs ~0.2 s (its TLS context).
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    @property
    def wf(self) -> Workflow:
        return Workflow(self.db, self.clock, self.settings)

    def headers(self, persona: str, **extra: str) -> dict[str, str]:
        token = self.tokens.get(persona)
        return {**({"Authorization": f"Bearer {token}"} if token else {}), **extra}

    def client(self, persona: str | None = None, **headers: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers=self.headers(persona, **headers) if persona else headers,
            timeout=30,
        )

    def audit_count(self, *, actor: str | None = None, outcome: str | None = None) -> int:
        with self.db.transaction() as session:
            stmt = select(func.count()).select_from(AuditEvent)
            if actor is not None:
                stmt = stmt.where(AuditEvent.actor == actor)
            if outcome is not None:
                stmt = stmt.where(AuditEvent.outcome == outcome)
            return int(session.scalar(stmt) or 0)


@contextmanager
def module_database(request: pytest.FixtureRequest, folder: Path) -> Iterator[Database]:
    """The migrated, empty database a module-scoped fixture parametrised on ``sqlite`` /
    ``postgresql`` serves: the per-run PostgreSQL database emptied, or a copy of the SQLite
    template in ``folder`` (disposed of afterwards)."""
    if request.param == "postgresql":
        db: Database = request.getfixturevalue("pg_migrated")
        truncate_all(db)
        yield db
        return
    path = folder / "santongbu.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    db = Database(f"sqlite:///{path}")
    try:
        yield db
    finally:
        db.dispose()


@contextmanager
def api_env(db: Database, mail: Path) -> Iterator[ApiEnv]:
    """Seed the sample bureau into ``db`` (already migrated and empty), make the tokens, serve."""
    clock = FixedClock(shanghai(2024, 2, 5, 10, 0))  # Monday
    # The role matrix presents a revoked token and no token hundreds of times from 127.0.0.1:
    # not a guessing attack (the throttle has tests of its own, test_asvs_v2_authentication).
    settings = Settings(
        database_url=db.url,
        mail_folder=mail,
        blob_folder=mail.parent / "files",
        language="zh",
        secrets_key_file=key_file(mail.parent),
        throttle_address_failures=100_000,
    )
    seed_bureau(db, clock)
    tokens = Tokens(db, clock)
    env_tokens = {}
    for persona, login in PERSONAS.items():
        if login is not None:
            env_tokens[persona] = tokens.create("admin", login, f"test {persona}")[0]
    revoked_id = tokens.list("admin", "liu.spc")[0]["id"]
    assert tokens.list("admin", "liu.spc")[0]["name"] == "test revoked"
    tokens.revoke("admin", revoked_id)
    with live_server(create_app(db, clock, settings)) as url:
        env = ApiEnv(
            db=db,
            clock=clock,
            settings=settings,
            base_url=url,
            tokens=env_tokens,
            revoked_token_id=revoked_id,
        )
        try:
            yield env
        finally:
            env.http.close()
