"""Queueing emails in the caller's transaction (the transactional outbox, docs/design.md §5 and §9).

A lifecycle change, its audit event and its outbox rows commit together or not at all: a rolled
back change never emails anyone, and a committed one is never forgotten, because delivery reads
the table after commit instead of trusting a task sent from inside the transaction.

A row holds the recipients and the facts its template shows (:func:`email_context`, frozen as
JSON); nothing is rendered here. The delivery worker renders the templates and derives the
Message-ID when it sends (:mod:`notifications.content`), so the change's transaction does only
the work that must be in it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from notifications import robots
from notifications.recipients import ROUTES, Resolved, resolve
from notifications.render import EVENTS, format_instant
from states.deadline import overdue_words
from states.i18n import _
from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow.kernel import audit
from workflow.kernel.bulk import insert_many
from workflow.kernel.clock import to_utc
from workflow.kernel.models import Document, Unit, User
from workflow.kernel.models.outbox import OutboxMessage, dump_recipients
from workflow.kernel.settings import Settings

# Events that can happen only once per document (or once per ladder level): without a caller's
# key they are keyed on (document, event[, level]) so a second sweep or a redelivered task can
# never queue the same email twice. Sign-off requests and rejections may repeat legitimately.
ONCE_PER_DOCUMENT = frozenset(
    {
        "published",
        "reminder",
        "overdue",
        "escalated",
        "escalated_high",
        "posted_late",
    }
)
_OVERDUE_EVENTS = frozenset({"overdue", "escalated", "escalated_high", "posted_late"})


def default_dedupe_key(event: str, document: Document, extra: Mapping[str, Any]) -> str | None:
    """``doc:<id>:<event>[:<level>]`` for one-off events, ``None`` for repeatable ones."""
    if event not in ONCE_PER_DOCUMENT:
        return None
    level = extra.get("level")
    return f"doc:{document.id}:{event}" + (f":{level}" if level and level != event else "")


def email_context(
    session: Session,
    *,
    event: str,
    document: Document,
    settings: Settings,
    actor: ActorSnapshot | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The facts the templates show, as they are now: frozen in the row (JSON-ready: text,
    numbers, instants already in words in the working time zone) and rendered at delivery.

    ``working_days_overdue`` is the caller's figure (the sweep's, for the ladder's rungs; the
    document's ``working_days_late`` for ``posted_late``), and only for the events that are
    about lateness: a reminder is not late, whatever number came with it."""
    extra = dict(extra or {})
    lang = settings.language
    unit = session.get(Unit, document.unit_id)
    actor_name = None
    if actor is not None and not actor.is_system:
        actor_name = actor.name or None
        if actor_name is None:
            user = session.scalars(select(User).where(User.login == actor.login)).first()
            actor_name = user.name if user else actor.login
    reason = extra.get("reason")
    if isinstance(reason, Reason):
        reason = reason.text(lang)
    # The one figure (states.deadline.working_days_overdue): as the sweep counted it when the
    # rung fired, or the posting's days late; none before the deadline (a reminder).
    overdue = extra.get("working_days_overdue") if event in _OVERDUE_EVENTS else None
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
        # the deadline's second of the day (23:59:59: the whole last second counts as on time)
        "due_time": (
            document.due_at.astimezone(ZoneInfo(tz)).strftime("%H:%M:%S") if document.due_at else None
        ),
        "due_provisional": bool(document.due_provisional),
        "posted_at": format_instant(posted_at, lang, tz) if posted_at else None,
        "working_days_overdue": overdue,
        "overdue_text": overdue_words(overdue, lang) if overdue is not None else None,
        "reason": str(reason) if reason and event == "rejected" else None,
        "actor_name": actor_name,
        "claims_waiting": extra.get("claims_waiting"),  # claimed times awaiting confirmation
        "deadline_days": settings.deadline_days,
        "link": f"{settings.base_url.rstrip('/')}/documents/{document.id}",
        # evidence_problem: the page, its status and reasons, already in words (docs/evidence.md).
        "evidence": extra.get("evidence") if event == "evidence_problem" else None,
    }


