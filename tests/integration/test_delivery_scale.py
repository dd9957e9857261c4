"""Delivery that scales (notifications/delivery.py): batch after batch over one SMTP connection,
a short lease renewed while sending, a dead worker's rows taken over within the lease, and the
re-send after a takeover recorded as a possible duplicate with the same Message-ID. Against
aiosmtpd on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from notifications.delivery import _start, claim, deliver_due, deliver_pending, lease_for
from notifications.transports import transport_for
from tests.integration.test_smtp_delivery import DUE, PUB, bureau, queue, smtp_settings  # noqa: F401 (fixture)
from tests.notif_factories import Recorder, SmtpServer, make_document
from workflow.kernel.clock import SystemClock
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent
from workflow.kernel.models.outbox import OutboxMessage


class Connections(Recorder):
    """Records, besides each message, the connection (client port) it came over."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.peers: list[object] = []
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.delay:
            await asyncio.sleep(self.delay)
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    smtp = SmtpServer()
    smtp.handler = Connections()
    smtp.start()
    yield smtp
    smtp.stop()


def _emails(db: Database, cfg, clock, bureau, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    doc_id = make_document(
        db, bureau, clock.now(), published_at=PUB, due_at=DUE, signers=(bureau.head, bureau.signer)
    )
    ids: list[int] = []
    for _ in range(n):
        ids += queue(db, cfg, clock, doc_id, "signoff_requested")
    return ids


def email_sent(db: Database) -> list[dict[str, object]]:
    with db.transaction() as s:
        return [
            json.loads(e.details)
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.action == "email_sent").order_by(AuditEvent.id)
            )
        ]


def test_one_run_keeps_claiming_while_rows_are_due_over_one_connection(
    db,
    settings,
    clock,
    bureau,
    server,
) -> None:  # type: ignore[no-untyped-def]
    """Delivery was one batch of 100 per beat tick, whatever the backlog. One run now claims
    batch after batch while they come back full, over one SMTP connection, and asks for help
    (``on_backlog``) once, at the first full batch."""
    cfg = smtp_settings(settings, server.port, outbox_batch_size=20)
    ids = _emails(db, cfg, clock, bureau, 45)
    asked: list[int] = []
    report = deliver_due(db, cfg, clock, worker_id="w1", on_backlog=lambda: asked.append(1))
    assert sorted(report.sent) == sorted(ids) and report.batches == 3 and not report.more
    assert asked == [1]
    assert server.handler.outbox_ids() == sorted(ids)
    assert len(set(server.handler.peers)) == 1  # one connection for the whole run
    # Capped per task: a task hands over rather than run forever.
    more = _emails(db, cfg, clock, bureau, 45)
    capped = deliver_due(db, cfg, clock, worker_id="w1", max_batches=2)
    assert len(capped.sent) == 40 and capped.more
    assert deliver_due(db, cfg, clock, worker_id="w1").sent == sorted(more)[40:]


def test_a_dead_workers_rows_are_taken_over_after_the_short_lease(
    db,
    settings,
    clock,
    bureau,
    server,
) -> None:  # type: ignore[no-untyped-def]
    """Rows claimed by a killed worker waited the whole 120-s lease. The lease is now
    ``outbox_lease_seconds`` (15 s): after it, another worker takes the rows over. A row the dead
    worker had handed to the mail server is sent again with the same Message-ID and recorded as
    a possible duplicate; a row it never started is a clean first send."""
    cfg = smtp_settings(settings, server.port)
    assert lease_for(cfg) == timedelta(seconds=15)
    started, untouched = _emails(db, cfg, clock, bureau, 2)
    claims = claim(db, cfg, clock.now(), worker_id="doomed", limit=10)
    # The doomed worker marks its first chunk as handed over and sends the first email; then dies.
    first = next(c for c in claims if c.outbox_id == started)
    assert _start(db, [first], "doomed", clock.now()) == {started}
    transport = transport_for(cfg)
    transport.send(first.outbox_id, first.message, first.recipients)
    transport.close()
    clock.advance(timedelta(seconds=14))
    assert deliver_pending(db, cfg, clock, worker_id="w2").claimed == 0  # its lease still runs
    clock.advance(timedelta(seconds=2))
    report = deliver_pending(db, cfg, clock, worker_id="w2")
    assert sorted(report.sent) == [started, untouched]
    got = [
        (int(r.message["X-Santongbu-Outbox-Id"]), r.message["Message-ID"]) for r in server.handler.received
    ]
    assert [i for i, _ in got].count(started) == 2 and [i for i, _ in got].count(untouched) == 1
    assert len({m for i, m in got if i == started}) == 1  # the same Message-ID both times
    sent = {e["outbox_id"]: e for e in email_sent(db)}
    assert sent[started]["reclaimed_from"] == "doomed" and sent[started]["possible_duplicate"] is True
    assert sent[untouched]["reclaimed_from"] == "doomed" and sent[untouched]["possible_duplicate"] is False


def test_the_heartbeat_keeps_a_slow_workers_rows(db, settings, bureau, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A lease shorter than a batch takes is safe: the heartbeat renews it while the worker
    sends (here each email takes 1.2 s and the lease is 2 s), so a second worker polling all the
    while takes nothing over, and each email goes out once."""
    slow = SmtpServer()
    slow.handler = Connections(delay=1.2)
    slow.start()
    clock = SystemClock()
    try:
        cfg = smtp_settings(settings, slow.port, outbox_lease_seconds=2.0)
        ids = _emails(db, cfg, clock, bureau, 3)
        done = threading.Event()
        result: dict[str, object] = {}

        def first_worker() -> None:
            result["report"] = deliver_due(Database(db.url), cfg, clock, worker_id="slow")
            done.set()

        thread = threading.Thread(target=first_worker)
        thread.start()
        polled = 0
        other = Database(db.url)
        while not done.wait(0.25):
            assert deliver_pending(other, cfg, clock, worker_id="other").claimed == 0
            polled += 1
        thread.join()
        other.dispose()
        assert polled >= 10
        assert sorted(result["report"].sent) == sorted(ids)  # type: ignore[attr-defined]
        assert slow.handler.outbox_ids() == sorted(ids)
        assert all("reclaimed_from" not in e or e["reclaimed_from"] is None for e in email_sent(db))
    finally:
        slow.stop()


def test_a_worker_that_lost_its_claim_does_not_send(db, settings, clock, bureau, server) -> None:  # type: ignore[no-untyped-def]
    """The compare-and-set before each chunk: rows another worker took over meanwhile are
    skipped, not sent a second time."""
    cfg = smtp_settings(settings, server.port)
    [oid] = _emails(db, cfg, clock, bureau, 1)
    [mine] = claim(db, cfg, clock.now(), worker_id="slowpoke", limit=10)
    clock.advance(lease_for(cfg) + timedelta(seconds=1))
    assert deliver_pending(db, cfg, clock, worker_id="w2").sent == [oid]
    assert _start(db, [mine], "slowpoke", clock.now()) == set()
    with db.transaction() as s:
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
            == 0
        )
    assert server.handler.outbox_ids() == [oid]
