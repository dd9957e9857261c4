"""The deadline sweep (workflow/services/sweep.py) on SQLite and PostgreSQL: as the injected clock moves
past the reminder, the deadline and +1 and +3 working days — across a holiday — exactly the
expected rungs fire, once each, with the right emails queued; a posting stops the ladder; a
sweep that did not run for days catches up; concurrent sweeps never duplicate."""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from notifications.content import content_of, subject_of
from states.ladder import DEFAULT_LADDER
from tests.conftest import shanghai
from tests.factories import CLERK, make_workflow, seed_bureau, to_published
from workflow.kernel import audit
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, Document, Escalation
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.settings import Settings
from workflow.services.documents import Workflow
from workflow.services.sweep import ACTION, SweepReport, _fire_all, _Planned, sweep

LADDER_EVENTS = ("reminder", "overdue", "escalated", "escalated_high")
UNIT = {"spc@jtj.example.cn"}
INTERPRETER = {"liu.spc@jtj.example.cn"}
HEAD = {"chen.spc@jtj.example.cn"}
SUPERVISORS = {
    "zfc@jtj.example.cn",
    "lin.zfc@jtj.example.cn",
    "xxgk@jtj.example.cn",
    "zheng.gk@jtj.example.cn",
}
LEADERSHIP = {"leaders@jtj.example.cn", "director@jtj.example.cn"}
# Who each rung emails (docs/design.md §4): (to, cc).
EXPECTED_RECIPIENTS = {
    "reminder": (UNIT | INTERPRETER, set()),
    "overdue": (UNIT | HEAD, SUPERVISORS),
    "escalated": (SUPERVISORS, UNIT | HEAD),
    "escalated_high": (LEADERSHIP, SUPERVISORS),
}


@pytest.fixture
def wf(db: Database, clock: FixedClock, settings: Settings) -> Workflow:
    seed_bureau(db, clock)
    return make_workflow(db, clock, settings)


def publish_at(wf: Workflow, clock: FixedClock, at: datetime, **kw: object) -> int:
    clock.set(at)
    return to_published(wf, **kw)  # type: ignore[arg-type]


def ladder_mail(db: Database, doc_id: int | None = None) -> list[OutboxMessage]:
    with db.transaction() as s:
        stmt = select(OutboxMessage).where(OutboxMessage.event.in_(LADDER_EVENTS)).order_by(OutboxMessage.id)
        if doc_id is not None:
            stmt = stmt.where(OutboxMessage.document_id == doc_id)
        return list(s.scalars(stmt))


def escalations(db: Database, doc_id: int) -> list[tuple[str, datetime, int]]:
    with db.transaction() as s:
        return [
            (e.level, e.fired_at, e.working_days_overdue)
            for e in s.scalars(
                select(Escalation).where(Escalation.document_id == doc_id).order_by(Escalation.id)
            )
        ]


def escalation_events(db: Database, doc_id: int) -> list[dict]:
    with db.transaction() as s:
        return [
            json.loads(e.details)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.document_id == doc_id, AuditEvent.action == ACTION)
                .order_by(AuditEvent.seq)
            )
        ]


def run(db: Database, clock: FixedClock, settings: Settings, at: datetime, **kw: object) -> list[str]:
    clock.set(at)
    report = sweep(db, clock, settings, **kw)  # type: ignore[arg-type]
    return [f.level for f in report.fired]


