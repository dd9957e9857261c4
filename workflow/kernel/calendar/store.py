"""The calendar as the application uses it: loaded years in the database, deadlines of documents.

Every function takes the caller's session and writes nothing outside the caller's transaction,
so a refused or failed load leaves no trace but the audit line the caller records for it.
"""
from __future__ import annotations

import threading

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from states.deadline import (
    DueDate, compute_due, is_late, local_date, working_days_between,
)
from states.permissions import may_administer
from states.reasons import Reason
from states.snapshot import ActorSnapshot

from workflow.kernel import audit
from workflow.kernel.errors import Forbidden
from workflow.kernel.models import CalendarDay, CalendarYear, Document
from workflow.kernel.settings import Settings
from workflow.kernel.calendar.calendar import Calendar
from workflow.kernel.calendar.fileformat import parse_schedule
from workflow.kernel.calendar.schedule import YearSchedule

_SESSION_KEY = "santongbu.calendar"
OPEN_STATE = "published"


def loaded_schedules(session: Session) -> list[YearSchedule]:
    """Every year an administrator loaded, as schedules."""
    years = list(session.scalars(select(CalendarYear).order_by(CalendarYear.year)))
    if not years:
        return []
    days: dict[int, list[CalendarDay]] = {}
    for day in session.scalars(select(CalendarDay).order_by(CalendarDay.day)):
        days.setdefault(day.year, []).append(day)
    return [
        YearSchedule(
            year=y.year,
            holidays={d.day: d.name for d in days.get(y.year, []) if d.kind == "holiday"},
            workdays={d.day: d.name for d in days.get(y.year, []) if d.kind == "workday"},
            official=y.official, source=y.source, notice=y.notice, sha256=y.sha256, loaded=True,
        )
        for y in years
    ]


# Built calendars by what was loaded (years, their content hashes and load instants): a
# Calendar never changes once built, so every transaction that sees the same loads shares one
# instead of reading every loaded day and expanding the years again (~11 % of a publish,
# bench_trigger). Any load changes ``loaded_at``, hence the key.
_BUILT: dict[tuple[object, ...], Calendar] = {}
_BUILT_LOCK = threading.Lock()


def calendar_for(session: Session, settings: Settings) -> Calendar:
    """The calendar as this session's database sees it (one light query per session)."""
    found = session.info.get(_SESSION_KEY)
    if found is None:
        key = tuple(tuple(row) for row in session.execute(
            select(CalendarYear.year, CalendarYear.sha256, CalendarYear.source, CalendarYear.official,
                   CalendarYear.loaded_at).order_by(CalendarYear.year)).all())
        # A year loaded without its content hash (a schedule built in code) is never shared.
        cacheable = all(row[1] for row in key)
        with _BUILT_LOCK:
            found = _BUILT.get(key) if cacheable else None
        if found is None:
            found = Calendar(loaded_schedules(session))
        if cacheable:
            with _BUILT_LOCK:
                if len(_BUILT) >= 8:
                    _BUILT.clear()
                _BUILT[key] = found
        session.info[_SESSION_KEY] = found
    return found


def due_for(session: Session, published_at: datetime, settings: Settings) -> DueDate:
    """The deadline of a document published at ``published_at`` (store ``due_at`` and ``provisional``)."""
    return compute_due(
        published_at, calendar_for(session, settings),
        days=settings.deadline_days, tz=settings.timezone,
    )


def due_sources(session: Session, due: DueDate, settings: Settings) -> dict[str, str]:
    """Year → source of the schedule each counted day came from: what to record with a deadline."""
    calendar = calendar_for(session, settings)
    return {str(y): calendar.source(y) for y in sorted({d.year for d in due.counted_days})}


def posting_result(
    session: Session, published_at: datetime, due_at: datetime, posted_at: datetime,
    settings: Settings,
) -> tuple[bool, int, int]:
    """(on_time, working days taken, working days late) for an interpretation posted at ``posted_at``.

    On time is judged against the stored ``due_at`` (the deadline the unit was told), not a
    recomputed one. Days taken count working days after the publication day up to and
    including the posting day; days late count those after the due day (0 on a weekend right
    after a Friday deadline, although the posting is late).
    """
    calendar = calendar_for(session, settings)
    tz = settings.timezone
    posted_on = local_date(posted_at, tz)
    taken = working_days_between(local_date(published_at, tz), posted_on, calendar)
    if not is_late(due_at, posted_at):
        return True, taken, 0
    return False, taken, working_days_between(local_date(due_at, tz), posted_on, calendar)


