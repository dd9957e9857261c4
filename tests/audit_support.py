"""What the audit-trail tests share: a keyring in use for one test, a small trail with documents
in every interesting state, and the raw-SQL hand of an insider who goes around the triggers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, text

from tests.conftest import shanghai
from tests.factories import CLERK, new_draft, seed_bureau, to_plan, to_published
from workflow.kernel import audit
from workflow.kernel.auditkeys import Keyring, generate_keyring, write_public_keyring
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings
from workflow.services.documents import Workflow

AUDIT_TABLES = ("audit_events", "audit_heads", "audit_checkpoints")


@contextmanager
def keyring_in_use(folder: Path, clock: FixedClock) -> Iterator[Keyring]:
    """A fresh keyring (``folder/audit.key`` and ``.pub``) keying this process's trail."""
    keyring = generate_keyring(folder / "audit.key", now=clock.now())
    write_public_keyring(folder / "audit.key.pub", keyring)
    previous = audit.use_keyring(keyring)
    try:
        yield keyring
    finally:
        audit.use_keyring(previous)


def build_trail(db: Database, clock: FixedClock, settings: Settings) -> dict[str, int]:
    """The bureau and four documents: a draft, one in plan, one published (open), one whose
    interpretation was posted (on time). Returns their ids by name."""
    seed_bureau(db, clock)
    wf = Workflow(db, clock, settings)
    clock.set(shanghai(2024, 2, 5, 10, 0))
    ids = {
        "draft": new_draft(wf, title="福州市草稿管理办法"),
        "plan": to_plan(wf, title="福州市方案管理办法"),
    }
    ids["published"] = to_published(wf, title="福州市公开管理办法")
    ids["posted"] = to_published(wf, title="福州市解读管理办法")
    clock.set(shanghai(2024, 2, 6, 9, 0))
    wf.record_posting(CLERK, ids["posted"], channel="portal", url="https://jtj.fuzhou.example.cn/jd/1.htm")
    wf.record_posting(
        CLERK, ids["posted"], channel="news_media", outlet="福州日报", evidence="2024-02-06 第3版"
    )
    return ids


@contextmanager
def insider(db: Database) -> Iterator[Connection]:
    """A connection of someone with the owner's or superuser's rights: the append-only and
    head triggers are off (SQLite: dropped and put back; PostgreSQL: replica mode)."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            saved = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
                    "('audit_events', 'audit_heads', 'audit_checkpoints')"
                )
            ]
            names = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
                    "('audit_events', 'audit_heads', 'audit_checkpoints')"
                )
            ]
            for name in names:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
            yield conn
            for ddl in saved:
                conn.exec_driver_sql(ddl)
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn


def rows(conn: Connection, chain: str) -> list[dict]:
    cols = ", ".join(("id", *audit.HASHED_FIELDS, "hash", "key_id"))
    return [
        dict(r._mapping)
        for r in conn.execute(
            text(f"SELECT {cols} FROM audit_events WHERE chain = :c ORDER BY seq"), {"c": chain}
        )
    ]


def as_instant(value: object) -> datetime:

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def rehash(conn: Connection, chain: str, from_seq: int = 1) -> None:
    """Recompute ``chain`` from ``from_seq`` on with the public code and no key (the insider has
    none): each row's prev_hash and hash, key_id cleared; then move its head to the new end."""
    prev = audit.GENESIS
    for row in rows(conn, chain):
        if row["seq"] >= from_seq:
            fields = {n: row[n] for n in audit.HASHED_FIELDS} | {
                "prev_hash": prev,
                "at": as_instant(row["at"]),
                "wall_at": as_instant(row["wall_at"]) if row.get("wall_at") is not None else None,
            }
            digest = audit.event_hash(None, **fields)
            conn.execute(
                text("UPDATE audit_events SET prev_hash = :p, hash = :h, key_id = NULL WHERE id = :i"),
                {"p": prev, "h": digest, "i": row["id"]},
            )
            row["hash"] = digest
        prev = row["hash"]
    move_head(conn, chain)


def move_head(conn: Connection, chain: str) -> None:
    """Point ``chain``'s head at its last row (or drop it when none is left)."""
    last = conn.execute(
        text("SELECT seq, hash FROM audit_events WHERE chain = :c ORDER BY seq DESC LIMIT 1"), {"c": chain}
    ).first()
    conn.execute(text("DELETE FROM audit_heads WHERE chain = :c"), {"c": chain})
    if last is not None:
        conn.execute(
            text("INSERT INTO audit_heads (chain, seq, hash) VALUES (:c, :s, :h)"),
            {"c": chain, "s": last.seq, "h": last.hash},
        )


def recompute_checkpoints(conn: Connection) -> None:
    """Rewrite every checkpoint from the heads as they are now, unkeyed (the public code)."""
    from workflow.kernel.audit_checkpoint import checkpoint_hash

    heads = {
        c: [s, h] for c, s, h in conn.execute(text("SELECT chain, seq, hash FROM audit_heads ORDER BY chain"))
    }
    body = json.dumps(heads, sort_keys=True, separators=(",", ":"))
    count = sum(s for s, _h in heads.values())
    prev = audit.GENESIS
    for cp in conn.execute(text("SELECT id, at FROM audit_checkpoints ORDER BY id")).all():
        digest = checkpoint_hash(
            at=as_instant(cp.at), heads=body, prev_hash=prev, event_count=count, key=None
        )
        conn.execute(
            text(
                "UPDATE audit_checkpoints SET heads = :b, chain_count = :n, prev_hash = :p, "
                "hash = :h, key_id = NULL, event_count = :e WHERE id = :i"
            ),
            {"b": body, "n": len(heads), "p": prev, "h": digest, "e": count, "i": cp.id},
        )
        prev = digest
