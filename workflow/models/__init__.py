"""All tables. Importing this package registers every model on :data:`Base.metadata`,
including the ones owned by other packages (the outbox lives in :mod:`notifications`)."""
from .audit import AuditCheckpoint, AuditEvent, AuditHead
from .base import Base, UTCDateTime
from .calendar import CalendarDay, CalendarYear
from .directory import ROLES, UNIT_KINDS, Unit, User
from .documents import Document, Material, Posting, Signature, Signer
from .escalations import Escalation, SweepState
from .tokens import ApiToken  # noqa: F401  (registers api_tokens)

__all__ = [
    "AuditCheckpoint", "AuditEvent", "AuditHead", "Base", "UTCDateTime", "ROLES", "UNIT_KINDS",
    "Unit", "User", "Document", "Material", "Posting", "Signature", "Signer", "Escalation",
    "SweepState",
]
