"""The outbox: one row per email, written in the same transaction as the change that causes it.

The row keeps the facts the email shows as they were when it was queued (``context``, frozen
JSON), so a later edit of the title does not rewrite history; the templates are rendered, and
the Message-ID derived, when the row is delivered (:mod:`notifications.content`), which keeps
that work out of the change's transaction. Delivery is a separate step
(:mod:`notifications.delivery`) that claims rows, sends them and records their fate.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.kernel.models.base import Base, UTCDateTime

STATUSES = ("pending", "sending", "sent", "failed")
CHANNELS = ("email", "wecom", "dingtalk")


class OutboxMessage(Base):
    """One email and its delivery state.

    ``to_addrs`` / ``cc_addrs`` hold JSON lists of ``{"name": ..., "address": ...}``: the
    envelope recipients are taken from here, never parsed back out of headers, so nothing in a
    title or a name can add a recipient. ``dedupe_key`` is unique: the same (document, event,
    level) email is never queued twice, however many sweeps run at once.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
        CheckConstraint("channel IN ('email', 'wecom', 'dingtalk')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    to_addrs: Mapped[str] = mapped_column(Text, default="[]")
    cc_addrs: Mapped[str] = mapped_column(Text, default="[]")
    context: Mapped[str | None] = mapped_column(Text)
    """The template's facts as JSON, frozen when queued; the template is the row's ``event`` in
    its ``language`` (the email's three, or a group robot's Markdown by ``channel``)."""
    subject: Mapped[str | None] = mapped_column(Text)
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    """``subject`` and the bodies: the email as rendered when queued, for rows queued before
    migration 0016 (no ``context``); ``NULL`` since."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    send_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Set (under the current claim) just before the row is handed to the transport."""
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    """Stored by rows queued before migration 0016; derived from the row since
    (:func:`notifications.content.message_id_for`)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="email", server_default="email")
    """``email``, or a group robot (``wecom``, ``dingtalk``): then ``unit_id`` names the unit
    whose webhook it goes to (read when it is sent, never copied here) and the address lists
    are empty."""
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))

    @property
    def to_list(self) -> list[dict[str, str]]:
        return _load(self.to_addrs)

    @property
    def cc_list(self) -> list[dict[str, str]]:
        return _load(self.cc_addrs)

    @property
    def envelope_recipients(self) -> list[str]:
        """Every address the message goes to (To then Cc), each once."""
        seen: dict[str, str] = {}
        for item in self.to_list + self.cc_list:
            seen.setdefault(item["address"].lower(), item["address"])
        return list(seen.values())

    def as_dict(self, *, bodies: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "document_id": self.document_id,
            "event": self.event,
            "language": self.language,
            "to": [r["address"] for r in self.to_list],
            "cc": [r["address"] for r in self.cc_list],
            "subject": self.subject,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "claimed_at": self.claimed_at,
            "claimed_by": self.claimed_by,
            "sent_at": self.sent_at,
            "last_error": self.last_error,
            "message_id": self.message_id,
            "created_at": self.created_at,
            "dedupe_key": self.dedupe_key,
            "channel": self.channel,
        }
        if bodies:
            data["body_text"] = self.body_text
            data["body_html"] = self.body_html
        return data


def _load(text: str | None) -> list[dict[str, str]]:
    return list(json.loads(text or "[]"))


def dump_recipients(items: list[dict[str, str]]) -> str:
    return json.dumps(items, ensure_ascii=False)
