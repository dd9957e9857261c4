"""Frozen views of a document and an actor: everything a guard or permission rule may look at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

DISCLOSURES = ("proactive", "on_request", "not_disclosed")
MATERIAL_FORMS = ("text", "graphic", "video", "qa", "online_interview", "press_conference", "other")
CHANNELS = ("portal", "news_media", "new_media")
# The channels an interpretation must reach before the document is done (docs/design.md §1:
# 门户网站和新闻媒体): a posting on each, with a URL or evidence.
REQUIRED_CHANNELS = ("portal", "news_media")


@dataclass(frozen=True)
class MaterialSnapshot:
    form: str
    title: str
    content_hash: str = ""


@dataclass(frozen=True)
class PostingSnapshot:
    channel: str
    url: str | None
    evidence: str | None
    posted_at: datetime


@dataclass(frozen=True)
class SignerSnapshot:
    """A named signer as the sign-off rule sees them (states/signoff.py)."""

    login: str
    roles: frozenset[str] = field(default_factory=frozenset)
    unit_code: str = ""
    unit_kind: str = ""
    active: bool = True


@dataclass(frozen=True)
class DocumentSnapshot:
    """The facts of one document at one moment; built by the application, read by guards."""

    state: str
    unit_id: int | None = None
    unit_code: str = ""
    id: int | None = None
    title: str = ""
    doc_number: str | None = None
    body: str = ""
    disclosure: str | None = None
    risk_assessment_needed: bool | None = None
    risk_assessment: str | None = None
    response_plan: str | None = None
    plan: str | None = None
    interpreter_login: str | None = None
    interpreter_unit_id: int | None = None
    materials: tuple[MaterialSnapshot, ...] = ()
    signer_logins: frozenset[str] = field(default_factory=frozenset)
    signed_logins: frozenset[str] = field(default_factory=frozenset)
    package_hash: str = ""
    publication_url: str | None = None
    published_at: datetime | None = None
    postings: tuple[PostingSnapshot, ...] = ()
    # Who prepared the package, for the separation of duties in sign-off (states/signoff.py).
    creator_login: str | None = None
    editor_logins: frozenset[str] = field(default_factory=frozenset)
    """Who changed the text, plan, materials or interpreter since the last completed round."""
    unit_head_login: str | None = None
    signers: tuple[SignerSnapshot, ...] = ()
    """The facts of each named signer (``signer_logins`` names them)."""


@dataclass(frozen=True)
class ActorSnapshot:
    """Who is acting: a user's login, unit and roles (or the system itself)."""

    login: str
    unit_id: int | None
    unit_code: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    active: bool = True
    name: str = ""
    """The person's display name, for emails that say who acted ("" when not known)."""
    system: bool = False
    """The engine itself (the sweep, a calendar load's recomputation): a flag set only by
    :data:`SYSTEM`, never derived from a login, so no user account can carry it."""

    @property
    def is_system(self) -> bool:
        return self.system


RESERVED_LOGINS = frozenset({"system", "worker", "santongbu"})
"""Names no person may take (``user add``, the directory import, the API), in any case: the
engine acts as ``system`` (sweeps, recomputed deadlines), the worker and the product's own name
would read like it in the trail."""

SYSTEM = ActorSnapshot(login="system", unit_id=None, unit_code="", roles=frozenset({"system"}), system=True)
