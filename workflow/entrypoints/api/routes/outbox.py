"""The email outbox: what was emailed, what waits, what failed; retry.

The outbox service (:class:`workflow.services.outbox_admin.OutboxAdmin`) answers, for the API
as for ``santongbu outbox``: reading is for those who may read the whole trail (``may_audit``:
administrators, auditors, supervisors, leaders), a retry for administrators; refusals audited.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from workflow.entrypoints.api.deps import CallerDep, ServicesDep
from workflow.entrypoints.api.problems import responses
from workflow.entrypoints.api.schemas import MAX_ID
from workflow.entrypoints.api.times import Shown

router = APIRouter(prefix="/outbox", tags=["outbox"])

OutboxId = Annotated[int, Path(ge=1, le=MAX_ID, description="The email's id in the outbox.")]


class Email(BaseModel):
    id: int
    document_id: int | None
    channel: Literal["email", "wecom", "dingtalk"] = "email"
    """email, or a unit's WeCom or DingTalk group robot (then to and cc are empty)."""
    event: str
    language: str
    to: list[str]
    cc: list[str]
    subject: str
    status: Literal["pending", "sending", "sent", "failed"]
    attempts: int
    next_attempt_at: Shown
    claimed_at: Shown | None
    claimed_by: str | None
    sent_at: Shown | None
    last_error: str | None
    message_id: str | None
    created_at: Shown
    dedupe_key: str | None


class EmailWithBodies(Email):
    body_text: str
    body_html: str


@router.get("", response_model=list[Email], responses=responses(401, 403, 422, 503))
def list_outbox(
    who: CallerDep,
    svc: ServicesDep,
    status: Annotated[Literal["pending", "sending", "sent", "failed"] | None, Query()] = None,
    document_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only emails about this document.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    """Emails in the outbox, newest first."""
    return [
        svc.outbox.view(row)
        for row in svc.outbox.list(who.login, status=status, document_id=document_id, limit=limit)
    ]


@router.get("/{outbox_id}", response_model=EmailWithBodies, responses=responses(401, 403, 404, 422, 503))
def show_email(outbox_id: OutboxId, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """One email with its text and HTML bodies."""
    return svc.outbox.view(svc.outbox.show(who.login, outbox_id), bodies=True)


@router.post("/{outbox_id}/retry", response_model=Email, responses=responses(401, 403, 404, 422, 503))
def retry_email(outbox_id: OutboxId, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """Send a failed (or waiting) email again now, with a fresh attempt count (administrators)."""
    return svc.outbox.view(svc.outbox.retry(who.login, outbox_id))
