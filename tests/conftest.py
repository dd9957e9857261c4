"""Shared fixtures: real SQLite and PostgreSQL databases, an injected clock, settings.

PostgreSQL tests run in a database of their own (created for this pytest run and dropped at
the end), so parallel runs never see each other's rows. If a server is missing the test
fails with the command that starts it; nothing is skipped and nothing is faked.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from tests.robot_secrets import key_file
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database, normalise_url
from workflow.kernel.settings import Settings

# Tests act "as of" chosen instants, through the CLI's --now too (workflow/kernel/attribution.py).
os.environ.setdefault("SANTONGBU_ALLOW_CLOCK_OVERRIDE", "true")
PG_ADMIN_URL = os.environ.get("SANTONGBU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SANTONGBU_TEST_REDIS", "redis://127.0.0.1:6379/0")
SHANGHAI = ZoneInfo("Asia/Shanghai")
PG_HINT = (
    "PostgreSQL is not reachable at {url}: start it with "
    "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' "
    "or point SANTONGBU_TEST_PG at a server ({error})"
)


def shanghai(*args: int) -> datetime:
    """A wall-clock instant in Asia/Shanghai, the way clerks write them."""
    return datetime(*args, tzinfo=SHANGHAI)


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")


@contextmanager
def fresh_pg_database(prefix: str = "t", *, template: str | None = None) -> Iterator[str]:
    """A PostgreSQL database of its own (optionally a copy of ``template``), dropped afterwards;
    yields its URL. Every test module that needs a private database goes through here, so a
    missing server fails the same way everywhere: with the command that starts it."""
    name = f"santongbu_{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = _pg_admin_engine()
    copy = f' TEMPLATE "{template}"' if template else ""
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    except Exception as exc:
        engine.dispose()
        pytest.fail(PG_HINT.format(url=PG_ADMIN_URL, error=exc), pytrace=False)
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def database_name(url: str) -> str:
    """The database part of a URL made by :func:`fresh_pg_database` (to use it as a template)."""
    return url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test run."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def pg_migrated(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    db.upgrade()
    yield db
    db.dispose()


def truncate_all(db: Database) -> None:
    """Empty every table, bypassing the append-only triggers (replica role skips triggers)."""
    from workflow.kernel.models import Base

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def pg_db(pg_migrated: Database) -> Database:
    truncate_all(pg_migrated)
    return pg_migrated


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "santongbu.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()  # closing the last connection checkpoints the WAL into the file we copy
    return path


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "santongbu.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Database:
    """Each test using this runs twice: on SQLite and on PostgreSQL."""
    return request.getfixturevalue("pg_db" if request.param == "postgresql" else "sqlite_db")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(shanghai(2024, 2, 5, 10, 0))


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db.url, mail_folder=tmp_path / "mail", language="zh", secrets_key_file=key_file(tmp_path)
    )
