"""Units and users: who drafts, who signs, who supervises, who is escalated to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.kernel.models.base import Base, UTCDateTime


def role_set(stored: str | None) -> frozenset[str]:
    """The roles a ``users.roles`` value holds (a comma-separated set): one reading of the
    column for the ORM object and for every Core row that carries it."""
    return frozenset(r for r in (stored or "").split(",") if r)


UNIT_KINDS = ("drafting", "supervising", "leadership")
ROLES = ("member", "signer", "supervisor", "auditor", "admin", "leader")


class Unit(Base):
    """A 处室 or 单位. ``kind`` decides who is escalated to: supervising units (政法处,
    信息公开办) get the 1-day escalation, leadership the 3-day one."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="drafting")
    mailbox: Mapped[str | None] = mapped_column(String(320))
    head_login: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Group robots (docs/design.md §5): the webhook URL as the vendor shows it and, for
    # DingTalk, the signing secret. Both are credentials: never logged, never audited, never
    # shown back (views say only whether one is set). ``*_events`` is a comma-separated list of
    # notification events for that channel; NULL means every event routed to the unit.
    wecom_webhook: Mapped[str | None] = mapped_column(Text)
    wecom_events: Mapped[str | None] = mapped_column(String(400))
    dingtalk_webhook: Mapped[str | None] = mapped_column(Text)
    dingtalk_secret: Mapped[str | None] = mapped_column(Text)
    dingtalk_events: Mapped[str | None] = mapped_column(String(400))

    users: Mapped[list[User]] = relationship(back_populates="unit")


class User(Base):
    """A person (or, via API tokens, a system) acting on documents.

    ``roles`` is a comma-separated set from :data:`ROLES`; membership of ``unit`` alone lets a
    user edit and advance that unit's documents.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    roles: Mapped[str] = mapped_column(String(200), default="member")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    unit: Mapped[Unit] = relationship(back_populates="users")

    @property
    def role_set(self) -> frozenset[str]:
        return role_set(self.roles)


class UserUnitHistory(Base):
    """Which unit a user belonged to, and from when to when: one open row (``until`` NULL) per
    user, closed and followed by a new one when the user moves (audited as ``user_moved``)."""

    __tablename__ = "user_unit_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    changed_by: Mapped[str | None] = mapped_column(String(64))
