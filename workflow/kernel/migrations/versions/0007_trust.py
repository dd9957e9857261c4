"""trust: who prepared a package (document_editors, documents.signoff_round)

Revision ID: 0007_trust
Revises: 0006_sweep_hints

Separate duties in sign-off (states/signoff.py): whoever changed a document's package since the
last completed sign-off round may not sign it. ``document_editors`` holds each person's last
change and the round it was made in; ``documents.signoff_round`` counts completed rounds.
Existing documents get their editors from the audit trail (creations, edits, attached and
removed materials), all in round 0; no round counts as completed, so every past editor of a
document still open is held to the rule.
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_trust"
down_revision = "0006_sweep_hints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signoff_round", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "document_editors",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_document_editors_document_id_documents")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_document_editors_user_id_users")),
        sa.PrimaryKeyConstraint("document_id", "user_id", name=op.f("pk_document_editors")),
    )
    op.execute(
        "INSERT INTO document_editors (document_id, user_id, last_changed_at, round) "
        "SELECT e.document_id, u.id, MAX(e.at), 0 FROM audit_events e "
        "JOIN users u ON u.login = e.actor JOIN documents d ON d.id = e.document_id "
        "WHERE e.outcome = 'allowed' AND e.action IN ('create', 'edit', 'attach_material', 'remove_material') "
        "GROUP BY e.document_id, u.id"
    )


def downgrade() -> None:
    op.drop_table("document_editors")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("signoff_round")
