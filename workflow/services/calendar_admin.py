"""Calendar administration: loading a year's schedule, and keeping open deadlines on the
calendar as it is now. The one entry point the CLI, the HTTP API and the worker share.

:class:`CalendarAdmin` resolves and authorises the acting user (:mod:`workflow.services.authz`),
does the work in one transaction, and records a refusal (not an administrator) in a
transaction of its own, since the refused one rolls back. The kernel calendar
(:mod:`workflow.kernel.calendar`) only reads schedules and computes due dates; what changes
documents because a schedule changed lives here, beside the sweep whose hints it resets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from states import permissions
from states.snapshot import SYSTEM, ActorSnapshot
from workflow.kernel import audit
from workflow.kernel.calendar import Calendar, YearSchedule, calendar_for, due_for, parse_schedule
from workflow.kernel.calendar.store import forget
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange, Denied, Forbidden
from workflow.kernel.models import CalendarDay, CalendarYear, Document
from workflow.kernel.settings import Settings
from workflow.services import authz
from workflow.services.sweep import OPEN_STATE, reset_hints

ATTEMPTS = 3


@dataclass(frozen=True)
class MovedDeadline:
    document_id: int
    old_due_at: datetime | None
    new_due_at: datetime
    old_provisional: bool
    new_provisional: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "document_id": self.document_id,
            "old_due": self.old_due_at,
            "new_due": self.new_due_at,
            "old_provisional": self.old_provisional,
            "new_provisional": self.new_provisional,
        }


@dataclass(frozen=True)
class LoadResult:
    """What a load did: the year, what it replaced, and which open deadlines changed."""

    year: int
    source: str
    official: bool
    holidays: int
    workdays: int
    replaced: str | None
    documents_checked: int
    changed: tuple[MovedDeadline, ...] = field(default=())

    @property
    def moved(self) -> tuple[MovedDeadline, ...]:
        """Deadlines whose instant moved (others only changed their provisional flag)."""
        return tuple(m for m in self.changed if m.old_due_at != m.new_due_at)

    def as_dict(self) -> dict[str, object]:
        return {
            "year": self.year,
            "source": self.source,
            "official": self.official,
            "holidays": self.holidays,
            "workdays": self.workdays,
            "replaced": self.replaced,
            "documents_checked": self.documents_checked,
            "documents_moved": len(self.moved),
            "changed": [m.as_dict() for m in self.changed],
        }


def _store(session: Session, schedule: YearSchedule, *, actor: ActorSnapshot, at: datetime) -> str | None:
    """Replace the stored year; returns the source of the schedule it replaced, if any."""
    old = session.get(CalendarYear, schedule.year)
    replaced = old.source if old else None
    session.execute(delete(CalendarDay).where(CalendarDay.year == schedule.year))
    if old is not None:
        session.delete(old)
    session.flush()
    session.add(
        CalendarYear(
            year=schedule.year,
            source=schedule.source,
            notice=schedule.notice,
            sha256=schedule.sha256,
            official=schedule.official,
            loaded_at=at,
            loaded_by=actor.login,
        )
    )
    session.flush()
    session.add_all(
        [CalendarDay(day=d, year=schedule.year, kind="holiday", name=n) for d, n in schedule.holidays.items()]
        + [
            CalendarDay(day=d, year=schedule.year, kind="workday", name=n)
            for d, n in schedule.workdays.items()
        ]
    )
    session.flush()
    return replaced


def recompute_open_deadlines(
    session: Session,
    settings: Settings,
    *,
    actor: ActorSnapshot | None,
    at: datetime,
    why: dict[str, object],
    only_provisional: bool = False,
) -> tuple[int, list[MovedDeadline]]:
    """Recompute ``due_at``/``due_provisional`` of every published document (or only the
    provisional ones) on the current calendar; audit each change (``deadline_recomputed``)
    on the document's chain."""
    forget(session)
    query = select(Document).where(Document.state == OPEN_STATE, Document.published_at.is_not(None))
    if only_provisional:
        query = query.where(Document.due_provisional.is_(True))
    docs = list(session.scalars(query.order_by(Document.id)))
    changed: list[MovedDeadline] = []
    for doc in docs:
        assert doc.published_at is not None
        new = due_for(session, doc.published_at, settings)
        if doc.due_at == new.due_at and bool(doc.due_provisional) == new.provisional:
            continue
        move = MovedDeadline(doc.id, doc.due_at, new.due_at, bool(doc.due_provisional), new.provisional)
        doc.due_at, doc.due_provisional = new.due_at, new.provisional
        session.flush()
        audit.append(
            session,
            at=at,
            actor=actor,
            action="deadline_recomputed",
            document_id=doc.id,
            state_before=doc.state,
            state_after=doc.state,
            details={
                "old_due": move.old_due_at,
                "new_due": move.new_due_at,
                "moved": move.old_due_at != move.new_due_at,
                "old_provisional": move.old_provisional,
                "provisional": move.new_provisional,
                "counted_days": [d.isoformat() for d in new.counted_days],
                **why,
            },
        )
        changed.append(move)
    # A new schedule may move when the ladder's later rungs fire even where the deadline
    # stayed (they count working days after it): the sweep looks at every open document again.
    reset_hints(session, [m.document_id for m in changed] if only_provisional else None)
    return len(docs), changed


