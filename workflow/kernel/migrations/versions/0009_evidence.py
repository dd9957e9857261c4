"""evidence_checks: what the evidence checker found for each publication and posting page

Revision ID: 0009_evidence
Revises: 0006_sweep_hints

One row per check of a page (the policy page of a document, or a posting's page), the current
one per page marked ``is_current`` under a unique partial index (docs/evidence.md).
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_evidence"
down_revision = "0008_audit_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("final_url", sa.String(length=2000), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("page_date", sa.String(length=40), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change", sa.String(length=16), nullable=True),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("bad_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_evidence_checks_document_id_documents")),
        sa.ForeignKeyConstraint(["posting_id"], ["postings.id"],
                                name=op.f("fk_evidence_checks_posting_id_postings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_checks")),
    )
    with op.batch_alter_table("evidence_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_checks_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_checks_posting_id"), ["posting_id"], unique=False)
        batch_op.create_index("uq_evidence_checks_current", ["target"], unique=True,
                              postgresql_where=sa.text("is_current"), sqlite_where=sa.text("is_current"))
        batch_op.create_index("ix_evidence_checks_due", ["next_check_at"], unique=False,
                              postgresql_where=sa.text("is_current"), sqlite_where=sa.text("is_current"))


def downgrade() -> None:
    op.drop_table("evidence_checks")
