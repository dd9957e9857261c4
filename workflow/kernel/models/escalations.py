"""One row per (document, ladder level): the record that makes each level fire exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.kernel.models.base import Base, UTCDateTime


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("document_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    level: Mapped[str] = mapped_column(String(32))
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    working_days_overdue: Mapped[int] = mapped_column(Integer, default=0)


class SweepState(Base):
    """What the sweep's hints (``documents.next_rung_at``) were computed with, by name: the
    ladder's JSON under ``ladder``. A sweep running with another ladder resets every hint."""

    __tablename__ = "sweep_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
