"""outbox.send_started_at: whether a claimed email was handed to the mail server yet

Revision ID: 0011_outbox_progress
Revises: 0010_sessions_tokens

Issue 17. Delivery claims rows with a short lease renewed while sending, so the rows of a dead
worker are taken over within seconds. The worker marks a few rows at a time as handed to the
transport before sending them; a takeover of a row without the mark is a clean first send, and
one with it may repeat an email that went out (recorded as a possible duplicate).
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_outbox_progress"
down_revision = "0010_sessions_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("send_started_at")
