"""audit keys: each event and checkpoint records the key of its hash; heads move only with an event

Revision ID: 0008_audit_keys
Revises: 0007_trust

* ``audit_events.key_id``, ``audit_checkpoints.key_id``: the keyring key whose HMAC-SHA256 the
  row's ``hash`` is (workflow/kernel/auditkeys.py); NULL for rows written unkeyed (plain
  SHA-256, as before this migration), which stay verifiable as they were.
* ``audit_checkpoints.event_count`` (the events the heads add up to; covered by the keyed
  hash, so "the trail never shrinks" can be checked) and ``last_event_id`` (the newest event
  then; beat only uses it to see whether anything was appended since).
* **Chain heads derived from events.** A trigger on ``INSERT INTO audit_events`` moves the
  chain's head to the new event, and refuses an event that does not follow the head (seq + 1
  and ``prev_hash`` equal to the head's hash) with a unique-violation error the application
  reads as "changed meanwhile". The application no longer writes ``audit_heads``.
  On PostgreSQL the trigger function is ``SECURITY DEFINER`` (it runs as the owner), so the
  application role needs, and gets (docs/reports.md), no INSERT, UPDATE or DELETE on
  ``audit_heads``: it can move a head only by appending the event the head then names.
* **Checkpoints checked on insert** (PostgreSQL, any role): a new checkpoint must chain to the
  last one, name only events that exist, keep every chain of the previous checkpoint at the
  same or a later seq, and count the events its heads add up to. Only facts that cannot become
  false meanwhile are checked (events are append-only), so a checkpoint racing appends is
  never refused; one that lies about the trail is.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_audit_keys"
down_revision = "0007_trust"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

PG_MOVE_HEAD = f"""
CREATE OR REPLACE FUNCTION santongbu_audit_move_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE audit_heads SET seq = NEW.seq, hash = NEW.hash
     WHERE chain = NEW.chain AND seq = NEW.seq - 1 AND hash = NEW.prev_hash;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    IF NEW.seq = 1 AND NEW.prev_hash = '{GENESIS}' THEN
        INSERT INTO audit_heads (chain, seq, hash) VALUES (NEW.chain, 1, NEW.hash);
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit event % of chain % does not follow the chain head (changed meanwhile)',
        NEW.seq, NEW.chain USING ERRCODE = 'unique_violation';
END
$$
"""

PG_CHECK_CHECKPOINT = f"""
CREATE OR REPLACE FUNCTION santongbu_audit_check_checkpoint() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    last_hash varchar;
    last_heads jsonb;
    new_heads jsonb := NEW.heads::jsonb;
    problem text;
BEGIN
    SELECT hash, heads::jsonb INTO last_hash, last_heads
      FROM audit_checkpoints ORDER BY id DESC LIMIT 1;
    IF NEW.prev_hash IS DISTINCT FROM coalesce(last_hash, '{GENESIS}') THEN
        problem := 'it does not chain to the last checkpoint';
    ELSIF NEW.event_count IS NOT NULL AND NEW.event_count IS DISTINCT FROM
            (SELECT coalesce(sum((v->>0)::bigint), 0) FROM jsonb_each(new_heads) AS j(k, v)) THEN
        problem := 'its event count is not what its heads add up to';
    ELSIF EXISTS (SELECT 1 FROM jsonb_each(new_heads) AS j(k, v)
                   WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.chain = j.k
                                     AND e.seq = (j.v->>0)::int AND e.hash = j.v->>1)) THEN
        problem := 'it names an event that does not exist';
    ELSIF last_heads IS NOT NULL AND EXISTS (
            SELECT 1 FROM jsonb_each(last_heads) AS o(k, v)
             WHERE NOT new_heads ? o.k OR (new_heads->o.k->>0)::int < (o.v->>0)::int) THEN
        problem := 'it drops a chain or puts one behind the last checkpoint';
    END IF;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'audit checkpoint refused: %', problem USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$
"""

SQLITE_MOVE_HEAD = f"""
CREATE TRIGGER audit_events_move_head AFTER INSERT ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit event does not follow the chain head (changed meanwhile)')
     WHERE NOT EXISTS (SELECT 1 FROM audit_heads WHERE chain = NEW.chain
                        AND seq = NEW.seq - 1 AND hash = NEW.prev_hash)
       AND NOT (NEW.seq = 1 AND NEW.prev_hash = '{GENESIS}'
                AND NOT EXISTS (SELECT 1 FROM audit_heads WHERE chain = NEW.chain));
    INSERT OR REPLACE INTO audit_heads (chain, seq, hash) VALUES (NEW.chain, NEW.seq, NEW.hash);
END
"""


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy, which would lose the append-only triggers on SQLite).
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.add_column("audit_events", sa.Column("key_id", sa.String(length=32), nullable=True))
    op.add_column("audit_checkpoints", sa.Column("key_id", sa.String(length=32), nullable=True))
    op.add_column("audit_checkpoints", sa.Column("event_count", big, nullable=True))
    op.add_column("audit_checkpoints", sa.Column("last_event_id", big, nullable=True))
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_MOVE_HEAD)
        op.execute("CREATE TRIGGER audit_events_move_head AFTER INSERT ON audit_events "
                   "FOR EACH ROW EXECUTE FUNCTION santongbu_audit_move_head()")
        op.execute(PG_CHECK_CHECKPOINT)
        op.execute("CREATE TRIGGER audit_checkpoints_check BEFORE INSERT ON audit_checkpoints "
                   "FOR EACH ROW EXECUTE FUNCTION santongbu_audit_check_checkpoint()")
    elif dialect == "sqlite":
        op.execute(SQLITE_MOVE_HEAD)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_check ON audit_checkpoints")
        op.execute("DROP FUNCTION IF EXISTS santongbu_audit_check_checkpoint()")
        op.execute("DROP TRIGGER IF EXISTS audit_events_move_head ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS santongbu_audit_move_head()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_move_head")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of the table would lose the
    # append-only triggers of 0004.
    for table, column in (("audit_checkpoints", "last_event_id"), ("audit_checkpoints", "event_count"),
                          ("audit_checkpoints", "key_id"), ("audit_events", "key_id")):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
