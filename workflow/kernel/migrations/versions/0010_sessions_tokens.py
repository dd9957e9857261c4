"""server-side web sessions, token expiry and last use, shared sign-in throttles, audit bursts

Revision ID: 0010_sessions_tokens
Revises: 0009_evidence

Issue 17. A signed cookie alone could not be ended: sign-out, a new password or deactivation
left a copied cookie working until it expired. Sessions now live in ``web_sessions`` (the cookie
carries a random id; only its digest is stored). API tokens get an optional expiry and the
instant they were last used. Sign-in throttling was in each process's memory; ``auth_throttle``
shares it between every process. ``audit_bursts`` counts refusals that come in bursts so that
the trail gets one event per key and window instead of one row per attempt.

Chained after 0009_evidence (issues 15 and 16) when issue 17 was merged with them.
"""
from alembic import op
import sqlalchemy as sa


revision = "0010_sessions_tokens"
down_revision = "0009_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_why", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "auth_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttle")),
    )
    op.create_table(
        "audit_bursts",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_audit_bursts")),
    )
    with op.batch_alter_table("audit_bursts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_bursts_since"), ["since"], unique=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("audit_bursts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_bursts_since"))
    op.drop_table("audit_bursts")
    op.drop_table("auth_throttle")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
    op.drop_table("web_sessions")
