"""audit guards: the trail is append-only in the database itself; indexes for trail queries and reports

Revision ID: 0004_audit_guards
Revises: 0003_outbox

Why triggers when the hash chain already detects tampering: the chain *detects* an edit after
the fact, the triggers *prevent* one by anyone who does not own the table (the application
role, see docs/reports.md). An owner can still drop a trigger; ``santongbu audit verify`` then
still finds the edit, because it recomputes the chain and never trusts the triggers.

The triggers are ordinary (``ENABLE``, not ``ENABLE ALWAYS``): a maintenance session with
``session_replication_role = replica`` (superuser only) skips them, which the test-suite uses
to empty tables between tests.

Indexes, each for a query it serves (workflow/services/audit_queries.py, workflow/services/reports.py):

* audit_events (actor, at), (action, at), (actor_unit, at): trail queries filtered by who,
  what or which unit over a time range, ordered by time;
* audit_events (actor_unit, at) for refused events only (a partial index, a few per cent of
  the trail) for the year-end refusals per unit, which otherwise visit every event of the
  unit's year (1.5 s at 10,000,000 events; about 4 ms with it);
* documents (unit_id, published_at), on PostgreSQL covering state, due_at, posted_at and
  on_time: the on-time report and the ledger (a unit's period). The on-time report needs no
  other column, so it is an index-only scan: a unit's documents lie scattered over the whole
  table (units draft in turn), and reading them from the heap cold took seconds at a million
  documents;
* documents (state, due_at): the overdue report (published and past due, as of now);
* documents (unit_id, created_at): the year-end report's "drafted in the period";
* documents (posted_at): the late report (postings made in a period).
"""
import sqlalchemy as sa
from alembic import op


revision = "0004_audit_guards"
down_revision = "0003_outbox"
branch_labels = None
depends_on = None

GUARDED = ("audit_events", "audit_checkpoints")

REFUSED = sa.text("outcome = 'refused'")

INDEXES: tuple[tuple[str, str, list[str], dict[str, object]], ...] = (
    ("ix_audit_events_actor_at", "audit_events", ["actor", "at"], {}),
    ("ix_audit_events_action_at", "audit_events", ["action", "at"], {}),
    ("ix_audit_events_actor_unit_at", "audit_events", ["actor_unit", "at"], {}),
    ("ix_documents_unit_published", "documents", ["unit_id", "published_at"],
     {"postgresql_include": ["state", "due_at", "posted_at", "on_time"]}),
    ("ix_documents_state_due", "documents", ["state", "due_at"], {}),
    ("ix_documents_unit_created", "documents", ["unit_id", "created_at"], {}),
    ("ix_documents_posted_at", "documents", ["posted_at"], {}),
    # Refusals per unit (the year-end report): a small partial index instead of a scan.
    ("ix_audit_events_refused", "audit_events", ["actor_unit", "at"],
     {"postgresql_where": REFUSED, "sqlite_where": REFUSED}),
)

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION santongbu_refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING HINT = 'audit rows are never changed or removed; santongbu audit verify checks them';
END
$$
"""


def _pg_upgrade() -> None:
    op.execute(PG_FUNCTION)
    for table in GUARDED:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION santongbu_refuse_audit_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION santongbu_refuse_audit_change()"
        )


def _sqlite_upgrade() -> None:
    # SQLite has no TRUNCATE: "DELETE FROM t" is its truncate, and a DELETE trigger turns the
    # truncate optimisation off, so the trigger below refuses that too.
    for table in GUARDED:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: {verb} on {table} refused'); END"
            )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _pg_upgrade()
    elif dialect == "sqlite":
        _sqlite_upgrade()
    for name, table, columns, options in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False, **options)


def downgrade() -> None:
    for name, table, _columns, _options in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS santongbu_refuse_audit_change()")
    elif dialect == "sqlite":
        for table in GUARDED:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
