"""outbox.context: emails rendered when delivered, from facts frozen when queued

Revision ID: 0016_outbox_context
Revises: 0015_material_files

Issue 20. A row used to carry its rendered subject and bodies and a Message-ID written by a
second statement, all inside the transaction of the change that queued it. It now carries the
template's facts as JSON (``context``), frozen at queue time, and the delivery worker renders
the templates and derives the Message-ID when it sends. Rows already queued keep their
rendered text (the columns become nullable) and are delivered from it: nothing is converted,
so an email waiting across the upgrade says exactly what it said when it was queued.
"""
from alembic import op
import sqlalchemy as sa


revision = "0016_outbox_context"
down_revision = "0015_material_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("context", sa.Text(), nullable=True))
        for column in ("subject", "body_text", "body_html"):
            batch_op.alter_column(column, existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    # Rows queued since the upgrade hold no rendered text, which an older release would need to
    # send them: refuse while any may still be sent, rather than send empty emails or drop them.
    waiting = op.get_bind().execute(
        sa.text("SELECT count(*) FROM outbox WHERE context IS NOT NULL AND status <> 'sent'")
    ).scalar_one()
    if waiting:
        raise RuntimeError(
            f"{waiting} outbox row(s) queued since 0016 are not sent yet: deliver them (or delete "
            "them knowingly) before downgrading"
        )
    op.execute("UPDATE outbox SET subject = '', body_text = '', body_html = '' WHERE context IS NOT NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for column in ("subject", "body_text", "body_html"):
            batch_op.alter_column(column, existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("context")
