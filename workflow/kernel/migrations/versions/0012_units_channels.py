"""units_channels: WeCom and DingTalk group robots per unit, and robot rows in the outbox

Revision ID: 0012_units_channels
Revises: 0011_outbox_progress

Offices are reached on 企业微信 and 钉钉 more than by email. Each unit may name a WeCom robot
(its webhook URL) and a DingTalk robot (webhook URL and signing secret), and which events go to
each. Robot messages are outbox rows like emails, so they share the outbox's retries, fates,
audit and dedupe keys: ``outbox.channel`` says which channel a row goes to and
``outbox.unit_id`` whose robot (the webhook is read when the row is sent, never copied).
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_units_channels"
down_revision = "0011_outbox_progress"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch rebuild: on SQLite a rebuild drops and recreates `units`,
    # which every user row refers to, and the foreign keys refuse it on a database in use.
    op.add_column("units", sa.Column("wecom_webhook", sa.Text(), nullable=True))
    op.add_column("units", sa.Column("wecom_events", sa.String(length=400), nullable=True))
    op.add_column("units", sa.Column("dingtalk_webhook", sa.Text(), nullable=True))
    op.add_column("units", sa.Column("dingtalk_secret", sa.Text(), nullable=True))
    op.add_column("units", sa.Column("dingtalk_events", sa.String(length=400), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=False, server_default="email"))
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_outbox_unit_id_units"), "units", ["unit_id"], ["id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_outbox_channel"), "channel IN ('email', 'wecom', 'dingtalk')")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_channel"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_outbox_unit_id_units"), type_="foreignkey")
        batch_op.drop_column("unit_id")
        batch_op.drop_column("channel")
    for column in ("dingtalk_events", "dingtalk_secret", "dingtalk_webhook", "wecom_events", "wecom_webhook"):
        op.drop_column("units", column)  # SQLite ≥ 3.35 drops a plain column in place
