"""Typed read models of documents: what :class:`~workflow.services.documents.reads.DocumentReads`
hands the interfaces (API, web pages, CLI), so a checker sees what each one consumes.

Each is a frozen dataclass; ``as_dict()`` gives the plain form the API answers with and the
CLI prints with ``--json`` (same keys, same order, lists for sequences), so the JSON the
interfaces put out is what it was when the reads returned dictionaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from workflow.services.evidence.views import EvidenceView


def _plain(value: Any) -> Any:
    if isinstance(value, (_View, EvidenceView)):
        return value.as_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _View:
    """``as_dict`` for every read model: its fields in declaration order, nested models and
    sequences made plain."""

    def as_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class MaterialView(_View):
    id: int
    form: str
    title: str
    uri: str | None
    body: str | None
    content_hash: str
    file_sha256: str | None = None
    file_size: int | None = None
    file_type: str | None = None
    file_name: str | None = None


@dataclass(frozen=True)
class SignerView(_View):
    login: str
    signed: bool


@dataclass(frozen=True)
class SignatureView(_View):
    login: str | None
    package_hash: str
    signed_at: datetime
    voided_at: datetime | None
    void_reason: str | None


@dataclass(frozen=True)
class PublicationClaimView(_View):
    """The publication's claimed instant beside the server's recorded one (docs/design.md §7)."""

    claimed_at: datetime
    recorded_at: datetime | None
    backdated: bool
    """Claimed more than the grace window before it was recorded."""
    awaiting_confirmation: bool
    confirmed_by: str | None
    confirmed_at: datetime | None
    confirm_reason: str | None
    migrated: bool
    """Recorded before claims were judged (migration 0007): counted as claimed."""


@dataclass(frozen=True)
class PostingView(_View):
    """A posting: its facts, the claimed instant (``posted_at`` = ``claimed_at``) beside the
    recorded one, the instant it counts from, and the state of its claim (docs/design.md §7)."""

    id: int
    channel: str
    outlet: str | None
    url: str | None
    evidence: EvidenceView
    """What the evidence checker found for this posting's page (docs/evidence.md); the clerk's
    own evidence text is its ``note``."""
    posted_at: datetime
    recorded_by: str | None
    claimed_at: datetime
    recorded_at: datetime | None
    counted_at: datetime
    """The claim, or the recording while the claim awaits a supervisor's confirmation."""
    awaiting_confirmation: bool
    confirmed_by: str | None
    confirmed_at: datetime | None
    confirm_reason: str | None
    migrated: bool


@dataclass(frozen=True)
class CorrectionView(_View):
    """An audited correction of the published record: who, when, why, the values before and after."""

    at: datetime
    by: str | None
    what: str | None
    reason: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    favourable: bool
    """More favourable to the drafting unit (an earlier posting, a later publication)."""


@dataclass(frozen=True)
class NextStep(_View):
    """A trigger offered in the document's state, and what it still lacks, in words."""

    trigger: str
    ready: bool
    missing: tuple[str, ...]


@dataclass(frozen=True)
class DocumentView(_View):
    """One document as its reader sees it: package, signatures, postings, deadline, next steps."""

    id: int
    title: str
    doc_number: str | None
    unit: str
    state: str
    version: int
    disclosure: str | None
    risk_assessment_needed: bool | None
    risk_assessment: str | None
    response_plan: str | None
    plan: str | None
    body: str
    interpreter: str | None
    package_hash: str
    materials: tuple[MaterialView, ...]
    signers: tuple[SignerView, ...]
    signatures: tuple[SignatureView, ...]
    publication_url: str | None
    published_at: datetime | None
    publication: PublicationClaimView | None
    publication_evidence: EvidenceView | None
    due_at: datetime | None
    due_provisional: bool
    postings: tuple[PostingView, ...]
    claims_waiting: int
    """Claims awaiting a supervisor's confirmation (the publication's and the postings')."""
    corrections: tuple[CorrectionView, ...]
    posted_at: datetime | None
    on_time: bool | None
    working_days_taken: int | None
    working_days_late: int | None
    closed_reason: str | None
    created_at: datetime
    updated_at: datetime
    next_steps: tuple[NextStep, ...]


@dataclass(frozen=True)
class DocumentSummary(_View):
    """One line of the document list."""

    id: int
    unit: str
    title: str
    doc_number: str | None
    state: str
    due_at: datetime | None
    due_provisional: bool
    on_time: bool | None
    version: int


@dataclass(frozen=True)
class TimelineEvent(_View):
    """One event of a document's audit chain."""

    seq: int
    at: datetime
    actor: str | None
    actor_unit: str | None
    action: str
    outcome: str
    state_before: str | None
    state_after: str | None
    details: Mapping[str, Any]
    channel: str | None = None
    """cli, api, web, worker or system (none on events from before migration 0007)."""
    credential: str | None = None
    wall_at: datetime | None = None
    """The real instant of an event made under a clock override."""
    clock_override: bool = False