def test_ladder_fires_each_level_once_as_the_clock_moves(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    # Published Fri 2024-02-09 before the Spring Festival; Sun 2024-02-18 is a make-up working
    # day, so the interpretation is due Tue 2024-02-20 23:59:59.
    doc = publish_at(wf, clock, shanghai(2024, 2, 9, 10, 0))
    assert wf.read_document(CLERK, doc).due_at == shanghai(2024, 2, 20, 23, 59, 59)
    steps = [
        (shanghai(2024, 2, 9, 10, 5), []),
        (shanghai(2024, 2, 18, 12, 0), []),  # the make-up Sunday: day 1 of 3
        (shanghai(2024, 2, 20, 8, 59, 59), []),
        (shanghai(2024, 2, 20, 9, 0), ["reminder"]),
        (shanghai(2024, 2, 20, 9, 1), []),
        (shanghai(2024, 2, 20, 23, 59, 59, 999999), []),  # the whole last second is on time
        (shanghai(2024, 2, 21, 0, 0), ["overdue"]),
        (shanghai(2024, 2, 21, 23, 59, 59), []),
        (shanghai(2024, 2, 22, 0, 0), ["escalated"]),
        (shanghai(2024, 2, 23, 18, 0), []),
        (shanghai(2024, 2, 24, 0, 0), ["escalated_high"]),
        (shanghai(2024, 3, 30, 9, 0), []),
    ]
    for at, expected in steps:
        assert run(db, clock, settings, at) == expected, at
        assert run(db, clock, settings, at) == [], f"second sweep at {at} fired again"

    assert escalations(db, doc) == [
        ("reminder", shanghai(2024, 2, 20, 9, 0), 0),
        ("overdue", shanghai(2024, 2, 21, 0, 0), 0),
        ("escalated", shanghai(2024, 2, 22, 0, 0), 1),
        ("escalated_high", shanghai(2024, 2, 24, 0, 0), 3),
    ]
    mail = ladder_mail(db, doc)
    assert [m.event for m in mail] == list(LADDER_EVENTS)
    for m in mail:
        to, cc = EXPECTED_RECIPIENTS[m.event]
        assert ({r["address"] for r in m.to_list}, {r["address"] for r in m.cc_list}) == (to, cc), m.event
        assert m.status == "pending" and m.dedupe_key == f"doc:{doc}:{m.event}"
    # Each rung says what fits it, with the sweep's own figure (rendered as delivery renders it).
    reminder, overdue, escalated, escalated_high = (content_of(m, settings) for m in mail)
    assert reminder.subject.startswith("【今日到期】") and "今天 23:59:59 前" in reminder.subject
    assert "逾期" not in reminder.subject + reminder.text + reminder.html
    assert "已超过发布期限" in overdue.text and "逾期:0" not in overdue.text and ">0 个" not in overdue.html
    assert "逾期满 1 个工作日" in escalated.subject and "逾期情况:逾期满 1 个工作日" in escalated.text
    assert (
        "逾期满 3 个工作日" in escalated_high.subject and "逾期情况:逾期满 3 个工作日" in escalated_high.text
    )
    events = escalation_events(db, doc)
    assert [(e["level"], e["working_days_overdue"], e["caught_up"]) for e in events] == [
        ("reminder", 0, False),
        ("overdue", 0, False),
        ("escalated", 1, False),
        ("escalated_high", 3, False),
    ]
    with db.transaction() as s:
        assert audit.verify(s).ok
        assert s.get(Document, doc).state == "published"  # the sweep never changes a document


def test_ladder_across_labour_day_counts_make_up_days(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    # Published Thu 2024-04-25 → Fri 26, Sun 28 (make-up), Mon 29: due Mon 2024-04-29.
    doc = publish_at(wf, clock, shanghai(2024, 4, 25, 16, 0))
    assert run(db, clock, settings, shanghai(2024, 4, 29, 9, 30)) == ["reminder"]
    assert run(db, clock, settings, shanghai(2024, 4, 30, 0, 0, 1)) == ["overdue"]
    assert run(db, clock, settings, shanghai(2024, 5, 1, 8, 0)) == ["escalated"]  # Tue 30 was over
    for day in (2, 3, 4, 5, 6, 7):  # holiday 1–5 May, then Mon 6, Tue 7 May
        assert run(db, clock, settings, shanghai(2024, 5, day, 23, 59)) == [], day
    assert run(db, clock, settings, shanghai(2024, 5, 8, 0, 0)) == ["escalated_high"]
    assert [lv for lv, _at, _n in escalations(db, doc)] == list(DEFAULT_LADDER.levels)


def test_a_posting_stops_the_ladder(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    late = publish_at(wf, clock, shanghai(2024, 2, 9, 10, 0), title="逾期后发布的文件")
    on_time = to_published(wf, title="按时发布的文件")
    clock.set(shanghai(2024, 2, 19, 15, 0))
    wf.record_posting(CLERK, on_time, channel="portal", url="https://jtj.example.cn/jd/1.htm")
    wf.record_posting(
        CLERK, on_time, channel="news_media", outlet="福州日报", url="https://fzrb.example.cn/1"
    )
    assert run(db, clock, settings, shanghai(2024, 2, 20, 9, 30)) == ["reminder"]
    assert run(db, clock, settings, shanghai(2024, 2, 21, 0, 0)) == ["overdue"]
    # Posted late on Wed 21, due Tue 20: no working day had fully passed since the due day, so
    # recorded as late by 0 (less than 1) working days; no escalation follows.
    clock.set(shanghai(2024, 2, 21, 16, 0))
    wf.record_posting(CLERK, late, channel="portal", url="https://jtj.example.cn/jd/2.htm")
    wf.record_posting(CLERK, late, channel="news_media", outlet="福州日报", url="https://fzrb.example.cn/2")
    view = wf.read_document(CLERK, late)
    assert (view.state, view.on_time, view.working_days_late) == ("interpretation_posted", False, 0)
    for at in (shanghai(2024, 2, 22, 0, 0), shanghai(2024, 2, 24, 0, 0), shanghai(2024, 4, 1, 0, 0)):
        assert run(db, clock, settings, at) == []
    assert [lv for lv, _a, _n in escalations(db, late)] == ["reminder", "overdue"]
    assert escalations(db, on_time) == []
    assert [m.event for m in ladder_mail(db)] == ["reminder", "overdue"]


def test_catch_up_after_days_without_a_sweep(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    doc = publish_at(wf, clock, shanghai(2024, 2, 9, 10, 0))
    clock.set(shanghai(2024, 2, 26, 10, 0))  # nothing swept for a week (Redis was down)
    report = sweep(db, clock, settings)
    assert [f.level for f in report.fired] == list(DEFAULT_LADDER.levels)
    assert [f.caught_up for f in report.fired] == [True, True, True, False]
    # The reminder is recorded but emails nobody ("due today" would be false by now).
    assert report.fired[0].outbox_ids == ()
    assert [m.event for m in ladder_mail(db, doc)] == ["overdue", "escalated", "escalated_high"]
    assert all(n == 3 for _lv, _at, n in escalations(db, doc))
    assert escalation_events(db, doc)[0]["emails"].startswith("none")
    assert run(db, clock, settings, shanghai(2024, 2, 27, 10, 0)) == []


def test_partial_catch_up_fires_only_the_missing_levels_in_order(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    doc = publish_at(wf, clock, shanghai(2024, 2, 9, 10, 0))
    assert run(db, clock, settings, shanghai(2024, 2, 20, 10, 0)) == ["reminder"]
    assert run(db, clock, settings, shanghai(2024, 2, 22, 10, 0)) == ["overdue", "escalated"]
    assert [m.event for m in ladder_mail(db, doc)] == ["reminder", "overdue", "escalated"]


def test_documents_not_published_are_never_swept(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    clock.set(shanghai(2024, 2, 9, 10, 0))
    draft = wf.create_document(CLERK, title="草稿", disclosure="proactive").document_id
    withdrawn = wf.create_document(CLERK, title="撤回", disclosure="proactive").document_id
    wf.fire(CLERK, withdrawn, "withdraw", reason="政策调整")
    report = sweep(db, FixedClock(shanghai(2025, 1, 1, 0, 0)), settings)
    assert report.fired == [] and report.documents == 0
    assert escalations(db, draft) == escalations(db, withdrawn) == []


def test_a_duplicate_record_is_harmless(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    """The exactly-once key: a sweep that read before another committed inserts nothing,
    queues nothing and audits nothing."""
    doc = publish_at(wf, clock, shanghai(2024, 2, 9, 10, 0))
    now = shanghai(2024, 2, 21, 0, 0)
    assert run(db, clock, settings, now) == ["reminder", "overdue"]
    with db.transaction() as s:
        before = (
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )
        d = s.get(Document, doc)
        again = [_Planned(d, DEFAULT_LADDER.rung(level), 0, now, False) for level in ("reminder", "overdue")]
        assert _fire_all(db, s, settings, again, now) == ([], 2)
        after = (
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )
    assert after == before


def _bulk_overdue(db: Database, wf: Workflow, clock: FixedClock, count: int) -> list[int]:
    """One document through the real service, then ``count - 1`` copies of its published row
    (the batch tests are about the sweep, not about publishing thousands of documents)."""
    first = publish_at(wf, clock, shanghai(2024, 2, 9, 10, 0))
    with db.transaction() as s:
        src = s.get(Document, first)
        cols = {
            c.key: getattr(src, c.key) for c in Document.__table__.columns if c.key not in ("id", "version")
        }
        rows = [Document(**{**cols, "title": f"{src.title}({i})"}) for i in range(1, count)]
        s.add_all(rows)
        s.flush()
        return [first] + [r.id for r in rows]


def test_batches_each_in_its_own_transaction(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    ids = _bulk_overdue(db, wf, clock, 23)
    clock.set(shanghai(2024, 2, 21, 0, 0))
    report = sweep(db, clock, settings, batch_size=5)
    assert (report.batches, report.documents) == (5, 23)
    assert report.count("reminder") == report.count("overdue") == 23
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 46
        assert (
            s.scalar(
                select(func.count(func.distinct(OutboxMessage.document_id))).where(
                    OutboxMessage.event == "overdue"
                )
            )
            == 23
        )
    assert sorted({f.document_id for f in report.fired}) == sorted(ids)
    # Nothing more is due until Thu 00:00; the next sweep loads no document at all.
    assert sweep(db, FixedClock(shanghai(2024, 2, 21, 12, 0)), settings, batch_size=5).documents == 0


def test_racing_sweeps_never_duplicate(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    """Four sweeps (four workers, or two beats) at the same instant: on PostgreSQL they take
    disjoint rows with FOR UPDATE SKIP LOCKED, on SQLite they queue on BEGIN IMMEDIATE; either
    way every rung of every document fires exactly once."""
    ids = _bulk_overdue(db, wf, clock, 40)
    at = FixedClock(shanghai(2024, 2, 26, 10, 0))
    barrier = threading.Barrier(4)
    reports: list = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            reports.append(sweep(db, at, settings, batch_size=7))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    fired = [(f.document_id, f.level) for r in reports for f in r.fired]
    deferred = [d for r in reports for d in r.deferred]
    assert not deferred
    assert len(fired) == len(set(fired)) == 40 * 4
    assert {d for d, _lv in fired} == set(ids)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 160
        per_doc = s.execute(
            select(OutboxMessage.document_id, func.count())
            .where(OutboxMessage.event.in_(LADDER_EVENTS))
            .group_by(OutboxMessage.document_id)
        ).all()
        assert sorted(n for _d, n in per_doc) == [3] * 40  # overdue, escalated, escalated_high
        assert audit.verify(s).ok
    if not db.is_sqlite:  # the work was shared, not done four times over by luck of timing
        assert sum(r.documents for r in reports) == 40


def test_sweep_with_a_configured_ladder(
    db: Database, clock: FixedClock, wf: Workflow, settings: Settings
) -> None:
    from states.ladder import parse_ladder

    ladder = parse_ladder(
        '[{"level": "overdue", "working_days_overdue": 0},'
        ' {"level": "second_notice", "event": "escalated", "working_days_overdue": 2}]'
    )
    doc = publish_at(wf, clock, shanghai(2024, 2, 9, 10, 0))
    assert run(db, clock, settings, shanghai(2024, 2, 20, 12, 0), ladder=ladder) == []
    assert run(db, clock, settings, shanghai(2024, 2, 22, 12, 0), ladder=ladder) == ["overdue"]
    assert run(db, clock, settings, shanghai(2024, 2, 23, 0, 0), ladder=ladder) == ["second_notice"]
    mail = ladder_mail(db, doc)
    assert [(m.event, m.dedupe_key) for m in mail] == [
        ("overdue", f"doc:{doc}:overdue"),
        ("escalated", f"doc:{doc}:escalated:second_notice"),
    ]
    assert "2 个工作日" in subject_of(mail[1])


def _sweep_while_held(db: Database, at: FixedClock, settings: Settings, blocker) -> SweepReport:  # type: ignore[no-untyped-def]
    """Run a sweep in a thread while ``blocker`` (an open transaction) holds what it needs;
    commit the blocker once PostgreSQL shows the sweep waiting on a lock; return the report."""
    reports: list[SweepReport] = []
    runner = threading.Thread(target=lambda: reports.append(sweep(db, at, settings)))
    runner.start()
    with db.engine.connect() as probe:
        for _ in range(200):
            waiting = probe.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            ).scalar()
            if waiting:
                break
            threading.Event().wait(0.05)
        assert waiting, "the sweep never waited for the other transaction"
    blocker.commit()
    blocker.close()
    runner.join(60)
    (report,) = reports
    return report


def test_a_person_writing_a_chain_meanwhile_is_waited_for_and_kept_in_order(
    pg_db: Database, clock: FixedClock, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: a person appends to a document's audit chain while the sweep runs. The
    sweep's batch locks the chain heads it moves, so it waits for that transaction, then
    appends after the person's event: nothing is lost, deferred or out of order."""
    from states.snapshot import SYSTEM

    settings = Settings(database_url=pg_db.url, mail_folder=tmp_path / "mail")
    seed_bureau(pg_db, clock)
    wf = make_workflow(pg_db, clock, settings)
    first, *others = _bulk_overdue(pg_db, wf, clock, 3)
    at = FixedClock(shanghai(2024, 2, 20, 9, 30))
    # The other transaction: an audit event on the first document's chain, not yet committed.
    blocker = pg_db.sessions()
    blocker.begin()
    audit.append(blocker, at=at.now(), actor=SYSTEM, action="edit", document_id=first)
    report = _sweep_while_held(pg_db, at, settings, blocker)
    assert report.deferred == []
    assert sorted(f.document_id for f in report.fired) == sorted([first, *others])
    with pg_db.transaction() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action).where(AuditEvent.document_id == first).order_by(AuditEvent.seq)
            )
        )
        assert actions[-3:] == ["edit", ACTION, "email_queued"]
        assert audit.verify(s).ok
    assert sweep(pg_db, at, settings).fired == []


def test_a_chain_started_meanwhile_is_waited_for_too(
    pg_db: Database, clock: FixedClock, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL, a real race: a document whose audit chain has no head yet (rows copied in
    SQL), and a person starting that chain while the sweep's batch wants to start it too.
    Every writer of a chain takes its advisory lock first (workflow.kernel.audit, since the
    heads are no longer the application's to lock FOR UPDATE), so the batch waits for the
    person's transaction and appends after their event: no clash, no detour one document at a
    time (test_a_batch_that_meets_a_concurrent_writer_… covers that path), nothing lost or
    doubled."""
    import logging

    from states.snapshot import SYSTEM

    settings = Settings(database_url=pg_db.url, mail_folder=tmp_path / "mail")
    seed_bureau(pg_db, clock)
    wf = make_workflow(pg_db, clock, settings)
    _source, first, *others = _bulk_overdue(pg_db, wf, clock, 4)  # copies have no chain head
    at = FixedClock(shanghai(2024, 2, 20, 9, 30))
    blocker = pg_db.sessions()
    blocker.begin()
    audit.append(blocker, at=at.now(), actor=SYSTEM, action="edit", document_id=first)  # starts the chain
    caplog.set_level(logging.INFO, logger="santongbu.sweep")
    report = _sweep_while_held(pg_db, at, settings, blocker)
    assert "document by document" not in caplog.text
    assert report.deferred == []
    assert sorted(f.document_id for f in report.fired) == sorted([_source, first, *others])
    with pg_db.transaction() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action).where(AuditEvent.document_id == first).order_by(AuditEvent.seq)
            )
        )
        assert actions == ["edit", ACTION, "email_queued"]
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.event == "reminder"))
            == 4
        )
        assert audit.verify(s).ok


def test_a_batch_that_meets_a_concurrent_writer_is_fired_document_by_document(
    db: Database, clock: FixedClock, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Fault drill: the batch's append finds a chain head moved (injected), so the batch is
    undone to its savepoint and fired one document at a time; the document whose chain is
    still busy then is deferred to the next sweep, the others fire, once each."""
    from states.reasons import Reason
    from workflow.kernel.errors import ConcurrentChange

    settings = Settings(database_url=db.url, mail_folder=tmp_path / "mail")
    seed_bureau(db, clock)
    wf = make_workflow(db, clock, settings)
    first, *others = _bulk_overdue(db, wf, clock, 4)
    at = FixedClock(shanghai(2024, 2, 20, 9, 30))
    real_append_many = audit.append_many

    def busy_first(session, entries):  # type: ignore[no-untyped-def]
        """The first document's chain is always "moved meanwhile": the batch holding it fails,
        so does the first document on its own; the others' appends are real."""
        if any(e.document_id == first for e in entries):
            raise ConcurrentChange(Reason("changed_meanwhile"))
        return real_append_many(session, entries)

    monkeypatch.setattr(audit, "append_many", busy_first)
    report = sweep(db, at, settings)
    assert report.deferred == [first]
    assert sorted(f.document_id for f in report.fired) == sorted(others)
    assert escalations(db, first) == []
    with db.transaction() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.document_id == first, OutboxMessage.event == "reminder")
            )
            == 0
        )
    monkeypatch.undo()
    again = sweep(db, at, settings)
    assert [(f.document_id, f.level) for f in again.fired] == [(first, "reminder")]
    with db.transaction() as s:
        assert audit.verify(s).ok
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.event == "reminder"))
            == 4
        )  # each once


def hint(db: Database, doc_id: int) -> datetime | None:
    with db.transaction() as s:
        return s.get(Document, doc_id).next_rung_at


def test_the_sweep_reads_a_document_only_when_its_next_rung_comes(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    """``next_rung_at``: the publication instant after publishing (look once), then the
    instant of the next unfired rung, NULL once every rung has fired."""
    published = shanghai(2024, 2, 9, 10, 0)
    doc = publish_at(wf, clock, published)
    assert hint(db, doc) == published
    assert run(db, clock, settings, shanghai(2024, 2, 9, 10, 5)) == []
    assert hint(db, doc) == shanghai(2024, 2, 20, 9, 0)  # the reminder, 09:00 on the due day
    assert run(db, clock, settings, shanghai(2024, 2, 20, 9, 0)) == ["reminder"]
    assert hint(db, doc) == shanghai(2024, 2, 21, 0, 0)  # overdue: right after the deadline
    assert run(db, clock, settings, shanghai(2024, 2, 27, 12, 0)) == [
        "overdue",
        "escalated",
        "escalated_high",
    ]
    assert hint(db, doc) is None
    assert run(db, clock, settings, shanghai(2024, 3, 27, 12, 0)) == []


def test_a_new_ladder_makes_the_sweep_look_at_every_open_document_again(
    db: Database, clock: FixedClock, settings: Settings, wf: Workflow
) -> None:
    """The stored hint says 09:00 (the default reminder); a ladder whose reminder is at 08:00
    must still fire at 08:00, so a sweep with another ladder first resets every hint."""
    from states.ladder import parse_ladder

    doc = publish_at(wf, clock, shanghai(2024, 2, 9, 10, 0))
    assert run(db, clock, settings, shanghai(2024, 2, 19, 10, 0)) == []
    assert hint(db, doc) == shanghai(2024, 2, 20, 9, 0)
    ladder = parse_ladder(
        '[{"level": "reminder", "at": "08:00"}, {"level": "overdue", "working_days_overdue": 0}]'
    )
    assert run(db, clock, settings, shanghai(2024, 2, 20, 8, 0), ladder=ladder) == ["reminder"]
    assert hint(db, doc) == shanghai(2024, 2, 21, 0, 0)
    assert run(db, clock, settings, shanghai(2024, 2, 21, 0, 0), ladder=ladder) == ["overdue"]
    assert hint(db, doc) is None
    # Back to the default ladder: looked at again, and only its rungs not yet recorded fire.
    assert run(db, clock, settings, shanghai(2024, 2, 22, 0, 1)) == ["escalated"]