@dataclass
class _Prepared:
    """A row worked out but not yet inserted: its columns, or why nobody gets it."""

    event: str
    document_id: int
    key: str | None
    level: Any
    values: dict[str, Any] | None = None
    recipients: Resolved | None = None
    not_queued: dict[str, Any] | None = None
    unit_code: str | None = None
    """For a group robot's row: whose robot (the row's channel is in ``values``)."""

    def queued_details(self, outbox_id: int) -> dict[str, Any]:
        """The ``email_queued`` audit details of the row once it has its id (no subject: it is
        rendered when the row is delivered; ``event`` and ``level`` say what it is about)."""
        assert self.values is not None
        if self.unit_code is not None:  # a group robot's message: no addresses, never a credential
            return {
                "outbox_id": outbox_id,
                "event": self.event,
                "level": self.level,
                "channel": self.values["channel"],
                "unit": self.unit_code,
                "dedupe_key": self.key,
            }
        assert self.recipients is not None
        return {
            "outbox_id": outbox_id,
            "event": self.event,
            "level": self.level,
            "to": [r.address for r in self.recipients.to],
            "cc": [r.address for r in self.recipients.cc],
            "skipped": self.recipients.skipped,
            "dedupe_key": self.key,
        }


def _prepare(
    session: Session,
    *,
    event: str,
    document: Document,
    at: datetime,
    settings: Settings,
    actor: ActorSnapshot | None,
    extra: Mapping[str, Any],
    key: str | None,
    robots_told: list[tuple[Unit, str]],
    taken: set[str],
) -> list[_Prepared]:
    """The email (recipients and the facts its template shows, as of now) and one row per group
    robot told of the event (:mod:`notifications.robots`), leaving out keys already ``taken``;
    no write, no rendering."""
    out: list[_Prepared] = []
    context: str | None = None

    def frozen() -> str:
        return json.dumps(
            email_context(
                session, event=event, document=document, settings=settings, actor=actor, extra=extra
            ),
            ensure_ascii=False,
            separators=(",", ":"),
        )

    if key is None or key not in taken:
        prepared = _Prepared(event, document.id, key, extra.get("level"))
        out.append(prepared)
        recipients = resolve(session, document, event)
        if recipients.empty:
            prepared.not_queued = {
                "event": event,
                "problem": _("no valid recipient"),
                "skipped": recipients.skipped,
            }
        else:
            context = frozen()
            prepared.recipients = recipients
            prepared.values = {
                "document_id": document.id,
                "event": event,
                "language": settings.language,
                "to_addrs": dump_recipients([r.as_dict() for r in recipients.to]),
                "cc_addrs": dump_recipients([r.as_dict() for r in recipients.cc]),
                "context": context,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
                "dedupe_key": key,
            }
    for unit, channel in robots_told:
        rkey = robots.robot_key(key, channel, unit.id)
        if rkey is not None and rkey in taken:
            continue
        if context is None:
            context = frozen()
        out.append(
            _Prepared(
                event,
                document.id,
                rkey,
                extra.get("level"),
                unit_code=unit.code,
                values={
                    "document_id": document.id,
                    "event": event,
                    "language": settings.language,
                    "to_addrs": "[]",
                    "cc_addrs": "[]",
                    "context": context,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                    "dedupe_key": rkey,
                    "channel": channel,
                    "unit_id": unit.id,
                },
            )
        )
    return out


def _check_event(event: str) -> None:
    if event not in EVENTS or event not in ROUTES:
        raise ValueError(f"unknown notification event {event!r}")


@dataclass(frozen=True)
class Request:
    """One email to queue with :func:`enqueue_many`: an event of one document."""

    event: str
    document: Document
    extra: Mapping[str, Any]
    key: str | None = None
    """The dedupe key; by default :func:`default_dedupe_key` (``None`` for repeatable events)."""


@dataclass(frozen=True)
class Queued:
    """What :func:`enqueue_many` did for one request: the outbox ids it inserted and the
    audit entries the caller appends to the document's chain (in the order it chooses)."""

    outbox_ids: tuple[int, ...]
    entries: tuple[audit.Entry, ...]


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
    defer: list[audit.Entry] | None = None,
) -> list[OutboxMessage]:
    """Queue the email(s) for ``event`` on ``document`` inside the caller's transaction.

    Resolves recipients from the directory, freezes the facts the email shows, inserts the rows
    and appends one ``email_queued`` audit event per row to the document's chain. Never commits.
    Returns the rows queued: empty when the same ``dedupe_key`` (given, or derived for one-off
    events) was queued before, or when nobody could be reached (audited as ``email_not_queued``).
    With ``defer``, the audit entries are added to that list instead, for the caller to append
    with the rest of its change (:func:`workflow.kernel.audit.append_many`).
    """
    (queued,) = enqueue_many(
        session,
        [Request(event, document, dict(extra or {}), dedupe_key)],
        at=at,
        settings=settings,
        actor=actor,
    )
    if defer is not None:
        defer.extend(queued.entries)
    else:
        audit.append_many(session, queued.entries)
    return [session.get_one(OutboxMessage, rid) for rid in queued.outbox_ids]


