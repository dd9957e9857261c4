"""search: Chinese substring search over title, 文号, body and plan (trigram indexes)

Revision ID: 0014_search
Revises: 0013_user_unit_history

A clerk looking for 网约车 or 榕交〔2024〕5号 scrolled. Both databases now index trigrams
(every run of three characters), which finds any substring of Chinese text without a word
segmenter (see workflow/kernel/search.py):

* SQLite: an FTS5 table with the trigram tokenizer (SQLite ≥ 3.34) over the documents
  (external content), kept current by triggers; only an UPDATE that sets title, doc_number,
  body or plan touches it, so the sweep's and the lifecycle's updates cost nothing more.
* PostgreSQL: pg_trgm (a trusted extension: the database owner may create it) and one GIN
  trigram index per field (per-field statistics let the planner see a title word is common).
"""
import sqlite3

from alembic import op

from workflow.kernel.search import FIELDS, FTS_TABLE, PG_INDEXES

revision = "0014_search"
down_revision = "0013_user_unit_history"
branch_labels = None
depends_on = None

COLUMNS = "title, doc_number, body, plan"


def _values(prefix: str) -> str:
    return ", ".join(f"{prefix}.{c.strip()}" for c in COLUMNS.split(","))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if sqlite3.sqlite_version_info < (3, 34, 0):
            raise RuntimeError(f"search needs SQLite 3.34 or later (FTS5 trigram); this is {sqlite3.sqlite_version}")
        op.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({COLUMNS}, content='documents', "
                   "content_rowid='id', tokenize='trigram')")
        op.execute(f"CREATE TRIGGER {FTS_TABLE}_ai AFTER INSERT ON documents BEGIN "
                   f"INSERT INTO {FTS_TABLE}(rowid, {COLUMNS}) VALUES (new.id, {_values('new')}); END")
        op.execute(f"CREATE TRIGGER {FTS_TABLE}_ad AFTER DELETE ON documents BEGIN "
                   f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {COLUMNS}) VALUES ('delete', old.id, {_values('old')}); END")
        op.execute(f"CREATE TRIGGER {FTS_TABLE}_au AFTER UPDATE OF {COLUMNS} ON documents BEGIN "
                   f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {COLUMNS}) VALUES ('delete', old.id, {_values('old')}); "
                   f"INSERT INTO {FTS_TABLE}(rowid, {COLUMNS}) VALUES (new.id, {_values('new')}); END")
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, field in zip(PG_INDEXES, FIELDS, strict=True):
            op.execute(f"CREATE INDEX {name} ON documents USING gin ({field} gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    else:
        for name in PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
