"""OWASP ASVS 4.0.3, chapter V7 (error handling and logging): every refusal leaves an audit
line, concurrent-change refusals (409) included; refusals that come in bursts are aggregated so
that they cannot flood the trail (nor contend for the very chain the writers race on)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.api_support import live_server
from tests.conftest import shanghai
from tests.factories import new_draft, seed_bureau
from workflow.entrypoints.api import create_app
from workflow.kernel import audit
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent
from workflow.kernel.settings import Settings
from workflow.services.audit_admin import AuditAdmin
from workflow.services.documents import Workflow
from workflow.services.tokens import Tokens

CLERK = "liu.spc"
WRITERS = 16


def test_v7_2_2_concurrent_change_refusals_are_audited_in_one_event_per_burst(
    db: Database, tmp_path: Path
) -> None:
    """ASVS V7.1.3 / V7.2.2: in a race drill, 237 refusals with 409 left no audit line while
    wrong-state refusals were audited. Sixteen writers PATCH one document with the same If-Match
    at once: one wins, every loser's 409 is counted, and the trail gets one aggregated
    ``changed_meanwhile`` event on the document's chain per window, whose count is the number of
    409s; the chains still verify."""
    clock = FixedClock(shanghai(2024, 2, 5, 10, 0))
    settings = Settings(database_url=db.url, mail_folder=tmp_path / "mail", throttle_address_failures=1000)
    seed_bureau(db, clock)
    doc = new_draft(Workflow(db, clock, settings))
    token = Tokens(db, clock, settings).create("admin", CLERK, "t")[0]
    with live_server(create_app(db, clock, settings)) as url:

        def edit(n: int) -> int:
            return httpx.patch(
                f"{url}/documents/{doc}",
                json={"title": f"标题 {n}"},
                timeout=60,
                headers={"Authorization": f"Bearer {token}", "If-Match": '"1"'},
            ).status_code

        with ThreadPoolExecutor(WRITERS) as pool:
            statuses = list(pool.map(edit, range(WRITERS)))
    assert statuses.count(200) == 1 and statuses.count(409) == WRITERS - 1, statuses
    clock.advance(timedelta(seconds=61))
    assert AuditAdmin(db, clock, settings).flush_bursts() == 1
    with db.transaction() as s:
        events = [
            json.loads(e.details) | {"_outcome": e.outcome, "_chain": e.chain}
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "changed_meanwhile"))
        ]
        assert audit.verify(s).ok
    [event] = events
    assert event["_outcome"] == "refused" and event["_chain"] == f"doc:{doc}" and event["aggregated"] is True
    assert event["count"] == WRITERS - 1 and event["action"] == {"edit": WRITERS - 1}
    assert event["actor"] == {CLERK: WRITERS - 1}


def test_v7_2_2_forged_forms_are_audited_once_per_address_and_window(tmp_path: Path) -> None:
    """ASVS V7.2.2 / V4.2.2: a form without the session's CSRF token was refused with only a log
    line. Now the refusals are in the trail too, one aggregated ``csrf_refused`` event per client
    address and window, naming the paths and the signed-in user."""
    from tests.web_support import Session, web_env

    db = Database(f"sqlite:///{tmp_path / 'santongbu.db'}")
    db.upgrade()
    with web_env(db, tmp_path, people=("liu.spc",)) as env:
        clerk = Session(env.base_url)
        clerk.sign_in(CLERK)
        for _ in range(3):
            assert clerk.post("/web/documents", {"csrf_token": "forged", "title": "x"}).status_code == 403
        env.clock.advance(timedelta(seconds=61))
        assert AuditAdmin(db, env.clock, env.settings).flush_bursts() == 1
        clerk.close()
    with db.transaction() as s:
        [event] = [
            json.loads(e.details)
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "csrf_refused"))
        ]
    assert event["count"] == 3 and event["path"] == {"/web/documents": 3} and event["login"] == {CLERK: 3}
    db.dispose()
