"""Delivering the outbox: claim, send outside any transaction, record the fate.

1. **Claim** due rows in one short transaction — ``pending`` rows whose ``next_attempt_at`` has
   come, plus ``sending`` rows whose claim is older than the lease (their worker died
   mid-send; resending them is how no email is lost). On PostgreSQL the claim is
   ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint rows; on SQLite the
   ``BEGIN IMMEDIATE`` write lock already admits one claimer at a time. Claimed rows become
   ``sending`` with ``attempts + 1`` and commit.
2. **Send** each row with no transaction open (a slow mail server must not hold locks). Just
   before sending, the claim is renewed with a compare-and-set on ``(id, status, attempts)``:
   if another worker took the row over meanwhile, this worker does not send it.
3. **Record**, in a new transaction per row: ``sent`` (audit ``email_sent``), a retry with
   exponential backoff (``email_retry``), or ``failed`` (``email_failed``) after a permanent
   error or ``outbox_max_attempts`` tries.

Sending is idempotent by outbox id: the Message-ID and Date come from the row and the mail
folder names files by id. The one window SMTP cannot close — the server accepted the message
and the worker died before step 3 committed — resends the identical message (same Message-ID)
after the lease; that is the price of never losing one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from notifications import robots
from notifications.message import BadMessage, build_message
from notifications.transports import (
    DeliveryError,
    PermanentError,
    Sent,
    TransientError,
    Transport,
    transport_for,
)
from states.permissions import may_administer
from states.reasons import Reason
from states.snapshot import SYSTEM, ActorSnapshot
from workflow.kernel import audit
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange, Forbidden, InvalidInput, NotFound
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.settings import Settings

log = logging.getLogger("santongbu.notifications")
T = TypeVar("T")


def lease_for(settings: Settings) -> timedelta:
    """How long a claim protects a row: a generous multiple of one SMTP exchange (connect,
    TLS, login, DATA each bounded by the timeout). The claim is renewed before each send, so
    the lease never needs to cover a whole batch."""
    return timedelta(seconds=max(120.0, 10 * settings.smtp_timeout_seconds))


def backoff(settings: Settings, attempts: int) -> timedelta:
    """Exponential: base, 2×base, 4×base, … capped at ``outbox_backoff_max_seconds``."""
    seconds = settings.outbox_backoff_base_seconds * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.outbox_backoff_max_seconds))


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
class DeliveryReport:
    """What one run did, row by row."""

    worker_id: str
    transport: str
    claimed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def ids(self, result: str) -> list[int]:
        return [o.outbox_id for o in self.outcomes if o.result == result]

    @property
    def sent(self) -> list[int]:
        return self.ids("sent")

    @property
    def retried(self) -> list[int]:
        return self.ids("retry")

    @property
    def failed(self) -> list[int]:
        return self.ids("failed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "transport": self.transport,
            "claimed": self.claimed,
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "outcomes": [o.as_dict() for o in self.outcomes],
        }


@dataclass
class _Claim:
    outbox_id: int
    document_id: int | None
    attempts: int
    recipients: list[str]
    reclaimed_from: str | None
    message: Any = None  # EmailMessage or RobotMessage, or None when it could not be built
    build_error: str | None = None
    channel: str = "email"


def _with_retry(db: Database, work: Callable[[Session], T], tries: int = 8) -> T:
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


def claim(db: Database, settings: Settings, now: datetime, *, worker_id: str, limit: int) -> list[_Claim]:
    """Step 1: take up to ``limit`` due rows for this worker and commit."""
    stale = now - lease_for(settings)

    def work(session: Session) -> list[_Claim]:
        query = (
            select(OutboxMessage)
            .where(
                or_(
                    and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
                    and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at <= stale),
                )
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        claims: list[_Claim] = []
        for row in session.scalars(query):
            reclaimed = row.claimed_by if row.status == "sending" else None
            if reclaimed is not None and row.attempts >= settings.outbox_max_attempts:
                # Its workers keep dying mid-send: stop, so one poisoned row cannot take
                # every worker down forever. An administrator can still retry it.
                row.status = "failed"
                row.last_error = f"abandoned by worker {reclaimed} mid-send, {row.attempts} attempts"
                _audit(
                    session,
                    at=now,
                    action="email_failed",
                    row_document_id=row.document_id,
                    details={
                        "outbox_id": row.id,
                        "attempt": row.attempts,
                        "worker": worker_id,
                        "error": row.last_error,
                        "kind": "abandoned",
                    },
                )
                continue
            row.status, row.claimed_at, row.claimed_by = "sending", now, worker_id
            row.attempts += 1
            c = _Claim(row.id, row.document_id, row.attempts, [], reclaimed, channel=row.channel)
            try:
                c.recipients = row.envelope_recipients
                c.message = (
                    build_message(row, settings) if row.channel == "email" else robots.build(session, row)
                )
            except Exception as exc:
                c.build_error = (
                    f"{type(exc).__name__}: {exc}" if not isinstance(exc, BadMessage) else str(exc)
                )
            claims.append(c)
        return claims

    return _with_retry(db, work)


def _renew(db: Database, c: _Claim, worker_id: str, now: datetime) -> bool:
    """Step 2a: still ours? Renew the lease; False means another worker took the row over."""
    with db.transaction() as session:
        moved = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == c.outbox_id,
                OutboxMessage.status == "sending",
                OutboxMessage.attempts == c.attempts,
                OutboxMessage.claimed_by == worker_id,
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    return moved == 1


def _record_sent(
    db: Database, c: _Claim, sent: Sent, worker_id: str, now: datetime, transport: str
) -> Outcome:
    note = ("; refused: " + "; ".join(f"{a}: {r}" for a, r in sent.refused.items())) if sent.refused else ""

    def work(session: Session) -> Outcome:
        # Unconditional on the claim: the mail did go out, whoever holds the row now.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == c.outbox_id, OutboxMessage.status != "sent")
            .values(status="sent", sent_at=now, last_error=(note.lstrip("; ") or None))
            .execution_options(synchronize_session=False)
        )
        _audit(
            session,
            at=now,
            action="email_sent",
            row_document_id=c.document_id,
            details={
                "outbox_id": c.outbox_id,
                "attempt": c.attempts,
                "transport": transport,
                "worker": worker_id,
                "detail": sent.detail,
                "refused": sent.refused,
                "reclaimed_from": c.reclaimed_from,
            },
        )
        return Outcome(c.outbox_id, "sent", c.attempts, sent.detail + note)

    return _with_retry(db, work)


def _record_failure(
    db: Database,
    settings: Settings,
    c: _Claim,
    error: DeliveryError,
    worker_id: str,
    now: datetime,
    transport: str,
) -> Outcome:
    give_up = error.permanent or c.attempts >= settings.outbox_max_attempts
    when = None if give_up else now + backoff(settings, c.attempts)

    def work(session: Session) -> Outcome:
        values: dict[str, Any] = {"last_error": error.detail[:2000]}
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
        ).rowcount
        if moved != 1:  # another worker owns the row now; its outcome is the one that counts
            return Outcome(c.outbox_id, "skipped", c.attempts, "claim lost: " + error.detail)
        details = {
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
            _audit(session, at=now, action="email_failed", row_document_id=c.document_id, details=details)
            return Outcome(c.outbox_id, "failed", c.attempts, error.detail)
        details["next_attempt_at"] = when
        _audit(session, at=now, action="email_retry", row_document_id=c.document_id, details=details)
        return Outcome(c.outbox_id, "retry", c.attempts, error.detail, when)

    return _with_retry(db, work)


def deliver_pending(
    db: Database,
    settings: Settings,
    clock: Clock,
    *,
    worker_id: str,
    limit: int = 100,
    transport: Transport | None = None,
) -> DeliveryReport:
    """Claim, send and record up to ``limit`` due emails; safe to run on many workers at once."""
    transport = transport or transport_for(settings, clock)
    report = DeliveryReport(worker_id=worker_id, transport=transport.name)
    claims = claim(db, settings, clock.now(), worker_id=worker_id, limit=limit)
    report.claimed = len(claims)
    try:
        for c in claims:
            via = transport.name if c.channel == "email" else c.channel  # what the fate's audit names
            if c.message is None:
                error: DeliveryError = PermanentError(f"cannot build the message: {c.build_error}")
                report.outcomes.append(_record_failure(db, settings, c, error, worker_id, clock.now(), via))
                continue
            if not _renew(db, c, worker_id, clock.now()):
                report.outcomes.append(
                    Outcome(c.outbox_id, "skipped", c.attempts, "claim lost before sending")
                )
                continue
            try:
                sent = transport.send(c.outbox_id, c.message, c.recipients)
            except Exception as exc:
                error = (
                    exc if isinstance(exc, DeliveryError) else TransientError(f"{type(exc).__name__}: {exc}")
                )
                log.warning("outbox %s attempt %s: %s", c.outbox_id, c.attempts, error.detail)
                report.outcomes.append(_record_failure(db, settings, c, error, worker_id, clock.now(), via))
                continue
            report.outcomes.append(_record_sent(db, c, sent, worker_id, clock.now(), via))
    finally:
        transport.close()
    return report


def retry(db: Database, outbox_id: int, actor: ActorSnapshot, clock: Clock) -> OutboxMessage:
    """An administrator sends a failed (or waiting) email again now, with a fresh attempt count.

    A refusal is audited and committed before :class:`Forbidden` is raised (docs/design.md §7).
    """
    now = clock.now()

    def work(session: Session) -> OutboxMessage | list[Reason]:
        row = session.get(OutboxMessage, outbox_id)
        if row is None:
            raise NotFound(
                Reason("invalid", {"field": "outbox id", "problem": f"no email with id {outbox_id}"})
            )
        refusal = may_administer(actor)
        if refusal:
            _audit(
                session,
                at=now,
                action="email_retry_requested",
                row_document_id=row.document_id,
                actor=actor,
                outcome="refused",
                details={"outbox_id": row.id, "reasons": refusal},
            )
            return refusal
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
        row.claimed_at = row.claimed_by = None
        session.flush()
        return row

    result = _with_retry(db, work)
    if isinstance(result, list):
        raise Forbidden(result)
    return result
