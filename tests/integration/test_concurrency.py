"""Two people firing at the same document at once: exactly one wins, the other is told to
reload. On PostgreSQL through real concurrent connections, on SQLite through its write lock."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.factories import CLERK, HEAD, new_draft, seed_bureau, to_signed, to_signoff
from workflow.kernel import audit
from workflow.kernel.errors import ConcurrentChange, Refused, SantongbuError
from workflow.kernel.models import AuditEvent, Document
from workflow.services.documents import Workflow


def race(n: int, action) -> Counter[str]:  # type: ignore[no-untyped-def]
    """Run ``action`` in ``n`` threads released together; count how each ended."""
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            action()
            outcome = "ok"
        except ConcurrentChange:
            outcome = "concurrent"
        except Refused:
            outcome = "refused"
        except SantongbuError as exc:  # pragma: no cover - would be a bug worth seeing
            outcome = f"other:{exc}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return Counter(results)


@pytest.fixture
def wf(db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    return Workflow(db, clock, settings)


def version(db, doc: int) -> int:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return s.get(Document, doc).version


def test_same_trigger_with_the_same_version_exactly_one_wins(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        doc = to_signed(wf)
        seen = version(db, doc)
        counts = race(
            6,
            lambda: wf.fire(
                CLERK, doc, "publish", publication_url="https://p.example.cn/1", expected_version=seen
            ),
        )
        assert counts == Counter({"ok": 1, "concurrent": 5}), counts
        with db.transaction() as s:
            assert s.get(Document, doc).state == "published"
            published = s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.chain == f"doc:{doc}", AuditEvent.action == "publish")
            )
            assert published == 1


def test_same_trigger_without_a_version_one_wins_the_rest_reload_or_are_refused(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_signed(wf)
    counts = race(6, lambda: wf.fire(CLERK, doc, "publish", publication_url="https://p.example.cn/1"))
    assert counts["ok"] == 1 and counts["ok"] + counts["concurrent"] + counts["refused"] == 6, counts
    with db.transaction() as s:
        assert audit.verify(s).ok


def test_edit_racing_a_signature_never_leaves_a_signature_on_a_changed_package(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_signoff(wf)
    seen = version(db, doc)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def sign() -> None:
        barrier.wait()
        try:
            wf.sign(HEAD, doc, expected_version=seen)
            outcomes["sign"] = "ok"
        except ConcurrentChange:
            outcomes["sign"] = "concurrent"

    def edit() -> None:
        barrier.wait()
        try:
            wf.edit_document(CLERK, doc, {"body": "第一条 改动"}, expected_version=seen)
            outcomes["edit"] = "ok"
        except ConcurrentChange:
            outcomes["edit"] = "concurrent"

    threads = [threading.Thread(target=sign), threading.Thread(target=edit)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes.values()) == ["concurrent", "ok"], outcomes
    view = wf.read_document(CLERK, doc)
    signed = {s.login: s.signed for s in view.signers}
    assert signed[HEAD] == (outcomes["sign"] == "ok")


def test_different_documents_do_not_block_each_other(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    docs = [new_draft(wf) for _ in range(6)]
    it = iter(docs)
    lock = threading.Lock()

    def next_doc() -> int:
        with lock:
            return next(it)

    counts = race(6, lambda: wf.edit_document(CLERK, next_doc(), {"plan": "方案"}))
    assert counts == Counter({"ok": 6})


@pytest.mark.postgres
def test_two_real_connections_on_postgresql(pg_db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    """The compare-and-set itself, shown with two raw sessions interleaved by hand."""
    seed_bureau(pg_db, clock)
    wf = Workflow(pg_db, clock, settings)
    doc = new_draft(wf)
    first, second = pg_db.sessions(), pg_db.sessions()
    try:
        a = first.get(Document, doc)
        b = second.get(Document, doc)
        a.plan, b.plan = "甲", "乙"
        first.commit()
        from sqlalchemy.orm.exc import StaleDataError

        with pytest.raises(StaleDataError):
            second.commit()
    finally:
        first.close()
        second.close()
    with pg_db.transaction() as s:
        assert s.get(Document, doc).plan == "甲"
