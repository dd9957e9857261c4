"""The evidence check run by a real Celery worker and beat on Redis (workers/evidence_tasks.py),
as the sweep is in test_celery_worker.py: as the injected clock moves, beat's
``santongbu.check_evidence`` verifies the pages, a re-check flags the page taken down, and a day
later the drafting unit's email is delivered once — with two worker threads racing on every tick.
Nothing is faked: Celery's worker and beat, Redis, real HTTP servers on loopback."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import shanghai
from tests.e2e.test_celery_worker import (  # noqa: F401  (forget_queues is an autouse fixture)
    TICK,
    WAIT,
    forget_queues,
    machine_redis,
    redis_app,
    wait_until,
)
from tests.evidence_support import PageServer, interpretation_page, newspaper_page, page_server, policy_page
from tests.factories import CLERK, make_workflow, seed_bureau, to_signed
from workers.evidence_tasks import CHECK_EVIDENCE
from workers.inprocess import running
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.models import EvidenceCheck
from workflow.kernel.settings import Settings

pytestmark = pytest.mark.redis


@pytest.fixture
def portal() -> Iterator[PageServer]:
    with page_server() as server:
        server.routes["/zcwj/1.htm"] = policy_page(server)
        server.routes["/jd/1.htm"] = interpretation_page(server)
        server.routes["/news/1.html"] = newspaper_page()
        yield server


def current(db: Database) -> dict[str, tuple[str, str | None]]:
    with db.transaction() as s:
        return {
            r.channel: (r.status, r.change)
            for r in s.scalars(select(EvidenceCheck).where(EvidenceCheck.is_current.is_(True)))
        }


def delivered(folder: Path, event: str) -> list[email.message.EmailMessage]:
    found = []
    for f in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        if msg["X-Santongbu-Event"] == event:
            found.append(msg)
    return found  # type: ignore[return-value]


def test_beat_checks_pages_flags_a_removed_one_and_emails_the_unit_a_day_later(
    db: Database, clock: FixedClock, tmp_path: Path, portal: PageServer, machine_redis: str
) -> None:
    mail = tmp_path / "mail"
    settings = Settings(
        database_url=db.url,
        mail_folder=mail,
        sweep_interval_seconds=3600,
        outbox_interval_seconds=TICK,
        evidence_interval_seconds=TICK,
        evidence_allowed_hosts=f"127.0.0.1:{portal.port}",
        evidence_folder=tmp_path / "kept",
        evidence_read_timeout_seconds=1.0,
        evidence_total_timeout_seconds=3.0,
    )
    seed_bureau(db, clock)
    wf = make_workflow(db, clock, settings)
    clock.set(shanghai(2024, 2, 9, 10, 0))
    doc = to_signed(wf)
    wf.fire(CLERK, doc, "publish", publication_url=portal.url("/zcwj/1.htm"))
    clock.set(shanghai(2024, 2, 19, 11, 0))
    wf.record_posting(CLERK, doc, channel="portal", url=portal.url("/jd/1.htm"))
    wf.record_posting(CLERK, doc, channel="news_media", outlet="福州日报", url=portal.url("/news/1.html"))
    app = redis_app(db, clock, settings, machine_redis)

    with running(app, concurrency=2) as rt:
        wait_until(
            lambda: (
                current(db)
                == {
                    "publication": ("verified", "first"),
                    "portal": ("verified", "first"),
                    "news_media": ("verified", "first"),
                }
            ),
            WAIT,
            "three verified pages",
        )
        del portal.routes["/jd/1.htm"]
        clock.set(shanghai(2024, 2, 26, 11, 30))  # the weekly re-check is due
        wait_until(
            lambda: (
                current(db)
                == {
                    "publication": ("verified", "same"),
                    "news_media": ("verified", "same"),
                    "portal": ("unreachable", "disappeared"),
                }
            ),
            WAIT,
            "the re-check to flag the removed page",
        )
        clock.set(shanghai(2024, 2, 27, 11, 45))  # a day after it went
        wait_until(lambda: len(delivered(mail, "evidence_problem")) == 1, WAIT, "the unit's email")
        rt.probe.wait_more(CHECK_EVIDENCE, 3, WAIT)
        assert not rt.probe.failures
        runs = rt.probe.returned(CHECK_EVIDENCE)

    (msg,) = delivered(mail, "evidence_problem")
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "HTTP 404" in body and portal.url("/jd/1.htm") in body
    with db.transaction() as s:
        rows = s.scalars(select(EvidenceCheck).order_by(EvidenceCheck.id)).all()
        # Racing runs on two threads recorded each result once: three first checks, three
        # re-checks, then the portal page's retries only.
        assert sum(1 for r in rows if r.change == "first") == 3
        assert sum(1 for r in rows if r.is_current) == 3
        assert sum(1 for r in rows if r.alerted and r.channel == "portal" and r.bad_since) >= 1
    assert any(r["checked_count"] for r in runs)
