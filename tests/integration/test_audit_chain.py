"""The hash chain: tampering through raw SQL (edit, insert, delete, a whole history removed)
is found by verify, on SQLite and PostgreSQL. Append-only triggers, where a later migration
adds them, are bypassed here the way an attacker with owner rights would."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from tests.factories import CLERK, new_draft, seed_bureau, to_plan
from workflow.kernel import audit
from workflow.kernel.db import Database
from workflow.services.audit_admin import Checkpoint
from workflow.services.documents import Workflow


@pytest.fixture
def wf(db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    return Workflow(db, clock, settings)


def tamper(db: Database, sql: str, **params: object) -> None:
    """Raw SQL as someone with direct database access, around any append-only trigger."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            triggers = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name IN ('audit_events','audit_checkpoints')"
                )
            ]
            saved = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type='trigger' AND tbl_name IN ('audit_events','audit_checkpoints')"
                )
            ]
            for name in triggers:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
            conn.execute(text(sql), params)
            for ddl in saved:
                conn.exec_driver_sql(ddl)
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(sql), params)


def verify(db: Database) -> audit.VerifyReport:
    with db.transaction() as s:
        return audit.verify(s)


def test_intact_trail_verifies(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    to_plan(wf)
    report = verify(db)
    assert report.ok and report.events > 0 and report.chains >= 2


def test_an_edited_event_is_found_with_the_events_after_it(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    wf.edit_document(CLERK, doc, {"plan": "方案"})
    tamper(db, "UPDATE audit_events SET actor = 'someone.else' WHERE chain = :c AND seq = 1", c=f"doc:{doc}")
    report = verify(db)
    assert not report.ok
    [b] = report.breaks
    assert (b.chain, b.seq) == (f"doc:{doc}", 1) and "edited" in b.problem
    assert len(b.events_after) == 2  # prepare_plan and edit can no longer be trusted


def test_a_deleted_event_in_the_middle_is_found(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    wf.edit_document(CLERK, doc, {"plan": "方案"})
    tamper(db, "DELETE FROM audit_events WHERE chain = :c AND seq = 2", c=f"doc:{doc}")
    [b] = verify(db).breaks
    assert b.chain == f"doc:{doc}" and b.seq == 3 and "deleted" in b.problem


def test_a_deleted_last_event_is_found_by_the_head(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    tamper(db, "DELETE FROM audit_events WHERE chain = :c AND seq = 2", c=f"doc:{doc}")
    [b] = verify(db).breaks
    assert b.chain == f"doc:{doc}" and "head" in b.problem


def test_an_inserted_event_is_found(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    tamper(db, "UPDATE audit_events SET seq = seq + 1 WHERE chain = :c AND seq = 2", c=f"doc:{doc}")
    tamper(
        db,
        "INSERT INTO audit_events (chain, seq, at, actor, action, outcome, details, prev_hash, hash) "
        "SELECT chain, 2, at, 'forger', 'sign', 'allowed', '{}', hash, hash FROM audit_events "
        "WHERE chain = :c AND seq = 1",
        c=f"doc:{doc}",
    )
    [b] = verify(db).breaks
    assert b.chain == f"doc:{doc}" and b.seq == 2


def test_a_whole_history_removed_is_caught_by_the_checkpoint(wf: Workflow, db, clock) -> None:  # type: ignore[no-untyped-def]
    doc = new_draft(wf)
    with db.transaction() as s:
        audit.checkpoint(s, clock.now())
    tamper(db, "DELETE FROM audit_events WHERE chain = :c", c=f"doc:{doc}")
    tamper(db, "DELETE FROM audit_heads WHERE chain = :c", c=f"doc:{doc}")
    report = verify(db)
    # The chain is named missing, and the trail holds fewer events than the checkpoint counted.
    assert [(b.chain, b.kind) for b in report.breaks] == [(f"doc:{doc}", "missing"), ("trail", "count")]
    assert "checkpoint" in report.breaks[0].problem


def test_an_edited_checkpoint_is_found(wf: Workflow, db, clock) -> None:  # type: ignore[no-untyped-def]
    new_draft(wf)
    with db.transaction() as s:
        audit.checkpoint(s, clock.now())
    tamper(db, "UPDATE audit_checkpoints SET chain_count = 0, heads = '{}'")
    assert any(b.chain == "checkpoint" for b in verify(db).breaks)


@pytest.mark.postgres
def test_two_checkpoints_at_once_leave_one_chain(pg_db: Database, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two checkpoints written at the same moment (two beats, or ``santongbu audit checkpoint``
    while the beat's runs) on PostgreSQL, each in its own thread and transaction.

    To make them really overlap, a third transaction holds a SHARE lock on the checkpoint
    table: reads go through, inserts wait. Without the audit service's lock both would read
    the same last checkpoint, then insert two rows naming it as predecessor, and verify would
    report the checkpoint chain broken. With it, the second waits for the first to commit and
    chains to it.
    """
    from workflow.bootstrap import bootstrap
    from workflow.kernel.settings import Settings

    seed_bureau(pg_db, clock)
    settings = Settings(database_url=pg_db.url, mail_folder=tmp_path / "mail")
    services = bootstrap(settings, db=pg_db, clock=clock)
    new_draft(services.workflow)
    first = services.audit.checkpoint()
    results: list[object] = []

    def checkpoint() -> None:
        try:
            results.append(services.audit.checkpoint())
        except Exception as exc:
            results.append(exc)

    def waiting() -> int:
        with pg_db.engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
            )

    threads = [threading.Thread(target=checkpoint) for _ in range(2)]
    with pg_db.engine.connect() as holder, holder.begin():
        holder.execute(text("LOCK TABLE audit_checkpoints IN SHARE MODE"))
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while waiting() < 2:  # one on the table (about to insert), one on the checkpoint lock
            assert time.monotonic() < deadline, "the two checkpoints never got under way"
            time.sleep(0.05)
    for t in threads:
        t.join(20)
    assert all(isinstance(r, Checkpoint) for r in results), results
    report = verify(pg_db)
    assert report.ok, [b.as_dict() for b in report.breaks]
    assert report.checkpoints == 3
    with pg_db.transaction() as s:
        rows = s.execute(text("SELECT hash, prev_hash FROM audit_checkpoints ORDER BY id")).all()
    assert rows[0].hash == first.hash
    assert [r.prev_hash for r in rows[1:]] == [rows[0].hash, rows[1].hash]
