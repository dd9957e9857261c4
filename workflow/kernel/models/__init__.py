"""All tables. Importing this package registers every model on :data:`Base.metadata`, the
outbox included (its rows are written and delivered by :mod:`notifications`)."""

from workflow.kernel.models.access import AuditBurst, AuthThrottle, WebSession
from workflow.kernel.models.audit import AuditCheckpoint, AuditEvent, AuditHead
from workflow.kernel.models.base import Base, UTCDateTime
from workflow.kernel.models.calendar import CalendarDay, CalendarYear
from workflow.kernel.models.directory import ROLES, UNIT_KINDS, Unit, User, UserUnitHistory
from workflow.kernel.models.documents import Document, DocumentEditor, Material, Posting, Signature, Signer
from workflow.kernel.models.escalations import Escalation, SweepState
from workflow.kernel.models.evidence import EvidenceCheck
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.models.tokens import ApiToken  # noqa: F401  (registers api_tokens)

__all__ = [
    "ROLES",
    "UNIT_KINDS",
    "AuditBurst",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "AuthThrottle",
    "Base",
    "CalendarDay",
    "CalendarYear",
    "Document",
    "DocumentEditor",
    "Escalation",
    "EvidenceCheck",
    "Material",
    "OutboxMessage",
    "Posting",
    "Signature",
    "Signer",
    "SweepState",
    "UTCDateTime",
    "Unit",
    "User",
    "UserUnitHistory",
    "WebSession",
]