def enqueue_many(
    session: Session,
    requests: Sequence[Request],
    *,
    at: datetime,
    settings: Settings,
    actor: ActorSnapshot | None = None,
) -> list[Queued]:
    """Queue the emails of ``requests`` in a few statements whatever their number (the
    sweep's batches; :func:`enqueue` is this for one). A one-off event (it has a dedupe key)
    is inserted with ``ON CONFLICT (dedupe_key) DO NOTHING``, so an email queued before, or by
    a racing transaction first, is skipped, never doubled; a repeatable one (sign-off
    requested, rejected) is always queued. The audit entries are returned, not appended, so
    the caller can keep each chain in the order things happened.
    """
    at = to_utc(at)
    keys: list[str | None] = []
    for req in requests:
        _check_event(req.event)
        keys.append(req.key or default_dedupe_key(req.event, req.document, req.extra))
    # The group robots told of each request.
    aims = [robots.targets(session, req.document, req.event) for req in requests]
    # No look-up of the keys queued before: the keyed rows go in with ON CONFLICT DO NOTHING
    # RETURNING, and a row the database skipped was queued before (or by a racing
    # transaction). Only where nobody can be reached is the key looked up, so that a second
    # sweep does not audit "not queued" again for an email queued once.
    taken: set[str] = set()
    # Every row to insert, with the index of its request.
    prepared = [
        (i, p)
        for i, (req, key, aim) in enumerate(zip(requests, keys, aims, strict=True))
        for p in _prepare(
            session,
            event=req.event,
            document=req.document,
            at=at,
            settings=settings,
            actor=actor,
            extra=req.extra,
            key=key,
            robots_told=aim,
            taken=taken,
        )
    ]
    unreachable = [p.key for _, p in prepared if p.values is None and p.key]
    if unreachable:
        taken = set(
            session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(unreachable)))
        )
        prepared = [(i, p) for i, p in prepared if not (p.values is None and p.key in taken)]
    table: Table = OutboxMessage.__table__  # type: ignore[assignment]
    ids: dict[int, int] = {}  # id() of a prepared row → its outbox row
    ready = [p for _, p in prepared if p.values is not None]
    keyed = [p for p in ready if p.key]
    if keyed:
        by_key = {
            row.dedupe_key: row.id
            for row in insert_many(
                session,
                table,
                [_columns(p) for p in keyed],
                conflict=("dedupe_key",),
                returning=("id", "dedupe_key"),
            )
        }
        ids.update((id(p), by_key[p.key]) for p in keyed if p.key in by_key)
    for p in ready:
        if not p.key:  # repeatable: one insert each, so the returned id is its own
            ids[id(p)] = insert_many(session, table, [_columns(p)], returning=("id",))[0].id
    out_ids: list[list[int]] = [[] for _ in requests]
    out_entries: list[list[audit.Entry]] = [[] for _ in requests]
    for i, p in prepared:
        if p.values is None:
            out_entries[i].append(
                audit.Entry(at, actor, "email_not_queued", "refused", p.document_id, details=p.not_queued)
            )
        elif id(p) in ids:
            out_ids[i].append(ids[id(p)])
            out_entries[i].append(
                audit.Entry(
                    at, actor, "email_queued", document_id=p.document_id, details=p.queued_details(ids[id(p)])
                )
            )
        # else: queued before, or by a racing transaction between our check and our insert
    return [Queued(tuple(rid), tuple(entries)) for rid, entries in zip(out_ids, out_entries, strict=True)]


def _columns(p: _Prepared) -> dict[str, Any]:
    """The row's columns, every row with the same keys (one multi-row INSERT takes them all)."""
    assert p.values is not None
    return {"channel": "email", "unit_id": None, **p.values}
