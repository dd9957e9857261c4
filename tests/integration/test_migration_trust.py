"""Migration 0007_trust on a database holding history from before it, on SQLite and PostgreSQL:
a publication gets recorded = claimed and is marked migrated, postings are migrated history
(counted as claimed, never re-judged), the editors come from the trail, and the old events
still verify (their hashes never covered the attribution columns they now have, empty)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, _pg_admin_engine
from workflow.kernel import audit
from workflow.kernel.db import Database
from workflow.kernel.models import Document, DocumentEditor, Posting
from workflow.kernel.models.base import UTCDateTime

PUBLISHED = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)
POSTED = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
RECORDED = datetime(2024, 3, 21, 8, 0, tzinfo=UTC)  # seventeen days later: history all the same


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
        yield db
        db.dispose()
        return
    name = f"santongbu_m_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db = Database(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    yield db
    db.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _table(name: str, *columns: tuple[str, sa.types.TypeEngine]) -> sa.TableClause:  # type: ignore[type-arg]
    return sa.table(name, *(sa.column(c, t) for c, t in columns))


T = UTCDateTime()
UNITS = _table(
    "units",
    ("id", sa.Integer()),
    ("code", sa.String()),
    ("name", sa.String()),
    ("kind", sa.String()),
    ("head_login", sa.String()),
    ("created_at", T),
)
USERS = _table(
    "users",
    ("id", sa.Integer()),
    ("login", sa.String()),
    ("name", sa.String()),
    ("unit_id", sa.Integer()),
    ("roles", sa.String()),
    ("active", sa.Boolean()),
    ("created_at", T),
)
DOCUMENTS = _table(
    "documents",
    ("id", sa.Integer()),
    ("unit_id", sa.Integer()),
    ("title", sa.String()),
    ("body", sa.Text()),
    ("state", sa.String()),
    ("version", sa.Integer()),
    ("package_hash", sa.String()),
    ("created_by", sa.Integer()),
    ("created_at", T),
    ("updated_at", T),
    ("due_provisional", sa.Boolean()),
    ("published_at", T),
    ("due_at", T),
    ("posted_at", T),
    ("on_time", sa.Boolean()),
)
POSTINGS = _table(
    "postings",
    ("id", sa.Integer()),
    ("document_id", sa.Integer()),
    ("channel", sa.String()),
    ("url", sa.String()),
    ("posted_at", T),
    ("recorded_at", T),
    ("recorded_by", sa.Integer()),
)
EVENTS = _table(
    "audit_events",
    *(
        (c, sa.String())
        for c in (
            "chain",
            "actor",
            "actor_unit",
            "action",
            "outcome",
            "state_before",
            "state_after",
            "details",
            "prev_hash",
            "hash",
        )
    ),
    ("seq", sa.Integer()),
    ("at", T),
    ("document_id", sa.Integer()),
)
HEADS = _table("audit_heads", ("chain", sa.String()), ("seq", sa.Integer()), ("hash", sa.String()))


def _old_history(db: Database) -> None:
    """What version 0006 left behind: a completed document, its postings, its trail."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(UNITS).values(
                id=1, code="spc", name="审批处", kind="drafting", head_login="chen.spc", created_at=PUBLISHED
            )
        )
        for uid, login in ((1, "liu.spc"), (2, "wang.spc")):
            conn.execute(
                sa.insert(USERS).values(
                    id=uid,
                    login=login,
                    name=login,
                    unit_id=1,
                    roles="member",
                    active=True,
                    created_at=PUBLISHED,
                )
            )
        conn.execute(
            sa.insert(DOCUMENTS).values(
                id=1,
                unit_id=1,
                title="办法",
                body="",
                state="interpretation_posted",
                version=9,
                package_hash="h",
                created_by=1,
                created_at=PUBLISHED,
                updated_at=RECORDED,
                due_provisional=False,
                published_at=PUBLISHED,
                due_at=datetime(2024, 3, 7, 15, 59, 59, tzinfo=UTC),
                posted_at=POSTED,
                on_time=True,
            )
        )
        for pid, channel in ((1, "portal"), (2, "news_media")):
            conn.execute(
                sa.insert(POSTINGS).values(
                    id=pid,
                    document_id=1,
                    channel=channel,
                    url="https://x.example.cn/1",
                    posted_at=POSTED,
                    recorded_at=RECORDED,
                    recorded_by=1,
                )
            )
        prev = audit.GENESIS
        for seq, (actor, action) in enumerate((("liu.spc", "create"), ("wang.spc", "edit")), 1):
            row = {
                "chain": "doc:1",
                "seq": seq,
                "at": PUBLISHED,
                "actor": actor,
                "actor_unit": "spc",
                "document_id": 1,
                "action": action,
                "outcome": "allowed",
                "state_before": "draft",
                "state_after": "draft",
                "details": "{}",
                "prev_hash": prev,
            }
            row["hash"] = audit.event_hash(**row)
            conn.execute(sa.insert(EVENTS).values(**row))
            prev = row["hash"]
        conn.execute(sa.insert(HEADS).values(chain="doc:1", seq=2, hash=prev))


def test_existing_rows_are_migrated_history(empty_db: Database) -> None:
    empty_db.upgrade("0006_sweep_hints")
    _old_history(empty_db)
    empty_db.upgrade()
    with empty_db.transaction() as s:
        doc = s.get(Document, 1)
        assert doc.published_recorded_at == doc.published_at == PUBLISHED
        assert doc.publication_migrated is True and doc.signoff_round == 0
        assert doc.on_time is True  # never re-judged
        postings = list(s.scalars(sa.select(Posting).order_by(Posting.id)))
        assert [p.migrated for p in postings] == [True, True]
        assert [(p.posted_at, p.recorded_at) for p in postings] == [(POSTED, RECORDED)] * 2
        editors = {(e.user_id, e.round) for e in s.scalars(sa.select(DocumentEditor))}
        assert editors == {(1, 0), (2, 0)}
        report = audit.verify(s)
    assert report.ok, report.as_dict()
    from alembic import command

    from workflow.kernel.db import alembic_config

    command.downgrade(alembic_config(empty_db), "0006_sweep_hints")  # and back, without copying the trail
    assert empty_db.current_revision() == "0006_sweep_hints"
    with empty_db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 2
        assert conn.execute(sa.text("SELECT count(*) FROM postings")).scalar() == 2
    empty_db.upgrade()
    with empty_db.transaction() as s:
        assert audit.verify(s).ok
