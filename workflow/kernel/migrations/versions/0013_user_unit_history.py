"""user_unit_history: which unit each user belonged to, from when to when

Revision ID: 0013_user_unit_history
Revises: 0012_units_channels

People change units; until now a move overwrote ``users.unit_id`` and only the audit trail
remembered the old unit. Each user now has one open row (``until`` NULL) for the unit they are
in, closed when they move. Existing users get an open row from their creation.
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_user_unit_history"
down_revision = "0012_units_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_unit_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_user_unit_history_unit_id_units")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_unit_history_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_unit_history")),
    )
    with op.batch_alter_table("user_unit_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_unit_history_user_id"), ["user_id"], unique=False)
    op.execute("INSERT INTO user_unit_history (user_id, unit_id, since) SELECT id, unit_id, created_at FROM users")


def downgrade() -> None:
    with op.batch_alter_table("user_unit_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_unit_history_user_id"))
    op.drop_table("user_unit_history")
