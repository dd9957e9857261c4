"""Least privilege that holds (issue 15, part 4), on PostgreSQL: the application role of
docs/reports.md appends and checkpoints through the application, but cannot move a chain
head, append an event that does not follow it, or write a checkpoint that lies; an event it
forges that does follow the head is named by verify, because it lacks the key."""

from __future__ import annotations

import os
import re
import uuid

import pytest
from sqlalchemy import select, text

from tests.audit_support import keyring_in_use
from tests.factories import CLERK, seed_bureau, to_plan
from tests.integration.test_append_only import refused, role_sql
from workflow.kernel import audit
from workflow.kernel.audit_verify import VerifyOptions, verify
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, AuditHead
from workflow.kernel.settings import Settings
from workflow.services.audit_admin import AuditAdmin
from workflow.services.documents import Workflow


@pytest.fixture
def app_role(pg_db: Database):  # type: ignore[no-untyped-def]
    """The documented application role, set up with the docs' own SQL; its Database."""
    role = f"santongbu_app_t{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with pg_db.engine.begin() as conn:
        for statement in role_sql(role):
            conn.exec_driver_sql(statement)
    app_db = Database(re.sub(r"//[^@/]*@", f"//{role}@", pg_db.url))
    yield app_db
    app_db.dispose()
    with pg_db.engine.begin() as conn:
        conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
        conn.exec_driver_sql(f'DROP ROLE "{role}"')


def test_the_application_role_appends_but_cannot_move_a_head_or_write_a_false_checkpoint(
    pg_db: Database, app_role: Database, clock, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with keyring_in_use(tmp_path, clock) as keyring:
        seed_bureau(pg_db, clock)
        settings = Settings(database_url=app_role.url, mail_folder=tmp_path / "mail")
        wf = Workflow(app_role, clock, settings)
        doc = to_plan(wf)  # the application's appends, under the role: the trigger moves the heads
        wf.edit_document(CLERK, doc, {"plan": "解读方案", "interpreter": CLERK})
        done = AuditAdmin(app_role, clock, settings).checkpoint(export_dir=tmp_path / "anchors")
        assert done.id is not None and done.anchor is not None
        chain = f"doc:{doc}"
        with app_role.transaction() as s:
            head = s.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.chain == chain)).one()
            last = s.scalars(
                select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq.desc())
            ).first()
            assert (head.seq, head.hash) == (last.seq, last.hash)
        n = last.seq
        # A head cannot be written at all: not moved back, not forward, not removed, not made.
        for sql in (
            f"UPDATE audit_heads SET seq = seq - 1 WHERE chain = '{chain}'",
            f"UPDATE audit_heads SET hash = 'forged' WHERE chain = '{chain}'",
            f"DELETE FROM audit_heads WHERE chain = '{chain}'",
            "INSERT INTO audit_heads (chain, seq, hash) VALUES ('doc:999999', 1, 'x')",
            "TRUNCATE audit_heads",
        ):
            message = refused(app_role, sql)
            assert "permission denied" in message, (sql, message)
        # An event that does not follow the head is refused by the trigger.
        columns = "chain, seq, at, actor, action, outcome, details, prev_hash, hash"
        for seq, prev in ((n + 2, last.hash), (n + 1, "0" * 64), (n, last.prev_hash)):
            message = refused(
                app_role,
                f"INSERT INTO audit_events ({columns}) VALUES ('{chain}', {seq}, "
                f"now(), 'forger', 'publish', 'allowed', '{{}}', '{prev}', 'h')",
            )
            assert "does not follow the chain head" in message or "duplicate key" in message, message
        # A checkpoint that lies about the trail is refused, whoever writes it.
        with app_role.transaction() as s:
            cp = s.execute(text("SELECT hash, heads FROM audit_checkpoints ORDER BY id DESC LIMIT 1")).one()
        behind = cp.heads.replace(f'"{chain}":[{n},', f'"{chain}":[{n - 1},')
        assert behind != cp.heads
        for heads, prev, why in (
            ("{}", cp.hash, "drops a chain"),
            (behind, cp.hash, "names an event"),
            (cp.heads, "0" * 64, "does not chain"),
        ):
            message = refused(
                app_role,
                "INSERT INTO audit_checkpoints (at, heads, chain_count, prev_hash, hash) "
                f"VALUES (now(), '{heads}', 0, '{prev}', 'x')",
            )
            assert "audit checkpoint refused" in message and why in message, message
        # What the role can do: append an event that follows the head, hashed with the public
        # code. The head follows it; verify, with the key, names it.
        forged = {n: getattr(last, n) for n in audit.HASHED_FIELDS} | {
            "seq": n + 1,
            "prev_hash": last.hash,
            "actor": "forger",
            "action": "publish",
        }
        with app_role.engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO audit_events ({', '.join(audit.HASHED_FIELDS)}, hash) VALUES "
                    f"({', '.join(':' + n for n in audit.HASHED_FIELDS)}, :hash)"
                ),
                forged | {"hash": audit.event_hash(None, **forged)},
            )
        with app_role.snapshot() as s:
            report = verify(s, VerifyOptions(keyring=keyring, anchors=tmp_path / "anchors"))
        [b] = report.breaks
        assert (b.chain, b.seq) == (chain, n + 1) and "unkeyed" in b.problem
