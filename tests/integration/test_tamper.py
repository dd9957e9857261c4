"""The tamper drill of issue 15, as tests, on SQLite and PostgreSQL.

Each tamper is done the way an insider with the owner's or superuser's rights would: raw SQL,
the triggers dropped (SQLite) or skipped (PostgreSQL replica mode), hashes recomputed with the
project's public code — but without the audit key, which lives outside the database. The trail
was keyed from the start, checkpointed and exported as a signed anchor; then a little more
happened (a document posted its interpretation, a new document was drafted). Verify, given the
key and the anchors, must name each tamper: the chain, the first broken link, what disagrees.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from tests.audit_support import (
    build_trail,
    insider,
    keyring_in_use,
    move_head,
    recompute_checkpoints,
    rehash,
    rows,
)
from tests.conftest import shanghai
from tests.factories import CLERK, to_plan
from workflow.kernel import audit
from workflow.kernel.audit_verify import Break, VerifyOptions, VerifyReport, verify
from workflow.kernel.auditkeys import load_public_keyring
from workflow.kernel.db import Database
from workflow.services.audit_admin import AuditAdmin
from workflow.services.documents import Workflow


@dataclass
class Drill:
    db: Database
    ids: dict[str, int]  # draft, plan, published (posted after the anchor), posted, late (new after it)
    folder: Path
    keyring: object

    def chain(self, name: str) -> str:
        return f"doc:{self.ids[name]}"

    def verify(self, *, secret: bool = True) -> VerifyReport:
        options = VerifyOptions(
            keyring=self.keyring if secret else None,
            anchors=self.folder / "anchors",  # type: ignore[arg-type]
            public=load_public_keyring(self.folder / "audit.key.pub"),
        )
        with self.db.snapshot() as s:
            return verify(s, options)


@pytest.fixture
def drill(db, clock, settings, tmp_path):  # type: ignore[no-untyped-def]
    previous = audit.use_keyring(None)
    with keyring_in_use(tmp_path, clock) as keyring:
        ids = build_trail(db, clock, settings)
        AuditAdmin(db, clock, settings).checkpoint(export_dir=tmp_path / "anchors")
        # After the last checkpoint and anchor: a posting completes one document, a new one is drafted.
        clock.set(clock.now() + timedelta(hours=1))
        wf = Workflow(db, clock, settings)
        wf.record_posting(
            CLERK, ids["published"], channel="portal", url="https://jtj.fuzhou.example.cn/jd/2.htm"
        )
        wf.record_posting(
            CLERK,
            ids["published"],
            channel="news_media",
            outlet="福建日报",
            url="https://fjrb.example.cn/2024-02-06/2.htm",
        )
        ids["late"] = to_plan(wf, title="福州市新起草管理办法")
        wf.edit_document(CLERK, ids["late"], {"plan": "解读方案"})
        d = Drill(db, ids, tmp_path, keyring)
        assert d.verify().ok, d.verify().as_dict()
        yield d
    audit.use_keyring(previous)


def finding(report: VerifyReport, chain: str) -> Break:
    found = [b for b in report.breaks if b.chain == chain]
    assert found, f"nothing found on {chain}: {report.as_dict()}"
    return found[0]


# ------------------------------------------------------------------ the tampers
def edit_mid_chain_rehash_move_head_recompute_checkpoints(d: Drill, conn: Connection) -> tuple[str, int, str]:
    chain = d.chain("posted")
    conn.execute(
        text("UPDATE audit_events SET actor = 'director' WHERE chain = :c AND seq = 3"), {"c": chain}
    )
    rehash(conn, chain, 3)
    recompute_checkpoints(conn)
    return chain, 3, "unkeyed event after keyed ones"


def rewrite_a_whole_anchored_chain_without_the_key(d: Drill, conn: Connection) -> tuple[str, int, str]:
    """Every event of the chain rehashed unkeyed, so no keyed event comes before the edit: the
    signed anchor's hash of the chain's head is what disagrees."""
    chain = d.chain("posted")
    conn.execute(
        text("UPDATE audit_events SET actor = 'director' WHERE chain = :c AND seq = 3"), {"c": chain}
    )
    rehash(conn, chain, 1)
    recompute_checkpoints(conn)
    anchored = json.loads((d.folder / "anchors" / "checkpoint-00000001.json").read_text())["heads"][chain][0]
    return chain, anchored, "anchor 1 (2024-02-06T01:00:00.000000+00:00) recorded another hash"


def delete_one_event_renumber_rehash_recompute_checkpoints(
    d: Drill, conn: Connection
) -> tuple[str, int, str]:
    chain = d.chain("posted")
    conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq = 4"), {"c": chain})
    for row in rows(conn, chain):
        if row["seq"] > 4:
            conn.execute(text("UPDATE audit_events SET seq = seq - 1 WHERE id = :i"), {"i": row["id"]})
    rehash(conn, chain, 4)
    recompute_checkpoints(conn)
    return chain, 4, "unkeyed event after keyed ones"


def delete_one_event_of_a_chain_newer_than_the_checkpoint(d: Drill, conn: Connection) -> tuple[str, int, str]:
    """No checkpoint or anchor knows this chain; the whole of it is rehashed without the key."""
    chain = d.chain("late")
    conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq = 2"), {"c": chain})
    conn.execute(text("UPDATE audit_events SET seq = 2 WHERE chain = :c AND seq = 3"), {"c": chain})
    rehash(conn, chain, 1)
    return chain, 1, "no keyed checkpoint or anchor covers"


def delete_events_after_the_checkpoint_and_move_the_head_back(
    d: Drill, conn: Connection
) -> tuple[str, int | None, str]:
    chain = d.chain("published")
    anchored = conn.execute(text("SELECT heads FROM audit_checkpoints ORDER BY id DESC LIMIT 1")).scalar()
    seq = json.loads(anchored)[chain][0]
    conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq > :s"), {"c": chain, "s": seq})
    move_head(conn, chain)
    return chain, None, "documents.state is 'interpretation_posted' but the chain's event"


def delete_events_after_the_checkpoint_recompute_checkpoints(
    d: Drill, conn: Connection
) -> tuple[str, int | None, str]:
    chain, seq, what = delete_events_after_the_checkpoint_and_move_the_head_back(d, conn)
    recompute_checkpoints(conn)
    return chain, seq, what


def delete_a_whole_chain_created_after_the_checkpoint(
    d: Drill, conn: Connection
) -> tuple[str, int | None, str]:
    chain = d.chain("late")
    conn.execute(text("DELETE FROM audit_events WHERE chain = :c"), {"c": chain})
    conn.execute(text("DELETE FROM audit_heads WHERE chain = :c"), {"c": chain})
    return chain, None, "has no audit chain"


def recompute_the_checkpoints(d: Drill, conn: Connection) -> tuple[str, int | None, str]:
    recompute_checkpoints(conn)
    return "checkpoint", None, "recomputed without the key"


def delete_the_checkpoints(d: Drill, conn: Connection) -> tuple[str, int | None, str]:
    conn.execute(text("DELETE FROM audit_checkpoints"))
    return "checkpoint", None, "which the database no longer holds"


def wipe_events_heads_and_checkpoints(d: Drill, conn: Connection) -> tuple[str, int | None, str]:
    for table in ("audit_events", "audit_heads", "audit_checkpoints"):
        conn.execute(text(f"DELETE FROM {table}"))
    return d.chain("posted"), None, "history removed"


def append_a_forged_event_with_a_recomputed_hash(d: Drill, conn: Connection) -> tuple[str, int, str]:
    chain = d.chain("plan")
    last = rows(conn, chain)[-1]
    from tests.audit_support import as_instant

    forged = {n: last[n] for n in audit.HASHED_FIELDS} | {
        "seq": last["seq"] + 1,
        "prev_hash": last["hash"],
        "at": as_instant(last["at"]),
        "action": "withdraw",
        "state_before": "interpretation_plan",
        "state_after": "withdrawn",
    }
    conn.execute(
        text(
            f"INSERT INTO audit_events ({', '.join(audit.HASHED_FIELDS)}, hash) VALUES "
            f"({', '.join(':' + n for n in audit.HASHED_FIELDS)}, :hash)"
        ),
        forged | {"hash": audit.event_hash(None, **forged)},
    )
    conn.execute(text("UPDATE documents SET state = 'withdrawn' WHERE id = :d"), {"d": d.ids["plan"]})
    move_head(conn, chain)
    return chain, last["seq"] + 1, "unkeyed event after keyed ones"


def change_on_time(d: Drill, conn: Connection) -> tuple[str, int | None, str]:
    conn.execute(text("UPDATE documents SET on_time = :f WHERE id = :d"), {"f": False, "d": d.ids["posted"]})
    return d.chain("posted"), None, "documents.on_time is False but the chain's post_interpretation"


def change_state(d: Drill, conn: Connection) -> tuple[str, int, str]:
    conn.execute(text("UPDATE documents SET state = 'filed' WHERE id = :d"), {"d": d.ids["draft"]})
    return d.chain("draft"), 1, "documents.state is 'filed' but the chain's event at seq 1 left it 'draft'"


def change_due_at(d: Drill, conn: Connection) -> tuple[str, int | None, str]:
    due = "2024-03-01 15:59:59.000000" if d.db.is_sqlite else shanghai(2024, 3, 1, 23, 59, 59)
    conn.execute(text("UPDATE documents SET due_at = :t WHERE id = :d"), {"t": due, "d": d.ids["posted"]})
    return d.chain("posted"), None, "documents.due_at is 2024-03-01T15:59:59+00:00 but the chain's event"


def change_a_posting(d: Drill, conn: Connection) -> tuple[str, int | None, str]:
    conn.execute(
        text("UPDATE postings SET channel = 'new_media' WHERE document_id = :d AND channel = 'news_media'"),
        {"d": d.ids["posted"]},
    )
    return d.chain("posted"), None, "the postings table holds"


def naive_edit_without_rehash(d: Drill, conn: Connection) -> tuple[str, int, str]:
    conn.execute(
        text("UPDATE audit_events SET actor = 'director' WHERE chain = :c AND seq = 2"),
        {"c": d.chain("plan")},
    )
    return d.chain("plan"), 2, "keyed hash does not match"


def naive_delete_leaving_a_gap(d: Drill, conn: Connection) -> tuple[str, int, str]:
    conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq = 2"), {"c": d.chain("posted")})
    return d.chain("posted"), 3, "sequence jumps from 1 to 3"


TAMPERS: list[Callable[[Drill, Connection], tuple[str, int | None, str]]] = [
    edit_mid_chain_rehash_move_head_recompute_checkpoints,
    rewrite_a_whole_anchored_chain_without_the_key,
    delete_one_event_renumber_rehash_recompute_checkpoints,
    delete_one_event_of_a_chain_newer_than_the_checkpoint,
    delete_events_after_the_checkpoint_and_move_the_head_back,
    delete_events_after_the_checkpoint_recompute_checkpoints,
    delete_a_whole_chain_created_after_the_checkpoint,
    recompute_the_checkpoints,
    delete_the_checkpoints,
    wipe_events_heads_and_checkpoints,
    append_a_forged_event_with_a_recomputed_hash,
    change_on_time,
    change_state,
    change_due_at,
    change_a_posting,
    naive_edit_without_rehash,
    naive_delete_leaving_a_gap,
]


@pytest.mark.parametrize("tamper", TAMPERS, ids=[t.__name__ for t in TAMPERS])
def test_each_tamper_is_detected_and_named(drill: Drill, tamper) -> None:  # type: ignore[no-untyped-def]
    with insider(drill.db) as conn:
        chain, seq, what = tamper(drill, conn)
    report = drill.verify()
    assert not report.ok
    b = finding(report, chain)
    assert what in b.problem, (b, report.as_dict())
    if seq:  # the first broken link, where there is one to name
        assert b.seq == seq, (b, report.as_dict())


@pytest.mark.parametrize(
    "tamper",
    [
        edit_mid_chain_rehash_move_head_recompute_checkpoints,
        delete_a_whole_chain_created_after_the_checkpoint,
        wipe_events_heads_and_checkpoints,
        append_a_forged_event_with_a_recomputed_hash,
        change_on_time,
    ],
    ids=lambda t: t.__name__,
)
def test_an_auditor_with_only_the_public_key_and_the_anchors_detects_them_too(drill: Drill, tamper) -> None:  # type: ignore[no-untyped-def]
    with insider(drill.db) as conn:
        chain, _seq, _what = tamper(drill, conn)
    report = drill.verify(secret=False)
    assert not report.ok and any(b.chain == chain for b in report.breaks), report.as_dict()
