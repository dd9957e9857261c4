"""Request and response bodies of the HTTP API.

Requests are checked here before any service sees them, so that nothing a caller sends can
make the server fail: texts may not hold NUL or lone surrogates (PostgreSQL and UTF-8 refuse
them further down), instants must carry a zone and lie in a plausible year (date arithmetic
overflows at year 1 and 9999), ids fit the 32-bit columns, and unknown fields are refused by
name instead of silently ignored. The services check the same facts again: these are for
clear 422s, not for authority.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from states.instants import EARLIEST_YEAR, LATEST_YEAR, InstantError, check_instant
from states.lifecycle import State
from states.snapshot import CHANNELS, DISCLOSURES, MATERIAL_FORMS
from states.text import CONTROL_PROBLEM, LINE_PROBLEM, text_problem
from workflow.entrypoints.api.claims_schemas import CorrectionOut, PostingOut, PublicationOut
from workflow.entrypoints.api.evidence_schemas import EvidenceOut
from workflow.entrypoints.api.messages import VALIDATION
from workflow.entrypoints.api.times import Shown
from workflow.kernel.models.directory import ROLES, UNIT_KINDS
from workflow.services.documents.transaction import Outcome as ServiceOutcome

MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
MIN_YEAR, MAX_YEAR = 1990, 2200  # calendar years, as the calendar files; outside it dates are mistakes
# An aware instant's lower bound (2000-01-01 00:00) is read in the default working zone.
WORKING_ZONE = "Asia/Shanghai"


def _text(value: str) -> str:
    """The one rule of :mod:`states.text`, checked here first to name the field in a 422."""
    if text_problem(value):
        raise PydanticCustomError("bad_text", CONTROL_PROBLEM)
    return value


def _line(value: str) -> str:
    _text(value)
    if text_problem(value, one_line=True):
        raise PydanticCustomError("one_line", LINE_PROBLEM)
    return value


def _year(value: datetime) -> datetime:
    """The one rule for typed instants (:mod:`states.instants`): from 2000 to 2200."""
    try:
        return check_instant(value, WORKING_ZONE)
    except InstantError:
        raise PydanticCustomError(
            "year_range",
            VALIDATION["year_range"],
            {"low": EARLIEST_YEAR, "high": LATEST_YEAR},
        ) from None


# No length here: the one size limit (SANTONGBU_MAX_TEXT_BYTES, in UTF-8 bytes) is the service's.
Text = Annotated[str, AfterValidator(_text)]
ALLOW_DUPLICATE = "Accept a document number (文号) another document already has (refused otherwise)."
Reason2000 = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_text)]
Line200 = Annotated[str, StringConstraints(max_length=200), AfterValidator(_line)]
Line500 = Annotated[str, StringConstraints(max_length=500), AfterValidator(_line)]
Url = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_line)]
Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_line)]
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
Instant = Annotated[AwareDatetime, AfterValidator(_year)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

Disclosure = Literal[DISCLOSURES]  # type: ignore[valid-type]
MaterialForm = Literal[MATERIAL_FORMS]  # type: ignore[valid-type]
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
UnitKind = Literal[UNIT_KINDS]  # type: ignore[valid-type]
Role = Literal[ROLES]  # type: ignore[valid-type]
if TYPE_CHECKING:
    StateName = str
else:  # the states' names, from the one declaration in states/ (mypy cannot read a computed Literal)
    StateName = Literal[tuple(s.value for s in State)]


class Strict(BaseModel):
    """A request body: unknown fields are refused, by name."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------- documents
class DocumentCreate(Strict):
    title: Line500 = Field(description="Title of the policy document.")
    doc_number: Line200 | None = Field(default=None, description="Document number (文号) or working title.")
    body: Text = Field(default="", description="The policy text.")
    disclosure: Disclosure | None = Field(
        default=None, description="公开属性: proactive, on_request or not_disclosed."
    )
    risk_assessment_needed: bool | None = Field(default=None, description="Whether a 舆情风险评估 is needed.")
    unit: Code | None = Field(
        default=None, description="Drafting unit; defaults to (and must be) the caller's own."
    )
    allow_duplicate_number: bool = Field(default=False, description=ALLOW_DUPLICATE)


