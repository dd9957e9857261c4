"""Questions asked of the audit trail: a document's timeline, and events filtered by unit,
actor, action, outcome and time range, page by page.

Who may ask: a document's timeline is open to whoever may read the document
(:func:`states.permissions.may_read`); trail-wide queries to supervisors, auditors, leaders and
administrators (:func:`states.permissions.may_audit`). A refused query is itself an audit event
(``audit_query`` / ``report`` with outcome ``refused``, on the ``sys`` chain or the document's
chain), because docs/design.md §7 wants every refusal audited; an allowed query writes nothing.

Pages are keyset pages, never OFFSET: events come in time order (``at``, then ``id``), and the
next page starts after the last event's id (``after_id``), whose ``at`` is looked up — so a page
costs the same at the millionth event as at the first, and events appended meanwhile never
shift a page. The filters map onto the indexes of migration 0004.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from states import permissions
from states.catalogue import pairs
from states.i18n import _
from states.reasons import Reason
from states.snapshot import ActorSnapshot, DocumentSnapshot
from workflow.kernel import audit
from workflow.kernel.attribution import CHANNELS
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import Denied, Forbidden, InvalidInput, NotFound
from workflow.kernel.export import Column, Table
from workflow.kernel.models import AuditEvent, Document, Signer, Unit, User
from workflow.kernel.models.directory import role_set
from workflow.kernel.settings import Settings
from workflow.services import authz

OUTCOMES = ("allowed", "refused")
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100

OUTCOME_LABELS = pairs("outcome")
EVENT_COLUMNS = (
    Column("id", "编号", "id", "int"),
    Column("at", "时间", "at", "instant"),
    Column("document_id", "文件", "document", "int"),
    Column("actor", "操作人", "actor"),
    Column("actor_unit", "操作人单位", "actor unit"),
    Column("action", "操作", "action"),
    Column("outcome", "结果", "outcome", "label", OUTCOME_LABELS),
    Column("state_before", "操作前状态", "state before"),
    Column("state_after", "操作后状态", "state after"),
    Column("details", "详情", "details"),
    Column("channel", "渠道", "channel"),
    Column("credential", "凭据", "credential"),
    Column("wall_at", "实际时间(时钟被指定时)", "real time (under a clock override)", "instant"),
)
TIMELINE_COLUMNS = (
    Column("seq", "序号", "seq", "int"),
    *(c for c in EVENT_COLUMNS if c.key not in ("id", "document_id")),
)


def invalid(field: str, problem: str) -> InvalidInput:
    return InvalidInput(Reason("invalid", {"field": field, "problem": problem}))


@dataclass(frozen=True)
class EventFilter:
    """What to select; every field narrows, ``None`` means "any".

    ``unit`` is the unit of the *actor* (who did it); ``document_unit`` the unit that drafts
    the document the event is about. ``since`` is inclusive, ``until`` exclusive.
    """

    document_id: int | None = None
    unit: str | None = None
    document_unit: str | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None
    """cli, api, web, worker or system (workflow/kernel/attribution.py)."""

    def check(self) -> None:
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise invalid("outcome", _("must be one of {p0}", p0=", ".join(OUTCOMES)))
        if self.channel is not None and self.channel not in CHANNELS:
            raise invalid("channel", _("must be one of {p0}", p0=", ".join(CHANNELS)))
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise invalid(name, _("needs a time zone"))
        if self.since and self.until and self.until <= self.since:
            raise invalid("until", _("must be after since"))

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class EventPage:
    """One page of events and where the next page starts (``None`` on the last page)."""

    table: Table
    next_after_id: int | None


def event_row(ev: Any) -> dict[str, Any]:
    try:
        details: Any = json.loads(ev.details) if ev.details else {}
    except ValueError:  # a tampered row still shows; verify reports it
        details = ev.details
    return {
        "id": ev.id,
        "seq": ev.seq,
        "at": ev.at,
        "document_id": ev.document_id,
        "actor": ev.actor,
        "actor_unit": ev.actor_unit,
        "action": ev.action,
        "outcome": ev.outcome,
        "state_before": ev.state_before,
        "state_after": ev.state_after,
        "details": details,
        "channel": getattr(ev, "channel", None),
        "credential": getattr(ev, "credential", None),
        "wall_at": getattr(ev, "wall_at", None),
    }


def _details_text(row: dict[str, Any]) -> dict[str, Any]:
    """Details as compact JSON text for CSV and the terminal (JSON output keeps the object)."""
    out = dict(row)
    if not isinstance(out["details"], str):
        out["details"] = json.dumps(out["details"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return out


_DOC_UNIT = Unit.__table__.alias("doc_unit")


def _timeline_rows(
    session: Session, login: str, doc_id: int
) -> tuple[ActorSnapshot, DocumentSnapshot, list[Any]]:
    """The actor, what :func:`permissions.may_read` looks at in the document, and the
    document's events — in **one** statement, for the timeline's latency budget.

    The first part (one row) is the actor with their unit, the document with its drafting
    unit, and whether the actor is one of its signers; the document's chain is outer-joined
    to it in order. The caller authorises before any event leaves this module.
    ``signer_logins`` holds the actor alone (if a signer): all that may_read asks of it.
    """
    signs = exists().where(Signer.document_id == Document.id, Signer.user_id == User.id)
    who = (
        select(
            User.login,
            User.unit_id,
            User.roles,
            User.active,
            Unit.code.label("unit_code"),
            Document.id.label("doc_id"),
            Document.state,
            Document.unit_id.label("doc_unit_id"),
            Document.title,
            Document.doc_number,
            _DOC_UNIT.c.code.label("doc_unit_code"),
            signs.label("signs"),
        )
        .select_from(User)
        .join(Unit, Unit.id == User.unit_id)
        .outerjoin(Document, Document.id == doc_id)
        .outerjoin(_DOC_UNIT, _DOC_UNIT.c.id == Document.unit_id)
        .where(User.login == login)
        .subquery("who")
    )
    rows = session.execute(
        select(who, *_EVENTS.c)
        .select_from(who)
        .outerjoin(_EVENTS, and_(_EVENTS.c.chain == audit.chain_for(doc_id), who.c.doc_id.is_not(None)))
        .order_by(_EVENTS.c.seq)
    ).all()
    if not rows:
        raise NotFound(Reason("no_such_user", {"login": login}))
    first = rows[0]
    if first.doc_id is None:
        raise NotFound(Reason("no_such_document", {"id": doc_id}))
    actor = ActorSnapshot(
        login=first.login,
        unit_id=first.unit_id,
        unit_code=first.unit_code,
        roles=role_set(first.roles),
        active=first.active,
    )
    doc = DocumentSnapshot(
        state=first.state,
        unit_id=first.doc_unit_id,
        unit_code=first.doc_unit_code,
        id=first.doc_id,
        title=first.title,
        doc_number=first.doc_number,
        signer_logins=frozenset({login}) if first.signs else frozenset(),
    )
    return actor, doc, [r for r in rows if r.id is not None]


@contextmanager
def reading(db: Database) -> Iterator[Session]:
    """A session for read-only questions.

    On PostgreSQL it runs in autocommit: no BEGIN and COMMIT round trips (a third of the
    timeline's), and nothing lost, since under READ COMMITTED each statement takes its own
    snapshot even inside a transaction. SQLite keeps the usual transaction.
    """
    if db.is_sqlite:
        with db.transaction() as session:
            yield session
        return
    with (
        db.engine.connect() as conn,
        Session(bind=conn.execution_options(isolation_level="AUTOCOMMIT")) as session,
    ):
        yield session


class Gate:
    """Authorises trail-wide questions and audits refusals (shared by queries and reports)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def audit_refusal(
        self,
        actor: ActorSnapshot,
        action: str,
        reasons: list[Reason],
        asked: Mapping[str, Any],
        document_id: int | None = None,
        state: str | None = None,
    ) -> None:
        """The refused question, in a transaction of its own."""
        audit.record_refusal(
            self.db,
            at=self.clock.now(),
            actor=actor,
            action=action,
            reasons=reasons,
            document_id=document_id,
            state=state,
            details={"asked": dict(asked)},
        )

    def require_auditor(self, login: str, action: str, asked: Mapping[str, Any]) -> ActorSnapshot:
        """The actor if :func:`may_audit` allows; otherwise audit the refusal and raise Forbidden."""
        try:
            with reading(self.db) as session:
                return authz.require(session, login, permissions.may_audit)[1]
        except Denied as denied:
            self.audit_refusal(denied.actor, action, list(denied.error.reasons), asked)
            raise denied.error from None


class AuditQueries:
    """Read-only questions about the trail. Interfaces (CLI, HTTP) hold one of these."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.gate = Gate(db, clock)

    def timeline(self, login: str, doc_id: int) -> Table:
        """Every event of one document, oldest first (its hash chain, in order)."""
        with reading(self.db) as session:
            actor, doc, events = _timeline_rows(session, login, doc_id)
        denied = permissions.may_read(actor, doc)
        if denied:
            self.gate.audit_refusal(
                actor, "audit_query", denied, {"timeline": doc_id}, document_id=doc_id, state=doc.state
            )
            raise Forbidden(denied)
        rows = [event_row(e) for e in events]
        return Table(
            "timeline",
            f"文件 {doc_id} 的审计时间线",
            f"Timeline of document {doc_id}",
            TIMELINE_COLUMNS,
            rows,
            meta={"document_id": doc_id, "title": doc.title},
            tz=self.settings.timezone,
        )

    def events(
        self, login: str, flt: EventFilter, *, limit: int = DEFAULT_LIMIT, after_id: int | None = None
    ) -> EventPage:
        """One page of events matching ``flt`` in time order, starting after ``after_id``."""
        flt.check()
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid("limit", _("must be between 1 and {MAX_LIMIT}", MAX_LIMIT=MAX_LIMIT))
        self.gate.require_auditor(
            login, "audit_query", {**flt.as_dict(), "limit": limit, "after_id": after_id}
        )
        with reading(self.db) as session:
            rows = [event_row(e) for e in find_events(session, flt, limit=limit, after_id=after_id)]
        next_id = rows[-1]["id"] if len(rows) == limit else None
        meta = {**flt.as_dict(), "after_id": after_id, "limit": limit, "next_after_id": next_id}
        table = Table(
            "events", "审计事件", "Audit events", EVENT_COLUMNS, rows, meta=meta, tz=self.settings.timezone
        )
        return EventPage(table, next_id)


_EVENTS = AuditEvent.__table__


def timeline_events(session: Session, doc_id: int) -> list[Any]:
    """A document's chain in order, as plain rows (read-only: no ORM identity bookkeeping);
    served by the (chain, seq) unique index."""
    return list(
        session.execute(
            select(_EVENTS).where(_EVENTS.c.chain == audit.chain_for(doc_id)).order_by(_EVENTS.c.seq)
        )
    )


def find_events(session: Session, flt: EventFilter, *, limit: int, after_id: int | None = None) -> list[Any]:
    """Events matching ``flt``, ordered by (at, id), keyset-paged after event ``after_id``."""
    stmt = select(_EVENTS)
    if flt.document_id is not None:
        stmt = stmt.where(AuditEvent.document_id == flt.document_id)
    if flt.unit is not None:
        stmt = stmt.where(AuditEvent.actor_unit == flt.unit)
    if flt.document_unit is not None:
        docs = (
            select(Document.id).join(Unit, Unit.id == Document.unit_id).where(Unit.code == flt.document_unit)
        )
        stmt = stmt.where(AuditEvent.document_id.in_(docs))
    if flt.actor is not None:
        stmt = stmt.where(AuditEvent.actor == flt.actor)
    if flt.action is not None:
        stmt = stmt.where(AuditEvent.action == flt.action)
    if flt.outcome is not None:
        stmt = stmt.where(AuditEvent.outcome == flt.outcome)
    if flt.channel is not None:
        stmt = stmt.where(AuditEvent.channel == flt.channel)
    if flt.since is not None:
        stmt = stmt.where(AuditEvent.at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(AuditEvent.at < flt.until)
    if after_id is not None:
        last_at = session.scalar(select(AuditEvent.at).where(AuditEvent.id == after_id))
        if last_at is None:
            raise invalid("after_id", _("no audit event has id {after_id}", after_id=after_id))
        # (at, id) > (last_at, after_id), spelt so that the index range on ``at`` is used.
        stmt = stmt.where(
            AuditEvent.at >= last_at,
            or_(AuditEvent.at > last_at, and_(AuditEvent.at == last_at, AuditEvent.id > after_id)),
        )
    stmt = stmt.order_by(AuditEvent.at, AuditEvent.id).limit(limit)
    return list(session.execute(stmt))


def flat_rows(table: Table) -> Table:
    """The same table with details as one JSON text cell (for CSV and the terminal)."""
    return Table(
        table.name,
        table.title_zh,
        table.title_en,
        table.columns,
        [_details_text(r) for r in table.rows],
        dict(table.meta),
        table.totals,
        table.tz,
    )
