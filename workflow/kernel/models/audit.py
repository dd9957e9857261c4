"""The append-only audit trail: events hash-chained per document, chain heads, checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.kernel.models.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(Base):
    """One thing that happened. ``chain`` is ``doc:<id>`` for a document's events and
    ``sys`` for directory and calendar administration; ``seq`` counts within the chain and
    ``hash`` covers the row and ``prev_hash``, so an edit, insert or delete breaks the chain."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_audit_events_document_seq", "document_id", "seq"),
        Index("ix_audit_events_at", "at"),
        # For the trail queries by actor, action and unit over a period (0004_audit_guards).
        Index("ix_audit_events_actor_at", "actor", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_actor_unit_at", "actor_unit", "at"),
        Index("ix_audit_events_channel_at", "channel", "at"),
        Index(
            "ix_audit_events_refused",
            "actor_unit",
            "at",
            postgresql_where=text("outcome = 'refused'"),
            sqlite_where=text("outcome = 'refused'"),
        ),
        # The reports' records made "as of" a chosen instant (0019_override_index): empty where
        # the clock is never overridden, so asking costs an index probe per report batch.
        Index(
            "ix_audit_events_overridden",
            "document_id",
            postgresql_where=text("wall_at IS NOT NULL"),
            sqlite_where=text("wall_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(64))
    actor_unit: Mapped[str | None] = mapped_column(String(64))
    document_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    state_before: Mapped[str | None] = mapped_column(String(32))
    state_after: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Who acted through what (workflow/kernel/attribution.py); NULL on events written before
    # 0007_trust. ``wall_at`` is the real instant of an event made under a clock override.
    channel: Mapped[str | None] = mapped_column(String(16))
    credential: Mapped[str | None] = mapped_column(String(200))
    wall_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The key whose HMAC ``hash`` is (0008_audit_keys); NULL: plain SHA-256, an unkeyed trail.
    key_id: Mapped[str | None] = mapped_column(String(32))


class AuditHead(Base):
    """The newest (seq, hash) of each chain, moved only by a trigger on ``audit_events``
    (0008_audit_keys): a head always names the last event appended to its chain, and the
    application role cannot write this table itself."""

    __tablename__ = "audit_heads"

    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed-off snapshot of every chain head, itself chained; catches a chain removed whole."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    heads: Mapped[str] = mapped_column(Text)
    chain_count: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # 0008_audit_keys: the key of ``hash`` (an HMAC; NULL: plain SHA-256), the number of events
    # the heads add up to, and the newest event id then (tells beat whether anything is new).
    key_id: Mapped[str | None] = mapped_column(String(32))
    event_count: Mapped[int | None] = mapped_column(BigId)
    last_event_id: Mapped[int | None] = mapped_column(BigId)
