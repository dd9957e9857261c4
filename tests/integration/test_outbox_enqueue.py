"""enqueue(): rows and audit events in the caller's transaction, recipients, dedupe, rollback."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from notifications.content import content_of
from notifications.outbox import enqueue
from states.snapshot import SYSTEM
from tests.conftest import shanghai
from tests.notif_factories import make_bureau, make_document
from workflow.kernel.models import AuditEvent, Document
from workflow.kernel.models.outbox import OutboxMessage

PUB = shanghai(2024, 2, 9, 10, 30)
DUE = shanghai(2024, 2, 20, 23, 59, 59)


@pytest.fixture
def bureau(db, clock):  # type: ignore[no-untyped-def]
    return make_bureau(db, clock.now())


def _queue(db, settings, doc_id, event, clock, **kw):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        doc = s.get(Document, doc_id)
        rows = enqueue(s, event=event, document=doc, at=clock.now(), settings=settings, **kw)
        return [r.id for r in rows]


def test_published_queues_one_row_with_audit(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    ids = _queue(db, settings, doc_id, "published", clock, actor=SYSTEM)
    assert len(ids) == 1
    with db.transaction() as s:
        row = s.get(OutboxMessage, ids[0])
        assert row.status == "pending" and row.attempts == 0
        assert row.next_attempt_at == clock.now()
        assert [r["address"] for r in row.to_list] == ["spc@jtj.example.org", "liu@jtj.example.org"]
        assert row.cc_list == []
        facts = json.loads(row.context)  # frozen now, rendered when delivered
        assert (facts["title"], facts["due_at"], facts["published_at"]) == (
            "福州市道路运输管理办法",
            "2024-02-20(周二)23:59 +08:00",
            "2024-02-09(周五)10:30 +08:00",
        )
        assert facts["link"].endswith(f"/documents/{doc_id}")
        assert (row.subject, row.body_text, row.body_html, row.message_id) == (None, None, None, None)
        mail = content_of(row, settings)
        assert mail.subject.startswith("【已公开】福州市道路运输管理办法")
        assert "2024-02-20(周二)23:59 +08:00" in mail.text and "2024-02-09(周五)10:30 +08:00" in mail.text
        assert f"/documents/{doc_id}" in mail.html
        assert row.dedupe_key == f"doc:{doc_id}:published"
        assert mail.message_id == f"<santongbu.outbox.{row.id}.{int(clock.now().timestamp())}@localhost>"
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "email_queued")).all()
        assert len(events) == 1 and events[0].document_id == doc_id
        assert json.loads(events[0].details)["outbox_id"] == row.id


def test_same_level_is_never_queued_twice(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    first = _queue(
        db, settings, doc_id, "escalated", clock, extra={"level": "escalated", "working_days_overdue": 1}
    )
    again = _queue(
        db, settings, doc_id, "escalated", clock, extra={"level": "escalated", "working_days_overdue": 1}
    )
    assert len(first) == 1 and again == []
    explicit = _queue(db, settings, doc_id, "reminder", clock, dedupe_key="k1")
    assert len(explicit) == 1 and _queue(db, settings, doc_id, "reminder", clock, dedupe_key="k1") == []
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_rollback_of_the_change_leaves_no_email(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    with pytest.raises(RuntimeError), db.transaction() as s:
        doc = s.get(Document, doc_id)
        doc.state = "interpretation_posted"
        assert enqueue(s, event="posted_late", document=doc, at=clock.now(), settings=settings)
        raise RuntimeError("the causing change fails after the email was queued")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0
        assert s.get(Document, doc_id).state == "published"


@pytest.mark.parametrize(
    "event, to, cc",
    [
        ("signoff_requested", ["chen@", "zhao@"], []),
        ("rejected", ["spc@", "liu@", "chen@"], []),
        ("reminder", ["spc@", "liu@"], []),
        ("overdue", ["spc@", "chen@"], ["gkb@", "zfc@", "wang@"]),
        ("escalated", ["gkb@", "zfc@", "wang@"], ["spc@", "chen@"]),
        ("escalated_high", ["sun@", "zhao@"], ["gkb@", "zfc@", "wang@"]),
        ("posted_late", ["spc@", "chen@"], ["gkb@", "zfc@", "wang@"]),
    ],
)
def test_recipients_per_event(db, settings, clock, bureau, event, to, cc):  # type: ignore[no-untyped-def]
    doc_id = make_document(
        db,
        bureau,
        clock.now(),
        published_at=PUB,
        due_at=DUE,
        signers=(bureau.head, bureau.signer, bureau.gone),
    )
    ids = _queue(
        db, settings, doc_id, event, clock, extra={"reason": "解读材料不完整", "working_days_overdue": 2}
    )
    with db.transaction() as s:
        row = s.get(OutboxMessage, ids[0])
        assert [r["address"].split("@")[0] + "@" for r in row.to_list] == to
        assert [r["address"].split("@")[0] + "@" for r in row.cc_list] == cc
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "email_queued")).one()
        if event == "signoff_requested":
            assert "signer old: inactive" in json.loads(audit.details)["skipped"]


def test_nobody_reachable_is_audited_not_queued(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE, signers=(bureau.gone,))
    assert _queue(db, settings, doc_id, "signoff_requested", clock) == []
    with db.transaction() as s:
        ev = s.scalars(select(AuditEvent)).one()
        assert ev.action == "email_not_queued"


def test_enqueue_many_writes_what_enqueue_writes_and_skips_what_is_queued(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    """The sweep's batch path: same rows (recipients, frozen facts) as one enqueue() each; an
    email already queued is skipped; the audit entries come back to the caller, not appended."""
    from notifications.outbox import Request, enqueue_many

    one = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    two = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    extra = {"level": "escalated", "working_days_overdue": 1}
    (single,) = _queue(db, settings, one, "escalated", clock, extra=extra)
    with db.transaction() as s:
        docs = [s.get(Document, one), s.get(Document, two)]
        queued = enqueue_many(
            s, [Request("escalated", d, extra) for d in docs], at=clock.now(), settings=settings, actor=SYSTEM
        )
        assert queued[0].outbox_ids == () and queued[0].entries == ()
        (batch_id,) = queued[1].outbox_ids
        (entry,) = queued[1].entries
        assert entry.action == "email_queued" and entry.details["outbox_id"] == batch_id
        assert (
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "email_queued"))
            == 1
        )
    with db.transaction() as s:
        a, b = s.get(OutboxMessage, single), s.get(OutboxMessage, batch_id)
        assert b.dedupe_key == f"doc:{two}:escalated"
        assert (b.to_addrs, b.cc_addrs, b.status) == (a.to_addrs, a.cc_addrs, a.status)
        assert b.context.replace(f"/documents/{two}", f"/documents/{one}") == a.context


def test_a_queued_one_off_is_not_audited_again_when_nobody_is_reachable(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    """Keys are not looked up before the insert (ON CONFLICT DO NOTHING RETURNING says what was
    queued before), except where nobody can be reached: then the key is looked up, so that an
    email queued once is not audited as "not queued" by a later sweep."""
    from sqlalchemy import update

    from workflow.kernel.models import Unit, User

    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    assert len(_queue(db, settings, doc_id, "published", clock)) == 1
    assert _queue(db, settings, doc_id, "published", clock) == []  # skipped by the conflict
    with db.transaction() as s:  # now nobody the "published" email goes to can be reached
        s.execute(update(Unit).where(Unit.id == bureau.spc).values(mailbox=None))
        s.execute(update(User).where(User.id == bureau.clerk).values(email=None))
    assert _queue(db, settings, doc_id, "published", clock) == []
    with db.transaction() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["email_queued"]
    other = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    assert _queue(db, settings, other, "published", clock) == []  # never queued: audited
    with db.transaction() as s:
        assert (
            s.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first() == "email_not_queued"
        )
