"""The calendar against a real database (SQLite and PostgreSQL): deadlines stored on publish,
on-time results on posting, and loading a corrected schedule moves open deadlines, audited."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from states.snapshot import ActorSnapshot
from tests.conftest import shanghai
from workflow.kernel import audit
from workflow.kernel.calendar import calendar_for, due_for, due_sources, posting_result
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, CalendarDay, CalendarYear, Document, Unit, User
from workflow.kernel.settings import Settings
from workflow.services.calendar_admin import load_year, refresh_provisional_deadlines

ADMIN = ActorSnapshot(login="admin", unit_id=None, roles=frozenset({"admin"}))
NOW = shanghai(2026, 12, 1, 9, 0)


def _directory(session) -> tuple[Unit, User]:  # type: ignore[no-untyped-def]
    unit = Unit(code="zfc", name="政法处", kind="drafting", created_at=NOW)
    session.add(unit)
    session.flush()
    user = User(login="li", name="李", unit_id=unit.id, roles="member", created_at=NOW)
    session.add(user)
    session.flush()
    return unit, user


def _published(
    session, unit: Unit, user: User, published_at: datetime, settings: Settings, state: str = "published"
) -> Document:  # type: ignore[no-untyped-def]
    due = due_for(session, published_at, settings)
    doc = Document(
        unit_id=unit.id,
        title=f"doc {published_at:%Y-%m-%d}",
        body="x",
        state=state,
        created_by=user.id,
        created_at=NOW,
        updated_at=NOW,
        published_at=published_at,
        due_at=due.due_at,
        due_provisional=due.provisional,
    )
    session.add(doc)
    session.flush()
    return doc


# A corrected 2027 schedule for the tests (NOT the State Council's: 2027 is not announced).
# New Year: Fri 2027-01-01 to Mon 2027-01-04 off. The package estimate has only Jan 1 off, so
# a document published Wed 2026-12-30 moves: estimate = Thu 12-31, Mon 01-04, Tue 01-05;
# corrected = Thu 12-31, Tue 01-05, Wed 01-06.
CORRECTED_2027 = """
year = 2027
source = "test schedule"
official = true

[[holidays]]
name = "元旦"
start = 2027-01-01
end = 2027-01-04

[[holidays]]
name = "春节"
start = 2027-02-06
end = 2027-02-12