class DocumentEdit(Strict):
    """Only the fields present are changed; ``null`` clears an optional field."""

    title: Line500 | None = None
    doc_number: Line200 | None = None
    body: Text | None = None
    plan: Text | None = Field(default=None, description="The interpretation plan (解读方案).")
    risk_assessment: Text | None = None
    response_plan: Text | None = Field(default=None, description="应对处置预案.")
    disclosure: Disclosure | None = None
    risk_assessment_needed: bool | None = None
    interpreter: Code | None = Field(
        default=None, description="Login of the interpreter, from the drafting unit."
    )
    allow_duplicate_number: bool = Field(default=False, description=ALLOW_DUPLICATE)


class MaterialIn(Strict):
    form: MaterialForm
    title: Line500
    body: Text | None = None
    uri: Url | None = Field(default=None, description="http(s) URL of the material.")


class SignersIn(Strict):
    signers: list[Code] = Field(min_length=1, max_length=50, description="Logins of everyone who must sign.")


class TriggerIn(Strict):
    reason: Reason2000 | None = Field(
        default=None, description="Required for reject, reject_to_draft and withdraw."
    )
    publication_url: Url | None = Field(default=None, description="publish: where the policy text is public.")
    published_at: Instant | None = Field(
        default=None, description="publish: when it went public (default now)."
    )
    backdated: bool = Field(
        default=False,
        description="publish: published_at really lies more than the grace "
        "window (24 h) in the past; refused otherwise. A supervisor confirms it later.",
    )


class ConfirmIn(Strict):
    what: Literal["publication", "portal", "news_media"] = Field(
        description="The publication, or the postings of one channel, whose claimed time is confirmed."
    )
    reason: Reason2000 = Field(description="Why the claimed time is right (kept in the audit trail).")


class CorrectionIn(Strict):
    what: Literal["publication", "portal", "news_media"] = Field(
        description="The publication, or a channel's posting."
    )
    reason: Reason2000 = Field(description="Why (kept in the audit trail with the original values).")
    url: Url | None = None
    at: Instant | None = Field(
        default=None,
        description="The right instant. An earlier posting or a later "
        "publication favours the drafting unit and needs a supervisor.",
    )
    outlet: Line200 | None = None
    evidence: Reason2000 | None = None
    posting_id: Id | None = Field(default=None, description="Which posting, when the channel has several.")


class SignIn(Strict):
    package: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = Field(
        default=None, description="The package hash the signer read; refused with 409 if it changed since."
    )


class RejectIn(Strict):
    reason: Reason2000
    to: Literal["plan", "draft"] = Field(
        default="plan", description="Back to the interpretation plan or to the draft."
    )


class PostingIn(Strict):
    channel: Channel
    url: Url | None = None
    outlet: Line200 | None = Field(default=None, description="e.g. 福州日报, 微信公众号.")
    evidence: Reason2000 | None = Field(default=None, description="Evidence when there is no URL.")
    posted_at: Instant | None = Field(default=None, description="When it went out (default now).")


# What a command did: the service's own dataclass, used as the response model as it is.
Outcome = ServiceOutcome


class DocumentSummary(BaseModel):
    id: int
    unit: str
    title: str
    doc_number: str | None
    state: str
    due_at: Shown | None
    due_provisional: bool
    on_time: bool | None
    version: int


class DocumentHit(DocumentSummary):
    """A line of the document list; with ``?q=``, where the search found it."""

    matched: list[Literal["title", "doc_number", "body", "plan"]] | None = Field(
        default=None, description="With ?q=: the fields a search word was found in."
    )
    excerpt: str | None = Field(default=None, description="With ?q=: the text around the first match.")


class MaterialOut(BaseModel):
    id: int
    form: str
    title: str
    uri: str | None
    body: str | None
    content_hash: str
    file_sha256: str | None = Field(
        default=None, description="The file's SHA-256, when the material is a file."
    )
    file_size: int | None = None
    file_type: str | None = Field(default=None, description="Its type, as sniffed from the content.")
    file_name: str | None = None


class SignerOut(BaseModel):
    login: str
    signed: bool


class SignatureOut(BaseModel):
    login: str | None
    package_hash: str
    signed_at: Shown
    voided_at: Shown | None
    void_reason: str | None


class NextStep(BaseModel):
    trigger: str
    ready: bool
    missing: list[str]


class TimelineEvent(BaseModel):
    seq: int
    at: Shown
    actor: str | None
    actor_unit: str | None
    action: str
    outcome: str
    state_before: str | None
    state_after: str | None
    details: dict[str, Any]
    channel: str | None = Field(
        default=None, description="cli, api, web, worker or system (none before 0007)."
    )
    credential: str | None = Field(
        default=None, description="token:<id>, session:<hash>, os:USER@HOST, worker:<host>."
    )
    wall_at: Shown | None = Field(
        default=None, description="The real time of an event made under a clock override."
    )
    clock_override: bool = False


