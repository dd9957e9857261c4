"""refusals: an index on documents.doc_number

Revision ID: 0018_refusals
Revises: 0015

A second document with the same 文号 is refused unless the clerk says it is meant
(``--allow-duplicate-number``); the check looks the number up on every create and edit, which
must stay an index probe at a million documents.
"""
from alembic import op


revision = "0018_refusals"
down_revision = "0017_robot_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_doc_number"), ["doc_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_doc_number"))
