"""Who is signed in, and who keeps failing to: web sessions, sign-in throttles, audit bursts.

* :class:`WebSession` — a signed-in session of the pages. The cookie carries a random session id;
  the database keeps only its SHA-256 digest (like API tokens: 192 random bits cannot be guessed
  from a digest, and the lookup goes through the primary key). Ending a session sets
  ``ended_at``: sign-out, a new password, deactivation and an administrator's "end sessions"
  take effect on the next request, in every server process.
* :class:`AuthThrottle` — failed authentications per key (an account, a client address, an
  account from one address), shared by every process because it lives in the database.
* :class:`AuditBurst` — refusals that come in bursts (anonymous sign-in failures from one
  address, concurrent-change refusals on one document), counted here and written to the audit
  trail as one event per key and window.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.kernel.models.base import Base, UTCDateTime


class WebSession(Base):
    """One signed-in session of the web pages."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    address: Mapped[str | None] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_why: Mapped[str | None] = mapped_column(String(32))

    @property
    def ref(self) -> str:
        """How logs and the audit trail name the session: a prefix of its digest."""
        return session_ref(self.id_hash)


def session_ref(id_hash: str) -> str:
    return "ws:" + id_hash[:12]


class AuthThrottle(Base):
    """Failed authentications of one key within the current window, and the delay they earned."""

    __tablename__ = "auth_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditBurst(Base):
    """Refusals of one kind and key, counted since ``since`` and not yet in the audit trail."""

    __tablename__ = "audit_bursts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    action: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[int | None] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    count: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[str] = mapped_column(Text, default="{}")
