"""The audit trail is append-only in the database itself (migration 0004), and verify does not
depend on that: an owner who drops the triggers and edits a row is still caught.

Raw SQL through real connections, on SQLite and PostgreSQL; nothing is mocked.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from tests.conftest import fresh_pg_database
from tests.factories import CLERK, seed_bureau, to_plan
from workflow.entrypoints.cli.main import app
from workflow.kernel import audit
from workflow.kernel.db import Database
from workflow.kernel.models import AuditCheckpoint, AuditEvent
from workflow.services.documents import Workflow

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


def trail(db: Database, clock, settings) -> int:  # type: ignore[no-untyped-def]
    """A bureau, a document with a few events, and a checkpoint; returns the document id."""
    seed_bureau(db, clock)
    doc = to_plan(Workflow(db, clock, settings))
    with db.transaction() as s:
        audit.checkpoint(s, clock.now())
    return doc


def counts(db: Database) -> tuple[int, int]:
    with db.transaction() as s:
        return (
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            s.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0,
        )


def refused(db: Database, sql: str) -> str:
    """Run ``sql`` in its own transaction; it must fail. Returns the database's message."""
    with pytest.raises(DBAPIError) as err, db.engine.begin() as conn:
        conn.execute(text(sql))
    return str(err.value.orig)


def test_update_and_delete_of_audit_rows_are_refused(db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    doc = trail(db, clock, settings)
    before = counts(db)
    for sql in (
        f"UPDATE audit_events SET actor = 'someone.else' WHERE chain = 'doc:{doc}' AND seq = 1",
        "UPDATE audit_events SET details = '{}'",
        f"DELETE FROM audit_events WHERE chain = 'doc:{doc}' AND seq = 2",
        "DELETE FROM audit_events",  # SQLite's truncate
        "UPDATE audit_checkpoints SET heads = '{}'",
        "DELETE FROM audit_checkpoints",
    ):
        message = refused(db, sql)
        assert "append-only" in message, (sql, message)
    assert counts(db) == before
    with db.transaction() as s:
        report = audit.verify(s)
    assert report.ok and report.checkpoints == 1
    # Appending still works: the application goes on writing its trail.
    Workflow(db, clock, settings).edit_document(CLERK, doc, {"plan": "解读方案(修改)"})
    assert counts(db)[0] == before[0] + 1


def test_truncate_is_refused_on_postgresql(pg_db, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from workflow.kernel.settings import Settings

    settings = Settings(database_url=pg_db.url, mail_folder=tmp_path / "mail")
    trail(pg_db, clock, settings)
    before = counts(pg_db)
    for sql in (
        "TRUNCATE audit_events",
        "TRUNCATE audit_events RESTART IDENTITY CASCADE",
        "TRUNCATE audit_checkpoints",
        "TRUNCATE audit_heads, audit_events",
    ):
        message = refused(pg_db, sql)
        assert "append-only: TRUNCATE" in message, (sql, message)
    assert counts(pg_db) == before


# --------------------------------------------------------------------------- private databases
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def private_db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A database of this test's own: dropping a trigger must not leak into other tests."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_db")
        return
    with fresh_pg_database("ao") as url:
        db = Database(url)
        db.upgrade()
        yield db
        db.dispose()


def test_verify_finds_an_edit_made_after_dropping_the_trigger(
    private_db: Database, clock, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from workflow.kernel.settings import Settings

    db = private_db
    doc = trail(db, clock, Settings(database_url=db.url, mail_folder=tmp_path / "mail"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["--db", db.url, "--lang", "en", "audit", "verify"])
    assert result.exit_code == 0 and "audit trail intact" in result.stdout
    # Someone who owns the table removes the guard, then edits history.
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_events_append_only ON audit_events")
        conn.execute(
            text("UPDATE audit_events SET actor = 'director' WHERE chain = :c AND seq = 2"),
            {"c": f"doc:{doc}"},
        )
    result = runner.invoke(app, ["--db", db.url, "--lang", "en", "audit", "verify"])
    assert result.exit_code == 1, result.output
    assert f"BROKEN doc:{doc} at seq 2" in result.stdout and "edited" in result.stdout
    assert "audit trail BROKEN" in result.stdout


def test_the_migration_can_be_undone_and_redone(private_db: Database) -> None:
    from alembic import command

    from workflow.kernel.db import alembic_config

    db = private_db
    with db.engine.begin() as conn:
        # The first checkpoint chains to the genesis hash (0008 checks that on PostgreSQL).
        conn.execute(
            text(
                "INSERT INTO audit_checkpoints (at, heads, chain_count, prev_hash, hash) "
                f"VALUES (CURRENT_TIMESTAMP, '{{}}', 0, '{audit.GENESIS}', 'h')"
            )
        )
    command.downgrade(alembic_config(db), "0003_outbox")
    with db.engine.begin() as conn:  # no guard any more
        conn.execute(text("UPDATE audit_checkpoints SET heads = '[]'"))
    db.upgrade("0004_audit_guards")
    assert "append-only" in refused(db, "UPDATE audit_checkpoints SET heads = '{}'")


# --------------------------------------------------------------------------- the application role
def role_sql(role: str) -> list[str]:
    """The grant script of docs/reports.md (the block after its ``app-role-sql`` marker)."""
    found = re.search(r"<!-- app-role-sql -->\s*```sql\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert found, "docs/reports.md lost its application-role SQL block"
    body = "\n".join(line for line in found[1].splitlines() if not line.strip().startswith("--"))
    body = body.replace("santongbu_app", role).replace(":'password'", "NULL")
    return [s.strip() for s in body.split(";") if s.strip()]


def test_the_documented_application_role_works_and_cannot_rewrite_history(pg_db, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Run the service as a role set up exactly as docs/reports.md says: it works, and it can
    neither change audit rows nor switch the guard off."""
    from workflow.kernel.settings import Settings

    role = f"santongbu_app_t{os.getpid()}_{uuid.uuid4().hex[:6]}"
    seed_bureau(pg_db, clock)
    statements = role_sql(role)
    assert any("CREATE ROLE" in s for s in statements) and any("REVOKE" in s for s in statements)
    with pg_db.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    app_url = re.sub(r"//[^@/]*@", f"//{role}@", pg_db.url)
    app_db = Database(app_url)
    try:
        wf = Workflow(app_db, clock, Settings(database_url=app_url, mail_folder=tmp_path / "mail"))
        doc = to_plan(wf)
        wf.edit_document(CLERK, doc, {"plan": "解读方案", "interpreter": CLERK})
        with app_db.transaction() as s:
            audit.checkpoint(s, clock.now())
            assert audit.verify(s).ok
        for sql in (
            f"UPDATE audit_events SET actor = 'x' WHERE document_id = {doc}",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "DELETE FROM audit_checkpoints",
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
            "DROP TRIGGER audit_events_append_only ON audit_events",
            "SET session_replication_role = replica",
        ):
            message = refused(app_db, sql)
            assert "permission denied" in message or "must be owner" in message, (sql, message)
    finally:
        app_db.dispose()
        with pg_db.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')