[[workdays]]
date = 2027-02-13
name = "春节调休上班"
"""


def test_due_stored_on_publish_is_official_and_true_to_2024(db: Database, settings: Settings) -> None:
    # Published Fri 2024-02-09 (除夕, a working day in 2024); 10–17 Feb off; Sun 02-18 make-up
    # = day 1, Mon 02-19 = day 2, Tue 02-20 = day 3.
    with db.transaction() as s:
        unit, user = _directory(s)
        doc = _published(s, unit, user, shanghai(2024, 2, 9, 15, 0), settings)
        doc_id = doc.id
    with db.transaction() as s:
        doc = s.get(Document, doc_id)
        assert doc.due_at == shanghai(2024, 2, 20, 23, 59, 59)
        assert doc.due_at.tzinfo is not None and doc.due_at.utcoffset().total_seconds() == 0
        assert doc.due_provisional is False


def test_posting_result_on_time_and_late(db: Database, settings: Settings) -> None:
    published = shanghai(2019, 9, 27, 16, 0)  # Fri; due Tue 2019-10-08 (see test_deadline)
    with db.transaction() as s:
        due = due_for(s, published, settings)
        assert due.due_local == shanghai(2019, 10, 8, 23, 59, 59)
        # Posted Mon 2019-09-30: working days after Fri 27th: Sun 29 (make-up), Mon 30 → 2.
        assert posting_result(s, published, due.due_at, shanghai(2019, 9, 30, 11, 0), settings) == (
            True,
            2,
            0,
        )
        # Posted on the due day at 23:59:59 → on time, 3 days taken.
        assert posting_result(s, published, due.due_at, shanghai(2019, 10, 8, 23, 59, 59), settings) == (
            True,
            3,
            0,
        )
        # Posted Sat 2019-10-12 10:00 (a make-up working day in 2019): 9 Wed, 10 Thu, 11 Fri have
        # fully passed since the due day (Sat 12 has not) → 3 late; taken 3 + 4 (incl. Sat) = 7.
        assert posting_result(s, published, due.due_at, shanghai(2019, 10, 12, 10, 0), settings) == (
            False,
            7,
            3,
        )
        # Posted at 00:00:00 the day after the due day → late, but no working day has passed
        # since the due day yet: 0 (less than 1); taken counts Wed 10-09 → 4.
        assert posting_result(s, published, due.due_at, shanghai(2019, 10, 9, 0, 0), settings) == (
            False,
            4,
            0,
        )


def test_load_corrected_year_moves_open_deadlines_and_audits(db: Database, settings: Settings) -> None:
    at = shanghai(2026, 12, 31, 17, 0)
    with db.transaction() as s:
        unit, user = _directory(s)
        moving = _published(s, unit, user, shanghai(2026, 12, 30, 10, 0), settings)
        # Published Mon 2026-12-28: 29, 30, 31 Dec → due 2026-12-31, official, untouched.
        staying = _published(s, unit, user, shanghai(2026, 12, 28, 10, 0), settings)
        # Already posted: closed for good, never recomputed.
        closed = _published(
            s, unit, user, shanghai(2026, 12, 30, 11, 0), settings, state="interpretation_posted"
        )
        ids = moving.id, staying.id, closed.id
        assert moving.due_at == shanghai(2027, 1, 5, 23, 59, 59) and moving.due_provisional
        assert staying.due_at == shanghai(2026, 12, 31, 23, 59, 59) and not staying.due_provisional

    with db.transaction() as s:  # as if the sweep had stored its hints
        for doc in (s.get(Document, i) for i in ids):
            doc.next_rung_at = shanghai(2027, 1, 7, 0, 0)
    with db.transaction() as s:
        result = load_year(s, CORRECTED_2027, actor=ADMIN, at=at, settings=settings)
        assert [m.document_id for m in result.moved] == [ids[0]]
        assert result.documents_checked == 2
    with db.transaction() as s:  # the sweep will look at every open document again
        hints = [(d.next_rung_at, d.published_at) for d in (s.get(Document, i) for i in ids)]
        assert hints[0] == (hints[0][1], hints[0][1]) and hints[1] == (hints[1][1], hints[1][1])
        assert hints[2][0] == shanghai(2027, 1, 7, 0, 0)  # posted: no longer the sweep's

    with db.transaction() as s:
        moving, staying, closed = (s.get(Document, i) for i in ids)
        assert moving.due_at == shanghai(2027, 1, 6, 23, 59, 59)
        assert moving.due_provisional is False
        assert staying.due_at == shanghai(2026, 12, 31, 23, 59, 59)
        assert closed.due_at == shanghai(2027, 1, 5, 23, 59, 59) and closed.due_provisional
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        recomputed = [e for e in events if e.action == "deadline_recomputed"]
        assert [e.document_id for e in recomputed] == [ids[0]]
        details = json.loads(recomputed[0].details)
        assert details["old_due"].startswith("2027-01-05T15:59:59")
        assert details["new_due"].startswith("2027-01-06T15:59:59")
        assert details["provisional"] is False and details["old_provisional"] is True
        assert recomputed[0].actor == "admin" and recomputed[0].chain == f"doc:{ids[0]}"
        loaded = [e for e in events if e.action == "calendar_loaded"]
        assert len(loaded) == 1 and loaded[0].chain == "sys" and loaded[0].document_id is None
        assert json.loads(loaded[0].details)["year"] == 2027
        row = s.get(CalendarYear, 2027)
        assert row.official and row.loaded_by == "admin" and row.source.startswith("file:<data> sha256:")
        assert s.get(CalendarDay, date(2027, 2, 13)).kind == "workday"
        assert audit.verify(s).ok
        sources = due_sources(s, due_for(s, shanghai(2026, 12, 30, 10, 0), settings), settings)
        assert sources["2026"].startswith("chinesecalendar") and sources["2027"] == row.source
        assert calendar_for(s, settings).loaded_years == (2027,)


def test_stale_provisional_deadline_is_refreshed(db: Database, settings: Settings) -> None:
    """A publish that raced a load (computed on the old calendar, committed after the load's
    recompute) leaves a stale provisional deadline; the refresh puts it right, audited."""
    with db.transaction() as s:
        unit, user = _directory(s)
        load_year(s, CORRECTED_2027, actor=ADMIN, at=NOW, settings=settings)
    with db.transaction() as s:
        # The racing publish: its deadline was computed on the package calendar (no 2027 load).
        from states.deadline import compute_due
        from workflow.kernel.calendar import package_calendar

        stale = compute_due(shanghai(2026, 12, 30, 10, 0), package_calendar())
        assert stale.provisional and stale.due_local == shanghai(2027, 1, 5, 23, 59, 59)
        doc = Document(
            unit_id=unit.id,
            title="raced",
            body="x",
            state="published",
            created_by=user.id,
            created_at=NOW,
            updated_at=NOW,
            published_at=shanghai(2026, 12, 30, 10, 0),
            due_at=stale.due_at,
            due_provisional=True,
        )
        s.add(doc)
        s.flush()
        doc_id = doc.id
    with db.transaction() as s:
        changed = refresh_provisional_deadlines(s, settings, at=shanghai(2026, 12, 31, 17, 1))
        assert [m.document_id for m in changed] == [doc_id]
    with db.transaction() as s:
        doc = s.get(Document, doc_id)
        assert doc.due_at == shanghai(2027, 1, 6, 23, 59, 59) and doc.due_provisional is False
        event = s.scalars(select(AuditEvent).where(AuditEvent.document_id == doc_id)).one()
        assert (event.action, event.actor) == ("deadline_recomputed", "system")
        assert json.loads(event.details)["reason"] == "provisional_refresh"
        assert refresh_provisional_deadlines(s, settings, at=NOW) == []


def test_refused_load_changes_nothing(db: Database, settings: Settings) -> None:
    from workflow.kernel.errors import Forbidden

    clerk = ActorSnapshot(login="li", unit_id=1, roles=frozenset({"member"}))
    with db.transaction() as s:
        with pytest.raises(Forbidden) as caught:
            load_year(s, CORRECTED_2027, actor=clerk, at=NOW, settings=settings)
        assert caught.value.reasons[0].code == "not_admin"
        assert s.scalars(select(CalendarYear)).first() is None


def test_transactions_share_a_built_calendar_until_a_year_is_loaded(db: Database, settings: Settings) -> None:
    with db.transaction() as s:
        first = calendar_for(s, settings)
    with db.transaction() as s:
        assert calendar_for(s, settings) is first  # nothing loaded meanwhile: not rebuilt
    with db.transaction() as s:
        load_year(s, CORRECTED_2027, actor=ADMIN, at=shanghai(2026, 12, 31, 17, 0), settings=settings)
    with db.transaction() as s:
        after = calendar_for(s, settings)
        assert after is not first and after.loaded_years == (2027,)
        assert after.is_working_day(date(2027, 2, 13))  # the corrected make-up Saturday
    with db.transaction() as s:
        assert calendar_for(s, settings) is after


# 2027 loaded again without its make-up working Saturday (a correction of the correction).
WITHOUT_MAKEUP_2027 = CORRECTED_2027.split("[[workdays]]")[0].replace("test schedule", "test schedule v2")
MAKEUP_SATURDAY = date(2027, 2, 13)

# Loads 2027 as another process would (the CLI, a worker): argv is the URL, the instant, the file.
LOAD_ELSEWHERE = """
import sys
from datetime import datetime
from states.snapshot import ActorSnapshot
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings
from workflow.services.calendar_admin import load_year

