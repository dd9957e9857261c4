"""Queueing emails in the caller's transaction (the transactional outbox, DESIGN §5 and §9).

A lifecycle change, its audit event and its outbox rows commit together or not at all: a rolled
back change never emails anyone, and a committed one is never forgotten, because delivery reads
the table after commit instead of trusting a task sent from inside the transaction.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow import audit
from workflow.clock import to_utc
from workflow.models import Document, Unit, User
from workflow.settings import Settings

from .addresses import clean_text
from .models import OutboxMessage, dump_recipients
from .recipients import ROUTES, resolve
from .render import EVENTS, format_instant, render

# Events that can happen only once per document (or once per ladder level): without a caller's
# key they are keyed on (document, event[, level]) so a second sweep or a redelivered task can
# never queue the same email twice. Sign-off requests and rejections may repeat legitimately.
ONCE_PER_DOCUMENT = frozenset({
    "published", "reminder", "overdue", "escalated", "escalated_high", "posted_late",
})
_OVERDUE_EVENTS = frozenset({"overdue", "escalated", "escalated_high", "posted_late"})


def default_dedupe_key(event: str, document: Document, extra: Mapping[str, Any]) -> str | None:
    """``doc:<id>:<event>[:<level>]`` for one-off events, ``None`` for repeatable ones."""
    if event not in ONCE_PER_DOCUMENT:
        return None
    level = extra.get("level")
    return f"doc:{document.id}:{event}" + (f":{level}" if level and level != event else "")


def message_id_for(row: OutboxMessage, settings: Settings) -> str:
    """A Message-ID derived from the outbox id (and its creation instant, so two installations
    that both start at id 1 do not collide): a resend after a crash carries the same id, which
    lets mail clients fold the copies into one."""
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(" >") or "localhost"
    stamp = int(row.created_at.timestamp())
    return f"<santongbu.outbox.{row.id}.{stamp}@{clean_text(domain, limit=200)}>"


def email_context(
    session: Session,
    *,
    event: str,
    document: Document,
    settings: Settings,
    actor: ActorSnapshot | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The facts the templates show, as they are now (rendered once, at enqueue time)."""
    extra = dict(extra or {})
    lang = settings.language
    unit = session.get(Unit, document.unit_id)
    actor_name = None
    if actor is not None and not actor.is_system:
        user = session.scalars(select(User).where(User.login == actor.login)).first()
        actor_name = user.name if user else actor.login
    reason = extra.get("reason")
    if isinstance(reason, Reason):
        reason = reason.text(lang)
    overdue = extra.get("working_days_overdue")
    if overdue is None and event in _OVERDUE_EVENTS:
        overdue = document.working_days_late
    posted_at = extra.get("posted_at") or (document.posted_at if event == "posted_late" else None)
    tz = settings.timezone
    return {
        "event": event,
        "level": extra.get("level"),
        "title": document.title,
        "doc_number": document.doc_number,
        "unit_name": unit.name if unit else "",
        "unit_code": unit.code if unit else "",
        "published_at": format_instant(document.published_at, lang, tz),
        "due_at": format_instant(document.due_at, lang, tz),
        "due_provisional": bool(document.due_provisional),
        "posted_at": format_instant(posted_at, lang, tz) if posted_at else None,
        "working_days_overdue": overdue,
        "reason": str(reason) if reason and event == "rejected" else None,
        "actor_name": actor_name,
        "deadline_days": settings.deadline_days,
        "link": f"{settings.base_url.rstrip('/')}/documents/{document.id}",
    }


def enqueue(
    session: Session,
    *,
    event: str,
    document: Document,
    at: datetime,
    settings: Settings,
    actor: ActorSnapshot | None = None,
    extra: Mapping[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> list[OutboxMessage]:
    """Queue the email(s) for ``event`` on ``document`` inside the caller's transaction.

    Resolves recipients from the directory, renders subject and bodies now, inserts the rows
    and appends one ``email_queued`` audit event per row to the document's chain. Never commits.
    Returns the rows queued: empty when the same ``dedupe_key`` (given, or derived for one-off
    events) was queued before, or when nobody could be reached (audited as ``email_not_queued``).
    """
    if event not in EVENTS or event not in ROUTES:
        raise ValueError(f"unknown notification event {event!r}")
    at = to_utc(at)
    extra = dict(extra or {})
    key = dedupe_key or default_dedupe_key(event, document, extra)
    if key is not None and session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)
    ).first() is not None:
        return []
    recipients = resolve(session, document, event)
    if recipients.empty:
        audit.append(
            session, at=at, actor=actor, action="email_not_queued", outcome="refused",
            document_id=document.id,
            details={"event": event, "problem": "no valid recipient", "skipped": recipients.skipped},
        )
        return []
    rendered = render(event, settings.language, email_context(
        session, event=event, document=document, settings=settings, actor=actor, extra=extra))
    row = OutboxMessage(
        document_id=document.id, event=event, language=settings.language,
        to_addrs=dump_recipients([r.as_dict() for r in recipients.to]),
        cc_addrs=dump_recipients([r.as_dict() for r in recipients.cc]),
        subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
        status="pending", attempts=0, next_attempt_at=at, created_at=at, dedupe_key=key,
    )
    try:
        # A savepoint: if a concurrent transaction queued the same key first, only this insert
        # is undone and the caller's change still commits (the email exists once).
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        if key is None:
            raise
        return []
    row.message_id = message_id_for(row, settings)
    session.flush()
    audit.append(
        session, at=at, actor=actor, action="email_queued", document_id=document.id,
        details={
            "outbox_id": row.id, "event": event, "level": extra.get("level"),
            "to": [r.address for r in recipients.to], "cc": [r.address for r in recipients.cc],
            "subject": row.subject, "skipped": recipients.skipped, "dedupe_key": key,
        },
    )
    return [row]