@dataclass(frozen=True)
class MovedDeadline:
    document_id: int
    old_due_at: datetime | None
    new_due_at: datetime
    old_provisional: bool
    new_provisional: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "document_id": self.document_id, "old_due": self.old_due_at, "new_due": self.new_due_at,
            "old_provisional": self.old_provisional, "new_provisional": self.new_provisional,
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
            "year": self.year, "source": self.source, "official": self.official,
            "holidays": self.holidays, "workdays": self.workdays, "replaced": self.replaced,
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
    session.add(CalendarYear(
        year=schedule.year, source=schedule.source, notice=schedule.notice, sha256=schedule.sha256,
        official=schedule.official, loaded_at=at, loaded_by=actor.login,
    ))
    session.flush()
    session.add_all(
        [CalendarDay(day=d, year=schedule.year, kind="holiday", name=n) for d, n in schedule.holidays.items()]
        + [CalendarDay(day=d, year=schedule.year, kind="workday", name=n) for d, n in schedule.workdays.items()]
    )
    session.flush()
    return replaced


def recompute_open_deadlines(
    session: Session, settings: Settings, *, actor: ActorSnapshot | None, at: datetime,
    why: dict[str, object], only_provisional: bool = False,
) -> tuple[int, list[MovedDeadline]]:
    """Recompute ``due_at``/``due_provisional`` of every published document (or only the
    provisional ones) on the current calendar; audit each change (``deadline_recomputed``)
    on the document's chain."""
    session.info.pop(_SESSION_KEY, None)
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
            session, at=at, actor=actor, action="deadline_recomputed", document_id=doc.id,
            state_before=doc.state, state_after=doc.state,
            details={
                "old_due": move.old_due_at, "new_due": move.new_due_at,
                "moved": move.old_due_at != move.new_due_at,
                "old_provisional": move.old_provisional, "provisional": move.new_provisional,
                "counted_days": [d.isoformat() for d in new.counted_days], **why,
            },
        )
        changed.append(move)
    # A new schedule may move when the ladder's later rungs fire even where the deadline
    # stayed (they count working days after it): the sweep looks at every open document again.
    from workflow.services.sweep import reset_hints

    reset_hints(session, [m.document_id for m in changed] if only_provisional else None)
    return len(docs), changed


def refresh_provisional_deadlines(session: Session, settings: Settings, *, at: datetime) -> list[MovedDeadline]:
    """Recompute provisional open deadlines on the calendar as it is now (for a periodic sweep).

    On PostgreSQL a document published while a year was being loaded can commit a deadline
    computed on the old calendar after the load recomputed the open ones; it is provisional
    (the year was not loaded yet), so this catches it. Cheap: provisional deadlines are few
    and only exist around the turn of the year. Changes are audited with the system actor.
    """
    from states.snapshot import SYSTEM

    _, changed = recompute_open_deadlines(session, settings, actor=SYSTEM, at=at,
                                          why={"reason": "provisional_refresh"}, only_provisional=True)
    return changed


def load_year(
    session: Session, year_file_data: YearSchedule | bytes | str, *, actor: ActorSnapshot,
    at: datetime, settings: Settings,
) -> LoadResult:
    """Store a year's schedule (replacing an earlier load), recompute every open deadline and
    audit it all, in the caller's transaction.

    ``year_file_data`` is the file's content (see ``docs/calendar.md``) or an already parsed
    schedule. Raises :class:`Forbidden` unless ``actor`` is an administrator (the caller
    records the refusal in a transaction of its own: :func:`record_refusal`) and
    :class:`~workflow.kernel.errors.InvalidInput` for a malformed file; nothing is written then.
    """
    reasons = may_administer(actor)
    if reasons:
        raise Forbidden(reasons)
    schedule = (year_file_data if isinstance(year_file_data, YearSchedule)
                else parse_schedule(year_file_data, name="<data>"))
    replaced = _store(session, schedule, actor=actor, at=at)
    checked, changed = recompute_open_deadlines(
        session, settings, actor=actor, at=at,
        why={"reason": "calendar_loaded", "year": schedule.year, "source": schedule.source},
    )
    result = LoadResult(
        year=schedule.year, source=schedule.source, official=schedule.official,
        holidays=len(schedule.holidays), workdays=len(schedule.workdays), replaced=replaced,
        documents_checked=checked, changed=tuple(changed),
    )
    audit.append(
        session, at=at, actor=actor, action="calendar_loaded", document_id=None,
        details={**{k: v for k, v in result.as_dict().items() if k != "changed"},
                 "notice": schedule.notice, "sha256": schedule.sha256,
                 "documents_recomputed": [m.document_id for m in changed]},
    )
    return result


def record_refusal(
    session: Session, *, actor: ActorSnapshot, at: datetime, reasons: tuple[Reason, ...],
    file: str | None = None,
) -> None:
    """The audit line of a refused load, written in its own transaction by the caller."""
    audit.append(
        session, at=at, actor=actor, action="calendar_loaded", outcome="refused", document_id=None,
        details={"file": file, "reasons": [r.as_dict("en") for r in reasons]},
    )
