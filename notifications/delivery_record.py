"""What delivery writes back: the fate of each email, a chunk at a time, and an administrator's retry.

Split from :mod:`notifications.delivery` (claiming and sending). Each chunk's outcomes are written
in **one** transaction: the sent rows in one UPDATE, each failure with its compare-and-set, and
every audit event of the chunk with :func:`workflow.kernel.audit.append_many` (three statements
however many documents' chains it touches). Retried whole if an audit chain moved under it.

``email_sent`` says ``possible_duplicate: true`` when this attempt took the row over from a
worker that had already handed it to the mail server (``reclaimed_from`` names that worker): the
one case in which the recipient may get the email twice, with the same Message-ID.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session

from notifications.transports import DeliveryError, Sent
from states.i18n import _
from states.permissions import may_administer
from states.reasons import Reason
from states.snapshot import SYSTEM, ActorSnapshot
from workflow.kernel import audit
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange, Forbidden, InvalidInput, NotFound
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.settings import Settings

T = TypeVar("T")


@dataclass
class Claim:
    """One claimed row, as the sending loop carries it."""

    outbox_id: int
    document_id: int | None
    attempts: int
    recipients: list[str]
    reclaimed_from: str | None
    possible_duplicate: bool = False
    message: Any = None  # Message or RobotMessage, or None when it could not be built
    build_error: str | None = None
    channel: str = "email"

    def via(self, transport: str) -> str:
        """What the fate's audit names: the mail transport for an email, else the robot."""
        return transport if self.channel == "email" else self.channel


@dataclass
class Outcome:
    outbox_id: int
    result: str  # sent | retry | failed | skipped
    attempts: int
    detail: str
    next_attempt_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "outbox_id": self.outbox_id,
            "result": self.result,
            "attempts": self.attempts,
            "detail": self.detail,
            "next_attempt_at": self.next_attempt_at,
        }


@dataclass
class Result:
    """What the transport said about one claim: ``sent`` or ``error``."""

    claim: Claim
    sent: Sent | None = None
    error: DeliveryError | None = None
    notes: list[str] = field(default_factory=list)


def backoff(settings: Settings, attempts: int) -> timedelta:
    """Exponential: base, 2×base, 4×base, … capped at ``outbox_backoff_max_seconds``."""
    seconds = settings.outbox_backoff_base_seconds * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.outbox_backoff_max_seconds))


def with_retry(db: Database, work: Callable[[Session], T], tries: int = 8) -> T:
    """Run ``work`` in a transaction, again if an audit chain moved under it (two workers
    recording the fate of two emails of the same document at once)."""
    for attempt in range(tries):
        try:
            with db.transaction() as session:
                return work(session)
        except ConcurrentChange:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def _audit(
    session: Session,
    *,
    at: datetime,
    action: str,
    row_document_id: int | None,
    details: dict[str, Any],
    actor: ActorSnapshot | None = SYSTEM,
    outcome: str = "allowed",
) -> None:
    audit.append(
        session,
        at=at,
        actor=actor,
        action=action,
        outcome=outcome,
        document_id=row_document_id,
        details=details,
    )


def _entry(
    at: datetime,
    action: str,
    c: Claim,
    details: dict[str, Any],
    actor: ActorSnapshot | None = SYSTEM,
    outcome: str = "allowed",
) -> audit.Entry:
    return audit.Entry(at, actor, action, outcome, document_id=c.document_id, details=details)


def record(
    db: Database, settings: Settings, results: Sequence[Result], worker_id: str, now: datetime, transport: str
) -> list[Outcome]:
    """Write the fate of a chunk of sends in one transaction; the outcomes, in order."""
    if not results:
        return []

    def work(session: Session) -> list[Outcome]:
        outcomes: list[Outcome] = []
        entries: list[audit.Entry] = []
        plain = [r.claim.outbox_id for r in results if r.sent is not None and not r.sent.refused]
        if plain:
            # Unconditional on the claim: the mail did go out, whoever holds the row now.
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(plain), OutboxMessage.status != "sent")
                .values(status="sent", sent_at=now, last_error=None)
                .execution_options(synchronize_session=False)
            )
        for r in results:
            c = r.claim
            via = c.via(transport)
            if r.sent is not None:
                outcomes.append(_sent(session, r.sent, c, worker_id, now, via, entries))
            else:
                assert r.error is not None
                outcomes.append(_failed(session, settings, r.error, c, worker_id, now, via, entries))
        audit.append_many(session, entries)
        return outcomes

    return with_retry(db, work)


