"""Read-only questions the pages ask: documents due by the next working day, recent
escalations, the count of documents per state, the claims awaiting a supervisor's
confirmation, each document's last escalation level, the postings whose page is not verified.

:meth:`Dashboard.overview` authorises its actor (``may_audit``, a refusal audited, through the
same gate as the reports); the other reads answer about documents the document service already
let the user see (a list of documents, one document's page), so they ask nothing more. Only
bound parameters and ORM expressions reach SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from states.deadline import END_OF_DAY, WorkingDays, add_working_days, local_date, zone
from states.lifecycle import State
from workflow.kernel.calendar import Calendar, calendar_for
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.models import Document, Escalation, Unit
from workflow.kernel.settings import Settings
from workflow.services.audit_queries import Gate
from workflow.services.claims import claims_awaiting
from workflow.services.evidence.queries import unverified_postings

RECENT_ESCALATIONS = 20
CLAIMS_SHOWN = 50
UNVERIFIED_SHOWN = 50


def due_soon(session: Session, now: datetime, calendar: WorkingDays, tz: str) -> list[dict[str, Any]]:
    """Published, not posted, not yet late, and due today or on the next working day."""
    today = local_date(now, tz)
    horizon = add_working_days(today, 1, calendar)
    limit = datetime.combine(horizon, END_OF_DAY, tzinfo=zone(tz))
    rows = session.execute(
        select(
            Document.id,
            Document.title,
            Document.doc_number,
            Document.due_at,
            Document.due_provisional,
            Unit.code,
            Unit.name,
        )
        .join(Unit, Unit.id == Document.unit_id)
        .where(
            Document.state == State.PUBLISHED.value,
            Document.due_at >= now.replace(microsecond=0),
            Document.due_at <= limit,
        )
        .order_by(Document.due_at, Document.id)
    )
    return [
        {
            "id": r.id,
            "title": r.title,
            "doc_number": r.doc_number,
            "due_at": r.due_at,
            "due_provisional": r.due_provisional,
            "unit": r.code,
            "unit_name": r.name,
            "state": State.PUBLISHED.value,
            "on_time": None,
        }
        for r in rows
    ]


def recent_escalations(
    session: Session, now: datetime, limit: int = RECENT_ESCALATIONS
) -> list[dict[str, Any]]:
    """The last escalations fired by ``now``, newest first."""
    rows = session.execute(
        select(
            Escalation.document_id,
            Escalation.level,
            Escalation.fired_at,
            Escalation.working_days_overdue,
            Document.title,
            Document.state,
            Unit.code,
            Unit.name,
        )
        .join(Document, Document.id == Escalation.document_id)
        .join(Unit, Unit.id == Document.unit_id)
        .where(Escalation.fired_at <= now)
        .order_by(Escalation.fired_at.desc(), Escalation.id.desc())
        .limit(limit)
    )
    return [
        {
            "document_id": r.document_id,
            "level": r.level,
            "fired_at": r.fired_at,
            "working_days_overdue": r.working_days_overdue,
            "title": r.title,
            "state": r.state,
            "unit": r.code,
            "unit_name": r.name,
        }
        for r in rows
    ]


def state_counts(session: Session) -> dict[str, int]:
    """How many documents are in each state right now."""
    return {
        state: int(n)
        for state, n in session.execute(select(Document.state, func.count()).group_by(Document.state))
    }


def last_levels(session: Session, ids: Sequence[int], now: datetime) -> dict[int, str]:
    """Each document's highest ladder level fired by ``now`` (the last one fired)."""
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        for r in session.execute(
            select(Escalation.document_id, Escalation.level)
            .where(Escalation.document_id.in_(chunk), Escalation.fired_at <= now)
            .order_by(Escalation.fired_at, Escalation.id)
        ):
            found[r.document_id] = r.level
    return found


def unit_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.execute(select(Unit.code, Unit.name).order_by(Unit.code))}


def drafting_units(session: Session) -> list[tuple[str, str]]:
    return [
        (c, n)
        for c, n in session.execute(
            select(Unit.code, Unit.name).where(Unit.kind == "drafting").order_by(Unit.code)
        )
    ]


@dataclass(frozen=True)
class Overview:
    """What the supervisor's dashboard shows besides the reports, read in one transaction."""

    now: datetime
    calendar: Calendar
    due_soon: list[dict[str, Any]]
    escalations: list[dict[str, Any]]
    counts: dict[str, int]
    claims_waiting: list[dict[str, Any]]
    """Claimed times awaiting a supervisor's confirmation, oldest claim first
    (workflow/services/claims.py)."""
    unverified_count: int = 0
    """Postings whose page is not verified (docs/evidence.md)…"""
    unverified: list[dict[str, Any]] = field(default_factory=list)
    """…the worst of them: unreachable, then mismatched, then not checked yet or without URL."""


class Dashboard:
    """The pages' reads that are not a document's or a report's."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.gate = Gate(db, clock)

    def overview(self, login: str) -> Overview:
        """Due soon, recent escalations, counts per state, the claims awaiting confirmation and
        the postings whose page is not verified (supervisors, auditors, leaders, administrators; a refusal is audited as ``dashboard``)."""
        self.gate.require_auditor(login, "dashboard", {"page": "dashboard"})
        now = self.clock.now()
        with self.db.transaction() as session:
            calendar = calendar_for(session, self.settings)
            count, unverified = unverified_postings(session, self.settings.language, UNVERIFIED_SHOWN)
            return Overview(
                now,
                calendar,
                due_soon(session, now, calendar, self.settings.timezone),
                recent_escalations(session, now),
                state_counts(session),
                claims_awaiting(session, self.settings.claim_grace, limit=CLAIMS_SHOWN),
                count,
                unverified,
            )

    def levels_and_unit_names(self, ids: Sequence[int]) -> tuple[dict[int, str], dict[str, str]]:
        """Each of these documents' last escalation level fired by now, and every unit's name
        by code (one transaction: a list page asks both)."""
        with self.db.transaction() as session:
            return last_levels(session, ids, self.clock.now()), unit_names(session)

    def drafting_units(self) -> list[tuple[str, str]]:
        with self.db.transaction() as session:
            return drafting_units(session)
