"""A real Celery worker and beat on Redis (workers/sweep_tasks.py): as the injected clock moves
past the reminder, the deadline and +1 and +3 working days, exactly the expected emails reach an
SMTP server, in order; sweep tasks racing on several worker threads fire each rung once; and
Redis stopped and restarted mid-run (a throwaway server, never the machine's own) loses nothing.

The clock is injected through the app's runtime (``make_app(clock=…)``): the tasks read it, the
test moves it. Nothing is faked: Celery's own worker and beat, Redis, aiosmtpd on loopback.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from celery import Celery
from sqlalchemy import func, select

from tests.conftest import REDIS_URL, shanghai
from tests.factories import CLERK, make_workflow, seed_bureau, to_published
from tests.integration.test_sweep import EXPECTED_RECIPIENTS, _bulk_overdue
from workers.app import make_app, services_of
from workers.delivery_tasks import DELIVER_OUTBOX
from workers.inprocess import InProcess, running
from workers.sweep_tasks import SWEEP_DEADLINES, run_sweep
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.models import Document, Escalation
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.settings import Settings

pytestmark = pytest.mark.redis

TICK = 0.25  # sweep and delivery intervals of the test beat, in seconds
WAIT = 60.0  # generous: a loaded CI machine, a worker reconnecting after Redis returns


# ------------------------------------------------------------------ servers
@dataclass
class Received:
    event: str
    recipients: frozenset[str]
    subject: str


class MailServer:
    """An aiosmtpd server on loopback that keeps every message in arrival order."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(
                Received(
                    str(msg["X-Santongbu-Event"]),
                    frozenset(a.lower() for a in envelope.rcpt_tos),
                    str(msg["Subject"]),
                )
            )
        return "250 OK"

    def events(self) -> list[str]:
        with self._lock:
            return [m.event for m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of our own on a free port, without persistence: stopping it loses every
    message it held, which is the point of the drill."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is not installed (apt-get install redis-server)"
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.ping, 10, "throwaway redis-server to answer")

    def ping(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    server.controller.start()
    yield server
    server.controller.stop()


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def machine_redis() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL}: start it with 'redis-server --daemonize yes' "
            f"or point SANTONGBU_TEST_REDIS at one ({exc})",
            pytrace=False,
        )
    return REDIS_URL


# ------------------------------------------------------------------ helpers
def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


QUEUE_PREFIX = "santongbu.test.sweep."
_queues: list[tuple[str, str]] = []


def redis_app(db: Database, clock: FixedClock, settings: Settings, broker: str) -> Celery:
    """The production app (make_app) on ``broker``, with a queue of this test's own so parallel
    runs sharing the machine's Redis never take each other's messages (removed afterwards by
    the ``forget_queues`` fixture)."""
    app = make_app(
        settings.model_copy(update={"broker_url": broker}),
        db=db,
        clock=clock,
        name=f"santongbu-test-{uuid.uuid4().hex[:8]}",
    )
    app.conf.task_default_queue = QUEUE_PREFIX + uuid.uuid4().hex
    app.conf.broker_transport_options = {"socket_connect_timeout": 2, "socket_timeout": 5}
    _queues.append((broker, app.conf.task_default_queue))
    return app


@pytest.fixture(autouse=True)
def forget_queues() -> Iterator[None]:
    """Leave the machine's Redis as we found it: our queue and kombu's binding keys for it."""
    yield
    while _queues:
        broker, queue = _queues.pop()
        try:
            client = redis.Redis.from_url(broker, socket_connect_timeout=1)
            client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        except redis.exceptions.ConnectionError:
            pass  # the throwaway server is gone already


def settle(rt: InProcess) -> None:
    """Let at least two more sweeps and two more deliveries finish (so "nothing more" is seen,
    not assumed)."""
    rt.probe.wait_more(SWEEP_DEADLINES, 2, WAIT)
    rt.probe.wait_more(DELIVER_OUTBOX, 2, WAIT)


