"""What an outbox row says — subject, bodies, Message-ID — worked out when it is sent or shown.

A row keeps the facts its template shows, frozen as JSON when it was queued (``context``); the
templates are rendered here, at delivery, not in the transaction of the change that queued the
email (the sweep rendered three templates per escalated document inside its batches). The
email still says what was true when it was queued, whatever happened to the document since.

Everything here is a function of the row and of the installation's mail domain, so a
redelivery — after a crash, a retry, a takeover — builds the same email with the same
Message-ID, and mail clients fold a duplicate into one. Rows queued before migration 0016 carry
their rendered text and stored Message-ID, which are used as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from notifications import robots
from notifications.addresses import clean_text
from notifications.render import render, render_subject
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.settings import Settings


@dataclass(frozen=True)
class Content:
    """One row's email (or group robot message: ``text`` is its Markdown, ``html`` empty)."""

    subject: str
    text: str
    html: str
    message_id: str


def message_id_for(row: OutboxMessage, settings: Settings) -> str:
    """``<santongbu.outbox.<id>.<epoch of created_at>@<mail domain>>``: from the outbox id (and
    its creation instant, so two installations that both start at id 1 do not collide), hence
    the same on every attempt. A row queued before 0016 keeps the one it stored."""
    if row.message_id:
        return row.message_id
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(" >") or "localhost"
    return f"<santongbu.outbox.{row.id}.{int(row.created_at.timestamp())}@{clean_text(domain, limit=200)}>"


def context_of(row: OutboxMessage) -> dict[str, Any] | None:
    """The facts frozen when the row was queued; ``None`` for a row rendered when queued."""
    return json.loads(row.context) if row.context else None


def subject_of(row: OutboxMessage) -> str:
    """The subject alone (one template, for lists of emails)."""
    context = context_of(row)
    if context is None:
        return row.subject or ""
    return render_subject(row.event, row.language, context)


def content_of(row: OutboxMessage, settings: Settings) -> Content:
    """The row's subject, bodies and Message-ID."""
    message_id = message_id_for(row, settings)
    context = context_of(row)
    if context is None:
        return Content(row.subject or "", row.body_text or "", row.body_html or "", message_id)
    if row.channel == "email":
        rendered = render(row.event, row.language, context)
        return Content(rendered.subject, rendered.text, rendered.html, message_id)
    subject = render_subject(row.event, row.language, context)
    return Content(subject, robots.render(row.event, row.language, subject, context), "", message_id)


def as_dict(row: OutboxMessage, settings: Settings, *, bodies: bool = False) -> dict[str, Any]:
    """:meth:`OutboxMessage.as_dict` with the subject (and bodies) and Message-ID worked out."""
    data = row.as_dict(bodies=bodies)
    if bodies:
        content = content_of(row, settings)
        data.update(
            subject=content.subject,
            body_text=content.text,
            body_html=content.html,
            message_id=content.message_id,
        )
    else:
        data.update(subject=subject_of(row), message_id=message_id_for(row, settings))
    return data
