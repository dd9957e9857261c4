"""The evidence of one page as readers see it (``santongbu doc show --json``: each posting's
``evidence`` object; the document page; the API). Imports nothing of the project's services, so
the documents service can hand it out without importing the checker."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EvidenceView:
    """``status`` (states/evidence.py), when it was checked, the kept page's SHA-256 and the
    reasons of a mismatch or of an unreachable page (``code``, ``params``, ``message``).

    ``note`` is what the clerk typed as evidence when recording the posting (a newspaper's page
    and date); ``check_id`` opens the check and its kept page (``santongbu evidence show``)."""

    status: str
    checked_at: datetime | None = None
    sha256: str | None = None
    reasons: tuple[dict[str, Any], ...] = ()
    check_id: int | None = None
    url: str | None = None
    final_url: str | None = None
    http_status: int | None = None
    title: str | None = None
    page_date: str | None = None
    change: str | None = None
    next_check_at: datetime | None = None
    note: str | None = None
    findings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = [dict(r) for r in self.reasons]
        return out