def test_the_ladder_reaches_smtp_in_order(
    db: Database, clock: FixedClock, settings: Settings, mail_server: MailServer, machine_redis: str
) -> None:
    settings = settings.model_copy(
        update={
            "mail_transport": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": mail_server.port,
            "sweep_interval_seconds": TICK,
            "outbox_interval_seconds": TICK,
        }
    )
    seed_bureau(db, clock)
    wf = make_workflow(db, clock, settings)
    clock.set(shanghai(2024, 2, 9, 10, 0))  # Fri before the Spring Festival: due Tue 2024-02-20
    late = to_published(wf, title="逾期的文件")
    on_time = to_published(wf, title="按时解读的文件")
    app = redis_app(db, clock, settings, machine_redis)

    with running(app, concurrency=2) as rt:
        clock.set(shanghai(2024, 2, 9, 10, 5))
        wait_until(lambda: len(mail_server.messages) == 4, WAIT, "the sign-off and publication emails")
        assert sorted(mail_server.events()) == [
            "published",
            "published",
            "signoff_requested",
            "signoff_requested",
        ]
        clock.set(shanghai(2024, 2, 19, 15, 0))  # the make-up Sunday counted: day 2 of 3
        wf.record_posting(CLERK, on_time, channel="portal", url="https://jtj.example.cn/jd/1.htm")
        wf.record_posting(
            CLERK, on_time, channel="news_media", outlet="福州日报", url="https://fzrb.example.cn/1"
        )

        steps: list[tuple[datetime, str | None]] = [
            (shanghai(2024, 2, 20, 8, 59, 59), None),
            (shanghai(2024, 2, 20, 9, 0), "reminder"),
            (shanghai(2024, 2, 20, 23, 59, 59), None),
            (shanghai(2024, 2, 21, 0, 0), "overdue"),
            (shanghai(2024, 2, 22, 0, 0), "escalated"),
            (shanghai(2024, 2, 23, 23, 0), None),
            (shanghai(2024, 2, 24, 0, 0), "escalated_high"),
            (shanghai(2024, 3, 4, 9, 0), None),
        ]
        expected = mail_server.events()
        for at, event in steps:
            clock.set(at)
            if event is not None:
                expected = expected + [event]
                wait_until(lambda: len(mail_server.messages) >= len(expected), WAIT, f"{event} at {at}")
            settle(rt)
            assert mail_server.events() == expected, at
        assert not rt.probe.failures

    ladder = mail_server.messages[4:]
    assert [m.event for m in ladder] == ["reminder", "overdue", "escalated", "escalated_high"]
    for m in ladder:
        to, cc = EXPECTED_RECIPIENTS[m.event]
        assert m.recipients == frozenset(to | cc), m.event
    assert "逾期" in ladder[3].subject and "3 个工作日" in ladder[3].subject
    with db.transaction() as s:
        assert s.get(Document, on_time).state == "interpretation_posted"
        assert (
            s.scalar(select(func.count()).select_from(Escalation).where(Escalation.document_id == on_time))
            == 0
        )
        assert (
            s.scalar(select(func.count()).select_from(Escalation).where(Escalation.document_id == late)) == 4
        )
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
            == 0
        )