def _sent(
    session: Session,
    sent: Sent,
    c: Claim,
    worker_id: str,
    now: datetime,
    transport: str,
    entries: list[audit.Entry],
) -> Outcome:
    note = "; ".join(f"{a}: {r}" for a, r in sent.refused.items())
    if note:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == c.outbox_id, OutboxMessage.status != "sent")
            .values(status="sent", sent_at=now, last_error="refused: " + note)
            .execution_options(synchronize_session=False)
        )
    details: dict[str, Any] = {
        "outbox_id": c.outbox_id,
        "attempt": c.attempts,
        "transport": transport,
        "worker": worker_id,
        "detail": sent.detail,
        "refused": sent.refused,
        "reclaimed_from": c.reclaimed_from,
    }
    if c.reclaimed_from is not None:
        details["possible_duplicate"] = c.possible_duplicate
    entries.append(_entry(now, "email_sent", c, details))
    detail = _("{detail}; refused: {note}", detail=sent.detail, note=note) if note else sent.detail
    return Outcome(c.outbox_id, "sent", c.attempts, detail)


def _failed(
    session: Session,
    settings: Settings,
    error: DeliveryError,
    c: Claim,
    worker_id: str,
    now: datetime,
    transport: str,
    entries: list[audit.Entry],
) -> Outcome:
    give_up = error.permanent or c.attempts >= settings.outbox_max_attempts
    when = None if give_up else now + backoff(settings, c.attempts)
    values: dict[str, Any] = {"last_error": error.detail[:2000], "send_started_at": None}
    if give_up:
        values["status"] = "failed"
    else:
        values.update(status="pending", next_attempt_at=when)
    moved = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == c.outbox_id,
            OutboxMessage.status == "sending",
            OutboxMessage.attempts == c.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if moved != 1:  # another worker owns the row now; its outcome is the one that counts
        return Outcome(c.outbox_id, "skipped", c.attempts, "claim lost: " + error.detail)
    details: dict[str, Any] = {
        "outbox_id": c.outbox_id,
        "attempt": c.attempts,
        "transport": transport,
        "worker": worker_id,
        "error": error.detail,
        "kind": "permanent" if error.permanent else "transient",
    }
    if give_up:
        if not error.permanent:
            details["problem"] = f"gave up after {c.attempts} attempts"
        entries.append(_entry(now, "email_failed", c, details))
        return Outcome(c.outbox_id, "failed", c.attempts, error.detail)
    details["next_attempt_at"] = when
    entries.append(_entry(now, "email_retry", c, details))
    return Outcome(c.outbox_id, "retry", c.attempts, error.detail, when)


def retry(db: Database, outbox_id: int, actor: ActorSnapshot, clock: Clock) -> OutboxMessage:
    """An administrator sends a failed (or waiting) email again now, with a fresh attempt count.

    A refusal is audited and committed before :class:`Forbidden` is raised (docs/design.md §7).
    """
    now = clock.now()

    def work(session: Session) -> OutboxMessage | list[Reason]:
        # The right first: to someone who may not retry, a missing id and a forbidden one
        # answer the same (403), so ids cannot be enumerated (ASVS V4.2.1).
        row = session.get(OutboxMessage, outbox_id)
        refusal = may_administer(actor)
        if refusal:
            _audit(
                session,
                at=now,
                action="email_retry_requested",
                row_document_id=row.document_id if row is not None else None,
                actor=actor,
                outcome="refused",
                details={"outbox_id": outbox_id, "reasons": refusal},
            )
            return refusal
        if row is None:
            raise NotFound(
                Reason(
                    "invalid",
                    {"field": "outbox id", "problem": _("no email with id {outbox_id}", outbox_id=outbox_id)},
                )
            )
        if row.status not in ("failed", "pending"):
            problem = (
                "it was already sent"
                if row.status == "sent"
                else "it is being sent right now; wait for the outcome"
            )
            raise InvalidInput(Reason("invalid", {"field": f"outbox {row.id}", "problem": problem}))
        _audit(
            session,
            at=now,
            action="email_retry_requested",
            row_document_id=row.document_id,
            actor=actor,
            details={
                "outbox_id": row.id,
                "previous_status": row.status,
                "previous_attempts": row.attempts,
                "last_error": row.last_error,
            },
        )
        row.status, row.attempts, row.next_attempt_at = "pending", 0, now
        row.claimed_at = row.claimed_by = row.send_started_at = None
        session.flush()
        return row

    result = with_retry(db, work)
    if isinstance(result, list):
        raise Forbidden(result)
    return result
