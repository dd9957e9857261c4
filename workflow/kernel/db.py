"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite has a single writer: every transaction here starts with ``BEGIN IMMEDIATE`` so that two
writers queue on the lock (with a busy timeout) instead of failing half-way with "database is
locked"; WAL lets readers carry on meanwhile. PostgreSQL uses READ COMMITTED and relies on the
compare-and-set of ``documents.version`` and on ``FOR UPDATE SKIP LOCKED`` where rows are claimed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"

# A pooled PostgreSQL connection is pinged before use only after it sat this long unused.
PING_AFTER_IDLE_SECONDS = 30.0
_IDLE_SINCE = "santongbu.idle_since"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` as users write it and pick the psycopg 3 driver for it."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    return url


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take transaction control away from the sqlite3 module so BEGIN IMMEDIATE is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A reader's snapshot (Database.snapshot) takes no write lock: WAL keeps its view.
        deferred = conn.get_execution_options().get("santongbu_snapshot")
        # On the driver's connection: through exec_driver_sql this took a third of an empty
        # transaction's time, on every command (issue 20).
        conn.connection.driver_connection.execute("BEGIN" if deferred else "BEGIN IMMEDIATE")


def _now() -> float:
    return time.monotonic()


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Test a pooled connection with a round trip only when it sat idle ``idle_seconds`` or more.

    ``pool_pre_ping=True`` pings on *every* checkout: one more round trip per transaction, two
    per HTTP trigger (the token look-up and the service each check one out), and half of the
    token look-up's time (issue 20). A connection handed back a moment ago is not the one a
    server restart, a firewall's idle timeout or ``idle_session_timeout`` has cut; one that
    waited half a minute may be. A failed ping raises :class:`DisconnectionError`, on which the
    pool discards the connection and checks out another (SQLAlchemy's documented "pessimistic"
    recipe). What is given up: a connection cut *while* in steady use (the server restarted
    under load) fails the transaction that meets it; SQLAlchemy then invalidates the whole pool,
    so the next transaction gets fresh connections — as for a transaction in flight when the
    server restarts.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):
        if record is not None:
            record.info[_IDLE_SINCE] = _now()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy):
        since = record.info.get(_IDLE_SINCE)
        if since is None or _now() - since < idle_seconds:
            return  # new (just connected) or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:
            raise exc.DisconnectionError(
                f"pooled connection failed its ping after idling: {error}"
            ) from error


class Database:
    """One engine and its session factory; the unit every service and test is handed."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        ping_after_idle: float = PING_AFTER_IDLE_SECONDS,
    ) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(self.url, echo=echo, connect_args={"timeout": 30})
            _sqlite_setup(self.engine)
        else:
            # No pool_pre_ping: a round trip per checkout. Ping only what sat idle (above).
            self.engine = create_engine(self.url, echo=echo, pool_size=pool_size, max_overflow=20)
            _ping_after_idle(self.engine, ping_after_idle)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back everything on any exception."""
        session = self.sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A long read that sees the database as of one instant without holding up writers
        (``audit verify`` compares documents with chains and must not see half a change):
        REPEATABLE READ on PostgreSQL, a deferred transaction (no write lock) under WAL on
        SQLite. Nothing is committed."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(santongbu_snapshot=True)
            else:
                conn.execution_options(isolation_level="REPEATABLE READ")
            txn = conn.begin()
            session = Session(bind=conn, expire_on_commit=False)
            try:
                yield session
            finally:
                session.close()
                txn.rollback()

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with Alembic (creates it from empty)."""
        from alembic import command

        command.upgrade(alembic_config(self), revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(db: Database):
    """An Alembic config pointing at our migrations and at this database's engine."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine
    return cfg
