"""Quiet, prompt recovery from a broker outage (workers/quiet.py), with the real commands:
``santongbu beat`` logs one warning line per tick, without tracebacks, while Redis is down;
``santongbu worker`` logs no gossip noise and takes work again within a few seconds of Redis
coming back. Each drill starts its own throwaway redis-server, never the machine's own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import select

from tests.conftest import shanghai
from tests.e2e.test_celery_worker import ThrowawayRedis, free_port, wait_until
from tests.factories import seed_bureau, to_signoff
from workers.delivery_tasks import DELIVER_OUTBOX
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.settings import Settings

pytestmark = pytest.mark.redis
SANTONGBU = Path(sys.executable).with_name("santongbu")


def _env(db_url: str, broker: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SANTONGBU_DATABASE_URL": db_url,
        "SANTONGBU_BROKER_URL": broker,
        "SANTONGBU_MAIL_FOLDER": str(tmp_path / "mail"),
        **extra,
    }


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def test_beat_logs_one_line_per_tick_and_no_traceback_while_the_broker_is_down(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """While Redis was down, beat logged a full traceback on every tick. Now, whether the broker
    is missing when beat starts or goes away later: one warning line per tick naming the
    outage, never a traceback, and one line when the broker is back."""
    port = free_port()  # nothing listens here yet
    log = tmp_path / "beat.log"
    env = _env(
        sqlite_db.url,
        f"redis://127.0.0.1:{port}/0",
        tmp_path,
        SANTONGBU_OUTBOX_INTERVAL_SECONDS="1",
        SANTONGBU_SWEEP_INTERVAL_SECONDS="3600",
    )
    redis_server = ThrowawayRedis(tmp_path)
    redis_server.port = port

    def lines(phrase: str) -> list[str]:
        return [line for line in log.read_text().splitlines() if phrase in line]

    with open(log, "wb") as out:
        beat = subprocess.Popen(
            [str(SANTONGBU), "beat", "--schedule", str(tmp_path / "schedule")],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: len(lines("broker unreachable")) >= 3, 60, "warnings while there is no broker")
            redis_server.start()
            wait_until(lambda: len(lines("broker reachable again")) == 1, 30, "beat to find the broker")
            time.sleep(2)  # a few ticks sent
            redis_server.stop()  # and now it goes away under a running beat
            before = len(lines("broker unreachable"))
            started = time.monotonic()
            wait_until(
                lambda: len(lines("broker unreachable")) >= before + 3, 60, "warnings after the outage"
            )
            elapsed = time.monotonic() - started
            redis_server.start()
            wait_until(lambda: len(lines("broker reachable again")) == 2, 30, "beat to find the broker again")
        finally:
            _stop(beat)
            redis_server.stop()
    text = log.read_text()
    assert "Traceback" not in text and "Message Error" not in text, text[-3000:]
    # About one line per tick (the outbox entry ticks every second), not one per entry and retry.
    during = len(lines("broker unreachable")) - before
    assert during <= elapsed + 4, (during, elapsed)


def test_worker_takes_work_again_promptly_and_without_gossip_noise(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """After Redis came back, workers needed about 12 s to reconnect (kombu's back-off grows to
    30 s) and logged 'Error on restarting Gossip'. Now the worker retries every 0.5-2 s: a task
    sent a moment after Redis returns is done within a few seconds, and nothing about gossip
    is logged."""
    clock = FixedClock(shanghai(2024, 2, 5, 10, 0))
    settings = Settings(database_url=sqlite_db.url, mail_folder=tmp_path / "mail")
    seed_bureau(sqlite_db, clock)
    redis_server = ThrowawayRedis(tmp_path)
    redis_server.start()
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [str(SANTONGBU), "worker", "--concurrency", "1", "--loglevel", "INFO"],
            cwd=tmp_path,
            env=_env(sqlite_db.url, redis_server.url, tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: " ready." in log.read_text(), 60, "the worker to start")
            redis_server.stop()
            time.sleep(13)  # down long enough for kombu's old back-off to reach 8 s between attempts
            from workflow.services.documents import Workflow

            to_signoff(Workflow(sqlite_db, clock, settings))  # emails waiting in the outbox
            redis_server.start()
            back = time.monotonic()
            client = Celery("drill", broker=redis_server.url, set_as_current=False)

            def delivered() -> bool:
                with sqlite_db.transaction() as s:
                    return set(s.scalars(select(OutboxMessage.status))) == {"sent"}

            client.send_task(DELIVER_OUTBOX)
            wait_until(delivered, 30, "the worker to deliver after Redis returned")
            took = time.monotonic() - back
        finally:
            _stop(worker)
            redis_server.stop()
    text = log.read_text()
    print(f"worker took {took:.1f} s after Redis returned")
    assert took < 5.0, f"{took:.1f} s after Redis returned"
    assert "Gossip" not in text and "gossip" not in text.lower().replace("without-gossip", "")
    assert "Traceback" not in text, text[-3000:]
