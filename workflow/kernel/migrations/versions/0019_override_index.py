"""override index: the audit events written under a clock override, by document

Revision ID: 0019_override_index
Revises: 0018_refusals

The reports flag documents whose publication or postings were recorded "as of" a chosen
instant (``wall_at`` set: workflow/services/reports/overrides.py). A partial index holds only
those events, so the question stays an index probe at a million documents, and costs nothing
to keep on an installation that never overrides its clock.
"""
from alembic import op
import sqlalchemy as sa


revision = "0019_override_index"
down_revision = "0018_refusals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_overridden",
        "audit_events",
        ["document_id"],
        unique=False,
        postgresql_where=sa.text("wall_at IS NOT NULL"),
        sqlite_where=sa.text("wall_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_overridden", table_name="audit_events")