def refresh_provisional_deadlines(
    session: Session, settings: Settings, *, at: datetime
) -> list[MovedDeadline]:
    """Recompute provisional open deadlines on the calendar as it is now (for a periodic sweep).

    On PostgreSQL a document published while a year was being loaded can commit a deadline
    computed on the old calendar after the load recomputed the open ones; it is provisional
    (the year was not loaded yet), so this catches it. Cheap: provisional deadlines are few
    and only exist around the turn of the year. Changes are audited with the system actor.
    """
    _, changed = recompute_open_deadlines(
        session, settings, actor=SYSTEM, at=at, why={"reason": "provisional_refresh"}, only_provisional=True
    )
    return changed


def load_year(
    session: Session,
    year_file_data: YearSchedule | bytes | str,
    *,
    actor: ActorSnapshot,
    at: datetime,
    settings: Settings,
) -> LoadResult:
    """Store a year's schedule (replacing an earlier load), recompute every open deadline and
    audit it all, in the caller's transaction.

    ``year_file_data`` is the file's content (see ``docs/calendar.md``) or an already parsed
    schedule. Raises :class:`Forbidden` unless ``actor`` is an administrator (the caller
    records the refusal in a transaction of its own) and
    :class:`~workflow.kernel.errors.InvalidInput` for a malformed file; nothing is written then.
    """
    reasons = permissions.may_administer(actor)
    if reasons:
        raise Forbidden(reasons)
    schedule = (
        year_file_data
        if isinstance(year_file_data, YearSchedule)
        else parse_schedule(year_file_data, name="<data>")
    )
    replaced = _store(session, schedule, actor=actor, at=at)
    checked, changed = recompute_open_deadlines(
        session,
        settings,
        actor=actor,
        at=at,
        why={"reason": "calendar_loaded", "year": schedule.year, "source": schedule.source},
    )
    result = LoadResult(
        year=schedule.year,
        source=schedule.source,
        official=schedule.official,
        holidays=len(schedule.holidays),
        workdays=len(schedule.workdays),
        replaced=replaced,
        documents_checked=checked,
        changed=tuple(changed),
    )
    audit.append(
        session,
        at=at,
        actor=actor,
        action="calendar_loaded",
        document_id=None,
        details={
            **{k: v for k, v in result.as_dict().items() if k != "changed"},
            "notice": schedule.notice,
            "sha256": schedule.sha256,
            "documents_recomputed": [m.document_id for m in changed],
        },
    )
    return result


class CalendarAdmin:
    """Loading years and refreshing provisional deadlines; reading the calendar as it is now."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def current(self) -> Calendar:
        """The working-day calendar as the database sees it now."""
        with self.db.transaction() as session:
            return calendar_for(session, self.settings)

    def load(
        self, login: str, data: bytes | str, name: str, *, check: Callable[[YearSchedule], None] | None = None
    ) -> LoadResult:
        """Validate ``data`` (the file named ``name``) and load it as ``login``; all or nothing.

        Raises :class:`~workflow.kernel.errors.NotFound` for an unknown login,
        :class:`Forbidden` (after auditing the refusal) for a non-administrator, and
        :class:`~workflow.kernel.errors.InvalidInput` for a bad file or one ``check`` refuses
        (the API checks that the file is for the year in its URL). The actor is authorised
        before the file is read: a refusal is a refusal, whatever the file. A load that races
        another audit append on the same chain is retried from scratch.
        """
        for attempt in range(ATTEMPTS):
            try:
                with self.db.transaction() as session:
                    _, actor = authz.require(session, login, permissions.may_administer)
                    schedule = parse_schedule(data, name=name)
                    if check is not None:
                        check(schedule)
                    return load_year(
                        session, schedule, actor=actor, at=self.clock.now(), settings=self.settings
                    )
            except Denied as denied:
                audit.record_refusal(
                    self.db,
                    at=self.clock.now(),
                    actor=denied.actor,
                    action="calendar_loaded",
                    reasons=denied.error.reasons,
                    details={"file": name},
                )
                raise denied.error from None
            except ConcurrentChange:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def refresh_provisional(self) -> list[MovedDeadline]:
        """:func:`refresh_provisional_deadlines` as of the clock, in a transaction of its own
        (the periodic task of the workers' beat)."""
        for attempt in range(ATTEMPTS):
            try:
                with self.db.transaction() as session:
                    return refresh_provisional_deadlines(session, self.settings, at=self.clock.now())
            except ConcurrentChange:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
