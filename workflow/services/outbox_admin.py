"""The email outbox for people: what was emailed, what waits, what failed; retry; deliver now.

One service for the CLI (``santongbu outbox``) and the HTTP API (``/outbox``), so both ask the
same rule: reading the outbox is for those who may read the whole trail
(:func:`states.permissions.may_audit`: administrators, auditors, supervisors, leaders), since an
email says what happened to a document and to whom it was said. A refused read is audited
like every other refusal (docs/design.md §7), through the same gate as the trail's queries and
the reports. A retry goes through
:func:`notifications.delivery.retry`, which checks the administrator's right and audits both
outcomes on the document's chain. Delivery claims rows in the database, so a pass run from
here and the workers' passes never send one email twice.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from notifications import content
from notifications.delivery import DeliveryReport, deliver_due, retry
from notifications.transports import Transport
from states.i18n import _
from states.reasons import Reason
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import InvalidInput, NotFound
from workflow.kernel.models.outbox import STATUSES, OutboxMessage
from workflow.kernel.settings import Settings
from workflow.services import authz
from workflow.services.audit_queries import Gate

DEFAULT_LIMIT = 50


def worker_id(hostname: str | None = None) -> str:
    """Names the claimer of outbox rows in the database: host and process."""
    return f"{hostname or socket.gethostname()}:{os.getpid()}"


def _no_such_email(outbox_id: int) -> NotFound:
    return NotFound(
        Reason(
            "invalid",
            {"field": "outbox id", "problem": _("no email with id {outbox_id}", outbox_id=outbox_id)},
        )
    )


class OutboxAdmin:
    """List, show, retry and deliver outbox rows on behalf of a user (or of the workers)."""

    def __init__(
        self, db: Database, clock: Clock, settings: Settings, transport: Callable[[], Transport]
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.transport = transport
        self.gate = Gate(db, clock)

    def list(
        self,
        login: str,
        *,
        status: str | None = None,
        document_id: int | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[OutboxMessage]:
        """Emails in the outbox, newest first (``outbox_list`` when refused)."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(
                Reason("invalid", {"field": "status", "problem": _("one of {p0}", p0=", ".join(STATUSES))})
            )
        if limit < 1:
            raise InvalidInput(Reason("invalid", {"field": "limit", "problem": _("at least 1")}))
        self.gate.require_auditor(
            login, "outbox_list", {"status": status, "document_id": document_id, "limit": limit}
        )
        stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if status:
            stmt = stmt.where(OutboxMessage.status == status)
        if document_id is not None:
            stmt = stmt.where(OutboxMessage.document_id == document_id)
        with self.db.transaction() as session:
            return list(session.scalars(stmt))

    def show(self, login: str, outbox_id: int) -> OutboxMessage:
        """One email with its bodies (``outbox_show`` when refused)."""
        self.gate.require_auditor(login, "outbox_show", {"outbox_id": outbox_id})
        with self.db.transaction() as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None:
                raise _no_such_email(outbox_id)
            return row

    def view(self, row: OutboxMessage, *, bodies: bool = False) -> dict[str, Any]:
        """``row`` as people see it: its subject (and bodies) rendered from the facts frozen
        when it was queued, and its Message-ID, as delivery builds them."""
        return content.as_dict(row, self.settings, bodies=bodies)

    def retry(self, login: str, outbox_id: int) -> OutboxMessage:
        """Queue a failed (or waiting) email again now, with a fresh count of attempts
        (administrators; the right is checked, and both outcomes audited, by
        :func:`notifications.delivery.retry`)."""
        with self.db.transaction() as session:
            actor = authz.actor(session, login)[1]
        return retry(self.db, outbox_id, actor, self.clock)

    def deliver(
        self,
        *,
        worker_id: str,
        limit: int | None = None,
        max_batches: int | None = 1,
        on_backlog: Callable[[], Any] | None = None,
    ) -> DeliveryReport:
        """Delivery passes over one transport: claim ``limit`` (default ``outbox_batch_size``)
        due emails, send them, record each fate; again while batches come back full, up to
        ``max_batches`` (``None``: ``outbox_batches_per_task``). ``on_backlog`` is called at the
        first full batch (the worker task asks for help there)."""
        return deliver_due(
            self.db,
            self.settings,
            self.clock,
            worker_id=worker_id,
            batch_size=limit,
            max_batches=max_batches,
            transport=self.transport(),
            on_backlog=on_backlog,
        )
