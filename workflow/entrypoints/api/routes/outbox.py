"""The email outbox, for administrators: what was emailed, what waits, what failed; retry.

Listing is a read of the outbox table (administrators only, refusals audited); a retry goes
through :func:`notifications.delivery.retry`, which checks the right and audits itself.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel
from sqlalchemy import select

from notifications.delivery import retry
from workflow.kernel.models.outbox import OutboxMessage
from states.reasons import Reason

from workflow.kernel.errors import NotFound
from workflow.entrypoints.api.auth import Caller
from workflow.entrypoints.api.deps import CallerDep, ServicesDep, require_admin
from workflow.entrypoints.api.problems import responses
from workflow.entrypoints.api.schemas import MAX_ID

router = APIRouter(prefix="/outbox", tags=["outbox"])

OutboxId = Annotated[int, Path(ge=1, le=MAX_ID, description="The email's id in the outbox.")]


class Email(BaseModel):
    id: int
    document_id: int | None
    event: str
    language: str
    to: list[str]
    cc: list[str]
    subject: str
    status: Literal["pending", "sending", "sent", "failed"]
    attempts: int
    next_attempt_at: datetime
    claimed_at: datetime | None
    claimed_by: str | None
    sent_at: datetime | None
    last_error: str | None
    message_id: str | None
    created_at: datetime
    dedupe_key: str | None


class EmailWithBodies(Email):
    body_text: str
    body_html: str


@router.get("", response_model=list[Email], responses=responses(401, 403, 422, 503))
def list_outbox(
    who: Annotated[Caller, Depends(require_admin("outbox_list"))], svc: ServicesDep,
    status: Annotated[Literal["pending", "sending", "sent", "failed"] | None, Query()] = None,
    document_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only emails about this document.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    """Emails in the outbox, newest first."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    if document_id is not None:
        stmt = stmt.where(OutboxMessage.document_id == document_id)
    with svc.db.transaction() as session:
        return [row.as_dict() for row in session.scalars(stmt)]


@router.get("/{outbox_id}", response_model=EmailWithBodies, responses=responses(401, 403, 404, 422, 503))
def show_email(outbox_id: OutboxId, who: Annotated[Caller, Depends(require_admin("outbox_show"))],
               svc: ServicesDep) -> dict[str, Any]:
    """One email with its text and HTML bodies."""
    with svc.db.transaction() as session:
        row = session.get(OutboxMessage, outbox_id)
        if row is None:
            raise NotFound(Reason("invalid", {"field": "outbox id", "problem": f"no email with id {outbox_id}"}))
        return row.as_dict(bodies=True)


@router.post("/{outbox_id}/retry", response_model=Email, responses=responses(401, 403, 404, 422, 503))
def retry_email(outbox_id: OutboxId, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """Send a failed (or waiting) email again now, with a fresh attempt count (administrators)."""
    return retry(svc.db, outbox_id, who.actor, svc.clock).as_dict()
