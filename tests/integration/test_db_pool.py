"""The PostgreSQL pool pings a connection only after it sat idle (issue 20).

``pool_pre_ping`` paid a round trip on every checkout — two per HTTP trigger. Now a connection
used a moment ago goes straight to work, and one idle for ``ping_after_idle`` seconds or more is
pinged first and replaced if the ping fails. Idle time is moved forward by patching the module's
clock, not by sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from workflow.kernel import db as db_module
from workflow.kernel.db import Database

pytestmark = pytest.mark.postgres


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(db_module, "_now", c)
    return c


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every ping the pool sends (the dialect's own ``do_ping``, counted and passed through)."""
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    seen: list[object] = []
    real = PGDialect_psycopg.do_ping

    def counted(self, dbapi_connection):  # type: ignore[no-untyped-def]
        seen.append(dbapi_connection)
        return real(self, dbapi_connection)

    monkeypatch.setattr(PGDialect_psycopg, "do_ping", counted)
    return seen


@pytest.fixture
def pooled(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url, pool_size=1, ping_after_idle=30)
    yield db
    db.dispose()


def backend_pid(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(pg_url: str, pid: int) -> None:
    other = Database(pg_url)
    try:
        with other.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            conn.commit()
    finally:
        other.dispose()


def test_a_connection_in_steady_use_is_not_pinged(
    pooled: Database, clock: Clock, pings: list[object]
) -> None:
    first = backend_pid(pooled)
    for _ in range(5):
        clock.now += 29  # under the idle limit each time, far over it in total
        assert backend_pid(pooled) == first
        with pooled.transaction() as session:
            session.execute(text("SELECT 1"))
    assert pings == []


def test_an_idle_connection_is_pinged_once_then_used(
    pooled: Database, clock: Clock, pings: list[object]
) -> None:
    first = backend_pid(pooled)
    clock.now += 31
    assert backend_pid(pooled) == first  # the ping succeeded: same connection
    assert len(pings) == 1
    assert backend_pid(pooled) == first
    assert len(pings) == 1  # used a moment ago: not pinged again


def test_an_idle_connection_cut_meanwhile_is_replaced_without_an_error(
    pooled: Database, pg_url: str, clock: Clock, pings: list[object]
) -> None:
    first = backend_pid(pooled)
    terminate(pg_url, first)  # as a server restart or an idle timeout would
    clock.now += 31
    with pooled.transaction() as session:
        second = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert second != first and len(pings) == 1


def test_a_connection_cut_in_steady_use_fails_once_then_the_pool_recovers(
    pooled: Database, pg_url: str, clock: Clock, pings: list[object]
) -> None:
    """The price of not pinging every checkout: the transaction that meets a connection cut
    while in use fails (as one in flight would); the pool is invalidated and the next works."""
    first = backend_pid(pooled)
    terminate(pg_url, first)
    clock.now += 1
    with pytest.raises(OperationalError), pooled.transaction() as session:
        session.execute(text("SELECT 1"))
    assert backend_pid(pooled) != first
    assert pings == []
