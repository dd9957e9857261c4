"""What the evidence checker found for one page at one instant (docs/evidence.md).

One row per check, kept for good: the history of a page. The row a page's current standing is
read from has ``is_current``; a unique partial index allows one per target (``doc:<id>`` for the
policy page, ``posting:<id>`` for a posting), so two checkers racing on the same page cannot both
record — the later one's insert fails and it writes nothing. Postings and documents are only
referred to, never changed: evidence lives beside them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.kernel.models.base import Base, UTCDateTime


class EvidenceCheck(Base):
    __tablename__ = "evidence_checks"
    __table_args__ = (
        Index(
            "uq_evidence_checks_current",
            "target",
            unique=True,
            postgresql_where=text("is_current"),
            sqlite_where=text("is_current"),
        ),
        # The checker's candidates: current rows whose next look is due.
        Index(
            "ix_evidence_checks_due",
            "next_check_at",
            postgresql_where=text("is_current"),
            sqlite_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(40))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(2000))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of ``{"code", "params"}`` (states/evidence.py MESSAGES)."""
    http_status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(String(2000))
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    """Of the page's bytes as read (content encoding removed); names the kept WARC record."""
    title: Mapped[str | None] = mapped_column(String(500))
    page_date: Mapped[str | None] = mapped_column(String(40))
    """The date (or date and time) the page shows, ISO 8601, as found."""
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    change: Mapped[str | None] = mapped_column(String(16))
    """``first``, ``same``, ``changed`` or ``disappeared``, against the check before."""
    findings: Mapped[str] = mapped_column(Text, default="{}")
    """JSON: what the analysis saw (names title / number, links, charset, redirects…)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Consecutive unreachable checks, this one included."""
    bad_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    next_check_at: Mapped[datetime] = mapped_column(UTCDateTime())
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def reason_list(self) -> list[dict[str, Any]]:
        return list(json.loads(self.reasons or "[]"))

    @property
    def finding_map(self) -> dict[str, Any]:
        return dict(json.loads(self.findings or "{}"))
