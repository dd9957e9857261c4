"""trust: who prepared a package; recorded instants beside claimed ones; who acted through what

Revision ID: 0007_trust
Revises: 0006_sweep_hints

Separate duties in sign-off (states/signoff.py): whoever changed a document's package since the
last completed sign-off round may not sign it. ``document_editors`` holds each person's last
change and the round it was made in; ``documents.signoff_round`` counts completed rounds.
Existing documents get their editors from the audit trail (creations, edits, attached and
removed materials), all in round 0; no round counts as completed, so every past editor of a
document still open is held to the rule.

On-time judged on the system's clock (states/claims.py): a publication keeps the instant it was
recorded beside the claimed ``published_at``, and a claim older than the grace window waits for
a supervisor's confirmation (who, when, why: on documents for the publication, on postings for
each posting). Existing publications get recorded = claimed; existing publications and postings
are marked ``migrated``: history, counted as claimed, never re-judged.

Every audit event records its channel and credential, and the real instant when made under a
clock override. Existing events keep NULL there (they were written without it, and their hashes
do not cover it).
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_trust"
down_revision = "0006_sweep_hints"
branch_labels = None
depends_on = None


def _add(table: str, *columns: sa.Column) -> None:  # type: ignore[type-arg]
    """Plain ADD COLUMN: never a batch rebuild, which would copy tables that foreign keys point
    at (and the trail, whose triggers refuse deletes)."""
    for column in columns:
        op.add_column(table, column)


def upgrade() -> None:
    _add("documents", sa.Column("signoff_round", sa.Integer(), server_default="0", nullable=False))
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
    _add("documents",
         sa.Column("published_recorded_at", sa.DateTime(timezone=True), nullable=True),
         sa.Column("publication_confirmed_by", sa.String(length=64), nullable=True),
         sa.Column("publication_confirmed_at", sa.DateTime(timezone=True), nullable=True),
         sa.Column("publication_confirm_reason", sa.Text(), nullable=True),
         sa.Column("publication_migrated", sa.Boolean(), server_default=sa.false(), nullable=False))
    _add("postings",
         sa.Column("confirmed_by", sa.String(length=64), nullable=True),
         sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
         sa.Column("confirm_reason", sa.Text(), nullable=True),
         sa.Column("migrated", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE documents SET published_recorded_at = published_at, publication_migrated = "
               + ("true" if op.get_bind().dialect.name == "postgresql" else "1")
               + " WHERE published_at IS NOT NULL")
    op.execute("UPDATE postings SET migrated = " + ("true" if op.get_bind().dialect.name == "postgresql" else "1"))
    # Attribution of every event (workflow/kernel/attribution.py). Plain ADD COLUMN, never a
    # table rebuild: the trail's rows must not be copied, and its triggers refuse deletes.
    _add("audit_events",
         sa.Column("channel", sa.String(length=16), nullable=True),
         sa.Column("credential", sa.String(length=200), nullable=True),
         sa.Column("wall_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_audit_events_channel_at", "audit_events", ["channel", "at"], unique=False)
    op.execute(
        "INSERT INTO document_editors (document_id, user_id, last_changed_at, round) "
        "SELECT e.document_id, u.id, MAX(e.at), 0 FROM audit_events e "
        "JOIN users u ON u.login = e.actor JOIN documents d ON d.id = e.document_id "
        "WHERE e.outcome = 'allowed' AND e.action IN ('create', 'edit', 'attach_material', 'remove_material') "
        "GROUP BY e.document_id, u.id"
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 has it): a batch rebuild would copy the trail, whose
    # triggers refuse deletes, and trip the foreign keys that point at documents.
    op.drop_index("ix_audit_events_channel_at", table_name="audit_events")
    op.drop_table("document_editors")
    for table, columns in (
        ("audit_events", ("wall_at", "credential", "channel")),
        ("postings", ("migrated", "confirm_reason", "confirmed_at", "confirmed_by")),
        ("documents", ("publication_migrated", "publication_confirm_reason", "publication_confirmed_at",
                       "publication_confirmed_by", "published_recorded_at", "signoff_round")),
    ):
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