class DocumentView(BaseModel):
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
    materials: list[MaterialOut]
    signers: list[SignerOut]
    signatures: list[SignatureOut]
    publication_url: str | None
    published_at: Shown | None
    publication: PublicationOut | None
    publication_evidence: EvidenceOut | None
    due_at: Shown | None
    due_provisional: bool
    postings: list[PostingOut]
    claims_waiting: int = Field(description="Claims awaiting a supervisor's confirmation.")
    corrections: list[CorrectionOut]
    posted_at: Shown | None
    on_time: bool | None
    working_days_taken: int | None
    working_days_late: int | None
    closed_reason: str | None
    created_at: Shown
    updated_at: Shown
    next_steps: list[NextStep]
    timeline: list[TimelineEvent] | None = Field(
        default=None, description="The audit timeline (unless ?timeline=false)."
    )


# ---------------------------------------------------------------------------- directory
class Me(BaseModel):
    login: str
    name: str
    unit: str
    roles: list[str]
    token_id: int


class UnitIn(Strict):
    code: Code
    name: Line200
    kind: UnitKind = "drafting"
    mailbox: Email | None = None
    head: Code | None = Field(default=None, description="Login of the unit's head.")


class UserIn(Strict):
    login: Code
    name: Line200
    unit: Code
    email: Email | None = None
    roles: list[Role] = Field(default_factory=lambda: ["member"], max_length=len(ROLES))


class UserPatch(Strict):
    roles: list[Role] | None = Field(default=None, max_length=len(ROLES))
    email: Email | None = None
    name: Line200 | None = None
    unit: Code | None = None
    active: bool | None = Field(default=None, description="false deactivates a user who left.")


class UserOut(BaseModel):
    login: str
    name: str
    email: str | None
    unit: str
    roles: list[str]
    active: bool


class TokenIn(Strict):
    login: Code = Field(description="Whose token it is.")
    name: Line200 | None = Field(default=None, description="What it is for, e.g. 'portal sync'.")
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="The token stops working this many days from now; absent: until revoked.",
    )


class TokenOut(BaseModel):
    id: int
    login: str
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: Shown
    created_by: str
    revoked_at: Shown | None
    revoked_by: str | None
    expires_at: Shown | None = Field(description="When it stops working by itself (null: never).")
    last_used_at: Shown | None = Field(description="When it was last presented (to the minute).")
    active: bool = Field(description="Neither revoked nor expired.")


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown this once; only its SHA-256 digest is stored.")


# ---------------------------------------------------------------------------- deadline, calendar
class DeadlineOut(BaseModel):
    published_at: Shown
    published_on: date = Field(description="The publication day in the working zone.")
    days: int = Field(description="Working days allowed (setting deadline_days).")
    due_at: Shown = Field(description="The deadline instant.")
    due_local: Shown = Field(description="The same instant in the working zone: 23:59:59 of the due day.")
    due_date: date
    counted_days: list[date] = Field(description="The working days counted, day 1 first.")
    provisional: bool = Field(description="True if a year in the span has no official holiday schedule yet.")
    sources: dict[str, str] = Field(description="Year → where its working days came from.")


class CalendarDayOut(BaseModel):
    date: date
    name: str


class CalendarYearOut(BaseModel):
    year: int
    loaded: bool = Field(description="True if an administrator loaded this year (it overrides the packages).")
    official: bool
    source: str
    notice: str | None
    holidays: list[CalendarDayOut]
    workdays: list[CalendarDayOut] = Field(description="Make-up working days (调休).")


class MovedDeadlineOut(BaseModel):
    document_id: int
    old_due: Shown | None
    new_due: Shown
    old_provisional: bool
    new_provisional: bool


class CalendarLoadOut(BaseModel):
    year: int
    source: str
    official: bool
    holidays: int
    workdays: int
    replaced: str | None
    documents_checked: int
    documents_moved: int
    changed: list[MovedDeadlineOut]


# ---------------------------------------------------------------------------- health
class Check(BaseModel):
    status: Literal["ok", "error", "embedded", "unchecked", "unkeyed"]
    detail: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Check
    broker: Check
    audit: Check | None = None