url, at, data = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3]
db = Database(url)
with db.transaction() as s:
    load_year(s, data, actor=ActorSnapshot(login="admin", unit_id=None, roles=frozenset({"admin"})),
              at=at, settings=Settings(database_url=url))
db.dispose()
"""


def test_a_load_through_one_database_object_is_seen_by_another(db: Database, settings: Settings) -> None:
    """Two Database objects on one database in one process (as a server's API and its pages
    could hold): a load through one reaches the other's next transaction, also when the
    second load happens at the same clock instant as the first (a fixed clock)."""
    other = Database(db.url)
    try:
        with other.transaction() as s:
            before = calendar_for(s, settings)
        with other.transaction() as s:
            assert calendar_for(s, settings) is before  # cached: nothing loaded meanwhile
        with db.transaction() as s:
            load_year(s, CORRECTED_2027, actor=ADMIN, at=NOW, settings=settings)
        with other.transaction() as s:
            loaded = calendar_for(s, settings)
            assert loaded.loaded_years == (2027,) and loaded.is_working_day(MAKEUP_SATURDAY)
        with db.transaction() as s:
            load_year(s, WITHOUT_MAKEUP_2027, actor=ADMIN, at=NOW, settings=settings)
        with other.transaction() as s:
            reloaded = calendar_for(s, settings)
            assert reloaded is not loaded and not reloaded.is_working_day(MAKEUP_SATURDAY)
        with other.transaction() as s:
            assert calendar_for(s, settings) is reloaded
    finally:
        other.dispose()


def test_a_load_in_another_process_is_seen_through_the_version_in_the_database(
    db: Database, settings: Settings
) -> None:
    """A year replaced by another process (same count of years, a new ``loaded_at``) reaches
    this process's next transaction: nothing here was told, only the database changed."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    with db.transaction() as s:
        load_year(s, CORRECTED_2027, actor=ADMIN, at=NOW, settings=settings)
    with db.transaction() as s:
        cached = calendar_for(s, settings)
        assert cached.is_working_day(MAKEUP_SATURDAY)
    with db.transaction() as s:
        assert calendar_for(s, settings) is cached
    root = Path(__file__).resolve().parents[2]
    later = shanghai(2026, 12, 1, 9, 5).isoformat()
    subprocess.run(
        [sys.executable, "-c", LOAD_ELSEWHERE, db.url, later, WITHOUT_MAKEUP_2027],
        check=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=120,
    )
    with db.transaction() as s:
        seen = calendar_for(s, settings)
        assert seen is not cached and not seen.is_working_day(MAKEUP_SATURDAY)


