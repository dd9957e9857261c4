"""What the API shows of claimed and recorded instants, confirmations and corrections
(docs/design.md §7; workflow/services/claims.py computes them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from workflow.entrypoints.api.evidence_schemas import EvidenceOut
from workflow.entrypoints.api.times import Shown


class ClaimOut(BaseModel):
    """A claimed instant beside the server's recorded one (docs/design.md §7)."""

    claimed_at: Shown
    recorded_at: Shown | None
    awaiting_confirmation: bool = Field(
        description="Claimed more than the grace window before it was "
        "recorded and not yet confirmed by a supervisor."
    )
    confirmed_by: str | None
    confirmed_at: Shown | None
    confirm_reason: str | None
    migrated: bool = Field(description="Recorded before claims were judged; counted as claimed.")


class PublicationOut(ClaimOut):
    backdated: bool


class PostingOut(ClaimOut):
    id: int
    channel: str
    outlet: str | None
    url: str | None
    evidence: EvidenceOut = Field(
        description="What the evidence checker found for this posting's page; the clerk's own "
        "evidence text is its note."
    )
    posted_at: Shown = Field(description="The claimed instant (same as claimed_at).")
    counted_at: Shown = Field(
        description="The instant the posting counts from: the claim, or the "
        "recording while the claim awaits confirmation."
    )
    recorded_by: str | None


class CorrectionOut(BaseModel):
    at: Shown
    by: str | None
    what: str | None
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    favourable: bool
