"""What the evidence checker hands back: one check's result, a run's, a shown page
(docs/evidence.md).

Split from :mod:`workflow.services.evidence.service` so the value types its callers (the CLI,
the workers, the document page) read stay apart from the fetching and recording that make them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from states import evidence as ev
from states.reasons import Reason


@dataclass(frozen=True)
class Checked:
    """What one check found and recorded (``recorded`` false: a racing checker recorded first)."""

    document_id: int
    posting_id: int | None
    channel: str
    url: str
    status: str
    reasons: tuple[Reason, ...]
    checked_at: datetime
    sha256: str | None
    change: str
    check_id: int | None
    recorded: bool
    emails: tuple[int, ...] = ()

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "posting_id": self.posting_id,
            "channel": self.channel,
            "url": self.url,
            "status": self.status,
            "reasons": [r.as_dict(lang) for r in self.reasons],
            "checked_at": self.checked_at,
            "sha256": self.sha256,
            "change": self.change,
            "check_id": self.check_id,
            "recorded": self.recorded,
            "emails_queued": list(self.emails),
        }


@dataclass
class CheckRun:
    now: datetime
    checked: list[Checked] = field(default_factory=list)

    @property
    def emails(self) -> int:
        return sum(len(c.emails) for c in self.checked)

    def count(self, status: str) -> int:
        return sum(1 for c in self.checked if c.recorded and c.status == status)

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "now": self.now,
            "checked": [c.as_dict(lang) for c in self.checked],
            "counts": {s: self.count(s) for s in ev.RECORDED},
            "emails_queued": self.emails,
        }


class Reader(Protocol):
    """Who may read a document's evidence: whoever may read the document (the documents
    service, which audits a refused read)."""

    def read_document(self, login: str, doc_id: int) -> Any: ...


@dataclass(frozen=True)
class Shown:
    """One check and, when it kept one, its page (``santongbu evidence show``; the document page)."""

    check: dict[str, Any]
    headers: list[tuple[str, str]] | None
    body: bytes | None
    warc_path: str | None

    @property
    def content_type(self) -> str | None:
        return next((v for k, v in self.headers or [] if k.lower() == "content-type"), None)