def test_the_beat_refreshes_provisional_deadlines(db: Database, settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
    """``refresh_provisional_deadlines`` is periodic work: the workers' beat schedules it, and
    its task, run against the database, puts right a deadline that was computed while 2027 had
    no official schedule once one has been loaded."""
    from workers.app import make_app
    from workers.sweep_tasks import REFRESH_PROVISIONAL

    clock.set(shanghai(2026, 12, 31, 17, 1))
    app = make_app(settings, db=db, clock=clock, name="santongbu-test-refresh")
    entry = app.conf.beat_schedule["refresh-provisional-deadlines"]
    assert entry["task"] == REFRESH_PROVISIONAL and REFRESH_PROVISIONAL in app.tasks
    assert entry["schedule"] == settings.provisional_refresh_interval_seconds

    with db.transaction() as s:
        unit, user = _directory(s)
        stale = _published(s, unit, user, shanghai(2026, 12, 30, 10, 0), settings)  # 2027: no notice yet
        assert stale.due_provisional and stale.due_at == shanghai(2027, 1, 5, 23, 59, 59)
        doc_id = stale.id
        # The official schedule arrives (as a load committed while this deadline was being
        # computed would leave it: the year stored, this document not yet recomputed).
        s.add(
            CalendarYear(year=2027, source="official notice", official=True, loaded_at=NOW, loaded_by="admin")
        )
        s.flush()
        s.add_all(
            [
                CalendarDay(day=d, year=2027, kind="holiday", name="元旦")
                for d in (date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3), date(2027, 1, 4))
            ]
        )

    result = app.tasks[REFRESH_PROVISIONAL].apply().get()
    assert result == {"changed_count": 1, "documents": [doc_id]}
    with db.transaction() as s:
        doc = s.get(Document, doc_id)
        assert doc.due_provisional is False and doc.due_at == shanghai(2027, 1, 6, 23, 59, 59)
        event = s.scalars(
            select(AuditEvent).where(
                AuditEvent.document_id == doc_id, AuditEvent.action == "deadline_recomputed"
            )
        ).one()
        assert event.actor == "system" and json.loads(event.details)["reason"] == "provisional_refresh"
    assert app.tasks[REFRESH_PROVISIONAL].apply().get() == {"changed_count": 0, "documents": []}
