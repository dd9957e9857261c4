"""What the API shows of the evidence checker's findings for a page (docs/evidence.md;
workflow/services/evidence/ computes them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from workflow.entrypoints.api.times import Shown


class EvidenceReason(BaseModel):
    code: str
    params: dict[str, Any]
    message: str


class EvidenceOut(BaseModel):
    """What the evidence checker found for a page (docs/evidence.md); ``note`` is the clerk's
    own evidence text."""

    status: Literal["verified", "mismatch", "unreachable", "unchecked", "pending"]
    checked_at: Shown | None
    sha256: str | None
    reasons: list[EvidenceReason]
    check_id: int | None
    url: str | None
    final_url: str | None
    http_status: int | None
    title: str | None
    page_date: str | None
    change: str | None
    next_check_at: Shown | None
    note: str | None
    findings: dict[str, Any]