def test_racing_sweep_tasks_fire_each_rung_once(
    pg_db: Database, clock: FixedClock, tmp_path: Path, machine_redis: str
) -> None:
    """Four sweep messages at once (a second beat, a redelivery) on four worker threads
    against PostgreSQL: each rung of each of 24 documents fires once, each email goes once."""
    N = 24
    settings = Settings(
        database_url=pg_db.url,
        mail_folder=tmp_path / "mail",
        outbox_interval_seconds=TICK,
        sweep_interval_seconds=3600,
        sweep_batch_size=5,
    )
    seed_bureau(pg_db, clock)
    wf = make_workflow(pg_db, clock, settings)
    _bulk_overdue(pg_db, wf, clock, N)
    app = redis_app(pg_db, clock, settings, machine_redis)
    clock.set(shanghai(2024, 2, 26, 10, 0))
    with running(app, pool="threads", concurrency=4) as rt:
        before = rt.probe.count(SWEEP_DEADLINES)
        for _ in range(4):
            app.send_task(SWEEP_DEADLINES)
        rt.probe.wait(SWEEP_DEADLINES, before + 4, WAIT)

        def all_sent() -> bool:
            with pg_db.transaction() as s:
                return (
                    s.scalar(
                        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
                    )
                    == 0
                )

        wait_until(all_sent, WAIT, "every queued email to be delivered")
        rt.probe.wait_more(DELIVER_OUTBOX, 2, WAIT)
        assert not rt.probe.failures
        sweeps = rt.probe.returned(SWEEP_DEADLINES)[-4:]
    # The four sweeps shared the documents (SKIP LOCKED), none was processed twice.
    assert sum(r["documents"] for r in sweeps) == N
    assert sum(r["fired_count"] for r in sweeps) == N * 4
    with pg_db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == N * 4
        ladder = s.execute(
            select(OutboxMessage.event, func.count())
            .where(OutboxMessage.event.in_(["reminder", "overdue", "escalated", "escalated_high"]))
            .group_by(OutboxMessage.event)
        ).all()
        assert dict(ladder) == {"overdue": N, "escalated": N, "escalated_high": N}
    files = list((tmp_path / "mail").glob("*.eml"))
    events = [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["X-Santongbu-Event"]
        for f in files
    ]
    assert sorted(e for e in events if e in ("overdue", "escalated", "escalated_high")) == (
        ["escalated"] * N + ["escalated_high"] * N + ["overdue"] * N
    )


def _eml_events(folder: Path) -> list[str]:
    out = []
    for f in sorted(folder.glob("outbox-*.eml")):
        out.append(
            str(email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["X-Santongbu-Event"])
        )
    return out


def test_redis_stopped_and_restarted_mid_run_loses_nothing(
    sqlite_db: Database, clock: FixedClock, tmp_path: Path, throwaway_redis: ThrowawayRedis
) -> None:
    db = sqlite_db
    mail = tmp_path / "mail"
    settings = Settings(
        database_url=db.url, mail_folder=mail, sweep_interval_seconds=TICK, outbox_interval_seconds=TICK
    )
    seed_bureau(db, clock)
    wf = make_workflow(db, clock, settings)
    clock.set(shanghai(2024, 2, 9, 10, 0))
    doc = to_published(wf)
    app = redis_app(db, clock, settings, throwaway_redis.url)

    with running(app, concurrency=2) as rt:
        clock.set(shanghai(2024, 2, 20, 9, 30))
        wait_until(lambda: "reminder" in _eml_events(mail), WAIT, "the reminder")

        # Redis goes away, with whatever messages it held.
        throwaway_redis.stop()
        assert not throwaway_redis.ping()
        # A worker that had already taken a sweep message runs it during the outage: the
        # overdue rung is recorded and its email queued in the database, but the "deliver
        # now" nudge cannot reach the broker.
        clock.set(shanghai(2024, 2, 21, 10, 0))
        result = run_sweep(services_of(app), app)
        assert [f["level"] for f in result["fired"]] == ["overdue"]
        assert result["delivery_nudged"] is False
        # A day later the next rung comes due while nothing can be scheduled at all.
        clock.set(shanghai(2024, 2, 22, 10, 0))
        time.sleep(4 * TICK)
        assert "overdue" not in _eml_events(mail) and "escalated" not in _eml_events(mail)

        # Redis returns empty (no persistence): every message it held is gone.
        throwaway_redis.start()
        wait_until(
            lambda: {"overdue", "escalated"} <= set(_eml_events(mail)),
            WAIT,
            "the overdue and escalated emails after Redis returned",
        )
        settle(rt)
        clock.set(shanghai(2024, 2, 24, 0, 0))
        wait_until(lambda: "escalated_high" in _eml_events(mail), WAIT, "escalated_high")
        settle(rt)

    ladder = [e for e in _eml_events(mail) if e in EXPECTED_RECIPIENTS]
    assert ladder == ["reminder", "overdue", "escalated", "escalated_high"]
    with db.transaction() as s:
        levels = list(
            s.scalars(select(Escalation.level).where(Escalation.document_id == doc).order_by(Escalation.id))
        )
        assert levels == ["reminder", "overdue", "escalated", "escalated_high"]
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
            == 0
        )
