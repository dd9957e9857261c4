"""Quiet workers: one INFO line per sweep and per delivery run, with counts; the result dict
only at DEBUG; Celery's own "succeeded: {…}" line not at INFO. The worker functions run here as
the tasks run them, over SQLite and the embedded broker."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from tests.conftest import shanghai
from tests.factories import seed_bureau, to_published
from workers.app import make_app, services_of
from workers.delivery_tasks import deliver_outbox
from workers.sweep_tasks import run_sweep
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings
from workflow.services.documents import Workflow


def info_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name.startswith("santongbu")
    ]


def test_one_info_line_per_sweep_and_per_delivery(sqlite_db: Database, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(shanghai(2024, 2, 9, 10, 0))
    settings = Settings(database_url=sqlite_db.url, mail_folder=tmp_path / "mail", language="zh")
    seed_bureau(sqlite_db, clock)
    to_published(Workflow(sqlite_db, clock, settings))
    app = make_app(settings, db=sqlite_db, clock=clock, name="santongbu-test-quiet")
    services = services_of(app)
    assert logging.getLogger("celery.app.trace").getEffectiveLevel() >= logging.WARNING

    run_sweep(services, app)  # the first sweep after start-up also says the ladder is new (once)
    caplog.set_level(logging.INFO)
    caplog.clear()
    clock.set(shanghai(2024, 2, 22, 0, 0))  # reminder, overdue and escalated are due
    result = run_sweep(services, app)
    assert result["fired_count"] == 3
    (line,) = info_lines(caplog)
    assert re.fullmatch(
        r"sweep: 3 rung\(s\) fired on 1 document\(s\), \d+ email\(s\) queued, 0 deferred \([0-9.]+ s\)", line
    )
    assert "fired_by_level" not in caplog.text  # the details are not at INFO

    caplog.clear()
    report = deliver_outbox(services, "test-host")
    assert info_lines(caplog) == [
        f"outbox: {report['claimed']} claimed, {report['sent_count']} sent, 0 to retry, 0 failed"
    ]
    assert report["sent_count"] >= 1

    caplog.clear()
    caplog.set_level(logging.DEBUG)
    run_sweep(services, app)  # nothing left to fire: still one line, and the details at DEBUG
    (line,) = info_lines(caplog)
    assert line.startswith("sweep: 0 rung(s) fired on 0 document(s), 0 email(s) queued")
    assert any(r.levelno == logging.DEBUG and "fired_by_level" in r.getMessage() for r in caplog.records)
