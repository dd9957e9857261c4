"""A real Celery worker, on the Redis of this machine, delivers the outbox exactly once."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from sqlalchemy import select

from notifications.outbox import enqueue
from tests.conftest import REDIS_URL, shanghai
from tests.notif_factories import SmtpServer, make_bureau, make_document
from workers.app import embedded_broker_file, make_app
from workers.delivery_tasks import DELIVER_OUTBOX
from workflow.kernel.models import Document
from workflow.kernel.models.outbox import OutboxMessage

pytestmark = pytest.mark.redis


@pytest.fixture
def queue_name():  # type: ignore[no-untyped-def]
    name = f"santongbu-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(name)
    client.close()


def test_worker_delivers_each_email_once_despite_duplicate_tasks(db, settings, clock, queue_name):  # type: ignore[no-untyped-def]
    server = SmtpServer().start()
    try:
        cfg = settings.model_copy(
            update={
                "broker_url": REDIS_URL,
                "mail_transport": "smtp",
                "smtp_host": "127.0.0.1",
                "smtp_port": server.port,
                "smtp_timeout_seconds": 5.0,
            }
        )
        bureau = make_bureau(db, clock.now())
        ids = []
        for n in range(3):
            doc_id = make_document(
                db,
                bureau,
                clock.now(),
                title=f"文件{n}",
                published_at=shanghai(2024, 2, 9, 10),
                due_at=shanghai(2024, 2, 20, 23, 59, 59),
            )
            with db.transaction() as s:
                ids += [
                    r.id
                    for r in enqueue(
                        s, event="published", document=s.get(Document, doc_id), at=clock.now(), settings=cfg
                    )
                ]
        app = make_app(cfg, db=db, clock=clock, name=f"santongbu-test-{queue_name}")
        app.conf.task_default_queue = queue_name
        assert app.conf.task_acks_late and app.conf.task_serializer == "json"
        with start_worker(
            app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
        ):
            for _ in range(3):  # a duplicated beat tick or a redelivery: still once per email
                app.send_task(DELIVER_OUTBOX, kwargs={"limit": 2}, queue=queue_name)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with db.transaction() as s:
                    statuses = set(s.scalars(select(OutboxMessage.status)))
                if statuses == {"sent"}:
                    break
                time.sleep(0.2)
        assert statuses == {"sent"}
        assert server.handler.outbox_ids() == sorted(ids)
    finally:
        server.stop()


def test_embedded_broker_lives_beside_the_sqlite_file(tmp_path):  # type: ignore[no-untyped-def]
    from workflow.kernel.settings import Settings

    app = make_app(Settings(database_url=f"sqlite:///{tmp_path}/s.db"))
    assert app.conf.broker_url == f"sqla+sqlite:///{tmp_path}/s.db.broker.sqlite"
    assert (
        embedded_broker_file(Settings(database_url=f"sqlite:///{tmp_path}/s.db"))
        == tmp_path / "s.db.broker.sqlite"
    )
    assert app.conf.beat_schedule["deliver-outbox"]["task"] == DELIVER_OUTBOX
    assert DELIVER_OUTBOX in app.tasks
