"""Delivering the outbox: claim, send outside any transaction, record the fate — at scale.

1. **Claim** up to ``outbox_batch_size`` due rows in one short transaction — ``pending`` rows whose
   ``next_attempt_at`` has come, plus ``sending`` rows whose lease ran out (their worker died;
   resending them is how no email is lost). On PostgreSQL the claim is ``SELECT … FOR UPDATE SKIP
   LOCKED``, so concurrent workers take disjoint rows; on SQLite ``BEGIN IMMEDIATE`` admits one
   claimer at a time. Claimed rows become ``sending`` with ``attempts + 1`` and commit.
2. **Send** with no transaction open (a slow mail server must not hold locks), over one
   transport — one SMTP connection — for the whole run. The lease is short
   (``outbox_lease_seconds``, 15 s) and a heartbeat thread renews it every third of that while the
   batch is being sent, so a live worker keeps its rows however slow the server, and a dead
   worker's rows are taken over within the lease. Rows go out a chunk (10) at a time: just before
   a chunk, one compare-and-set statement renews its claims and marks them ``send_started_at``;
   a row another worker took over meanwhile is skipped.
3. **Record** each chunk's fates in one transaction (:mod:`notifications.delivery_record`):
   ``sent`` (audit ``email_sent``), a retry with exponential backoff (``email_retry``), or
   ``failed`` (``email_failed``).

:func:`deliver_due` repeats 1-3 while batches come back full, up to ``outbox_batches_per_task``
batches; ``on_backlog`` is called at the first full batch, so the worker task can ask for help
(another task on another worker: the Celery task re-enqueues itself, see
:mod:`workers.delivery_tasks`). :func:`deliver_pending` is one batch.

Group robot rows (``channel`` ``wecom`` or ``dingtalk``) are claimed, leased, renewed and recorded
the same way; their claim builds a :class:`~notifications.transports.RobotMessage` (the unit's
webhook as it is now), the robot transport beside the mail transport sends it
(:class:`~notifications.transports.Channels`), and the fate's audit event names the robot.

A claimed row's subject and bodies are rendered here, from the facts frozen in it when it was
queued (:mod:`notifications.content`), not in the transaction that queued it.

Sending is idempotent by outbox id: the Message-ID and Date are derived from the row and the
mail folder names files by id. The window SMTP cannot close — the server accepted the message and
the worker died before its chunk was recorded — resends the identical message (same Message-ID)
after the lease. The takeover knows it: the row was marked ``send_started_at`` under the dead
claim, and its ``email_sent`` says ``possible_duplicate: true``; a row the dead worker never
started is a clean first send.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, tuple_, update
from sqlalchemy.orm import Session

from notifications import robots
from notifications.content import content_of
from notifications.delivery_record import (
    Claim,
    Outcome,
    Result,
    _audit,
    backoff,
    record,
    retry,
    with_retry,
)
from notifications.message import BadMessage, build_message
from notifications.transports import DeliveryError, PermanentError, TransientError, Transport, transport_for
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.secretbox import secret_box
from workflow.kernel.settings import Settings

log = logging.getLogger("santongbu.notifications")
CHUNK = 10

__all__ = [
    "Claim",
    "DeliveryReport",
    "Outcome",
    "backoff",
    "claim",
    "deliver_due",
    "deliver_pending",
    "lease_for",
    "retry",
]


def lease_for(settings: Settings) -> timedelta:
    """How long a claim protects a row without being renewed (the heartbeat renews it every
    third of that, so it need not cover a slow send, nor a whole batch)."""
    return timedelta(seconds=settings.outbox_lease_seconds)


@dataclass
class DeliveryReport:
    """What one run did, row by row."""

    worker_id: str
    transport: str
    claimed: int = 0
    batches: int = 0
    more: bool = False
    """The last batch was full: more rows may be due."""
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
            "batches": self.batches,
            "more": self.more,
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "outcomes": [o.as_dict() for o in self.outcomes],
        }


# ---------------------------------------------------------------------------- 1. claim
def claim(db: Database, settings: Settings, now: datetime, *, worker_id: str, limit: int) -> list[Claim]:
    """Take up to ``limit`` due rows for this worker and commit."""
    stale = now - lease_for(settings)

    def work(session: Session) -> list[Claim]:
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
        claims: list[Claim] = []
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
            started = row.send_started_at is not None
            row.status, row.claimed_at, row.claimed_by = "sending", now, worker_id
            row.send_started_at = None
            row.attempts += 1
            c = Claim(
                row.id,
                row.document_id,
                row.attempts,
                [],
                reclaimed,
                channel=row.channel,
                possible_duplicate=reclaimed is not None and started,
            )
            try:
                c.recipients = row.envelope_recipients
                content = content_of(row, settings)  # rendered now, from the facts frozen in the row
                c.message = (
                    build_message(row, content, settings)
                    if row.channel == "email"
                    else robots.build(session, row, content.subject, content.text, secret_box(settings))
                )
            except Exception as exc:
                c.build_error = (
                    f"{type(exc).__name__}: {exc}" if not isinstance(exc, BadMessage) else str(exc)
                )
            claims.append(c)
        return claims

    return with_retry(db, work)


# ---------------------------------------------------------------------------- 2. send
def _start(db: Database, claims: list[Claim], worker_id: str, now: datetime) -> set[int]:
    """Renew and mark ``claims`` as handed to the transport, if they are still ours (one
    compare-and-set on (id, attempts, claimer, status)); the ids that are."""
    keys = [(c.outbox_id, c.attempts) for c in claims]
    with db.transaction() as session:
        rows = (
            session.execute(
                update(OutboxMessage)
                .where(
                    tuple_(OutboxMessage.id, OutboxMessage.attempts).in_(keys),
                    OutboxMessage.status == "sending",
                    OutboxMessage.claimed_by == worker_id,
                )
                .values(claimed_at=now, send_started_at=now)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            )
            .scalars()
            .all()
        )
    return set(rows)


class Heartbeat:
    """Renews this worker's claims every ``every`` seconds while a batch is being sent, in a
    thread of its own (a send blocked on a slow server does not stop it)."""

    def __init__(self, db: Database, clock: Clock, worker_id: str, every: float) -> None:
        self.db, self.clock, self.worker_id, self.every = db, clock, worker_id, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"outbox-heartbeat-{worker_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(self.every + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with self.db.transaction() as session:
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.claimed_by == self.worker_id, OutboxMessage.status == "sending")
                        .values(claimed_at=self.clock.now())
                        .execution_options(synchronize_session=False)
                    )
            except Exception as exc:
                log.warning("outbox heartbeat of %s failed: %s", self.worker_id, exc)


def _send(transport: Transport, c: Claim) -> Result:
    if c.message is None:
        return Result(c, error=PermanentError(f"cannot build the message: {c.build_error}"))
    try:
        return Result(c, sent=transport.send(c.outbox_id, c.message, c.recipients))
    except Exception as exc:
        error = exc if isinstance(exc, DeliveryError) else TransientError(f"{type(exc).__name__}: {exc}")
        log.warning("outbox %s attempt %s: %s", c.outbox_id, c.attempts, error.detail)
        return Result(c, error=error)


def _batch(
    db: Database, settings: Settings, clock: Clock, claims: list[Claim], worker_id: str, transport: Transport
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for i in range(0, len(claims), CHUNK):
        chunk = claims[i : i + CHUNK]
        ours = _start(db, chunk, worker_id, clock.now())
        lost = [
            Outcome(c.outbox_id, "skipped", c.attempts, "claim lost before sending")
            for c in chunk
            if c.outbox_id not in ours
        ]
        results = [_send(transport, c) for c in chunk if c.outbox_id in ours]
        outcomes += lost + record(db, settings, results, worker_id, clock.now(), transport.name)
    return outcomes


# ---------------------------------------------------------------------------- the runs
def deliver_due(
    db: Database,
    settings: Settings,
    clock: Clock,
    *,
    worker_id: str,
    batch_size: int | None = None,
    max_batches: int | None = None,
    transport: Transport | None = None,
    on_backlog: Callable[[], None] | None = None,
) -> DeliveryReport:
    """Claim and send batch after batch while batches come back full (up to ``max_batches``),
    over one transport; ``on_backlog`` is called once, at the first full batch."""
    size = batch_size or settings.outbox_batch_size
    batches = max_batches or settings.outbox_batches_per_task
    transport = transport or transport_for(settings, clock)
    report = DeliveryReport(worker_id=worker_id, transport=transport.name)
    every = max(settings.outbox_lease_seconds / 3, 0.2)
    try:
        with Heartbeat(db, clock, worker_id, every):
            for _ in range(batches):
                claims = claim(db, settings, clock.now(), worker_id=worker_id, limit=size)
                report.claimed += len(claims)
                report.batches += 1
                report.more = len(claims) == size
                if report.more and on_backlog is not None:
                    on_backlog()
                    on_backlog = None
                report.outcomes += _batch(db, settings, clock, claims, worker_id, transport)
                if not report.more:
                    break
    finally:
        transport.close()
    return report


def deliver_pending(
    db: Database,
    settings: Settings,
    clock: Clock,
    *,
    worker_id: str,
    limit: int = 100,
    transport: Transport | None = None,
) -> DeliveryReport:
    """Claim, send and record up to ``limit`` due emails (one batch); safe on many workers at once."""
    return deliver_due(
        db, settings, clock, worker_id=worker_id, batch_size=limit, max_batches=1, transport=transport
    )
