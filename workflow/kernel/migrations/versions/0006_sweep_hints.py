"""sweep hints: documents.next_rung_at with a partial index, and sweep_state

Revision ID: 0006_sweep_hints
Revises: 0005_api_tokens

The sweep found its candidates with one NOT EXISTS per ladder rung under an OR; PostgreSQL ran
them as hashed subplans, each a sequential scan of the whole escalations table, and read every
long-overdue document whose rungs had all fired, on every sweep: 232 ms at a million documents
with nothing due (bench_sweep). Now each published document carries the instant its next rung
comes due, and the sweep reads ``state = 'published' AND next_rung_at <= now`` from a partial
index holding only open documents. Existing published documents get their publication instant,
which makes the first sweep after the upgrade look at each once and store its exact hint.
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_sweep_hints"
down_revision = "0005_api_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_rung_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_documents_next_rung", ["next_rung_at", "id"], unique=False,
                              postgresql_where=sa.text("state = 'published'"),
                              sqlite_where=sa.text("state = 'published'"))
    op.execute("UPDATE documents SET next_rung_at = published_at WHERE state = 'published'")
    op.create_table(
        "sweep_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sweep_state")),
    )


def downgrade() -> None:
    op.drop_table("sweep_state")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_next_rung")
        batch_op.drop_column("next_rung_at")
