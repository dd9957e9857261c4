"""One number of working days overdue on every surface, for the same document at the same instant.

A document published Fri 2024-02-09 10:00 is due Tue 2024-02-20 23:59:59 (the README's example:
Sun 18 is a make-up working day). The figure is the working days *fully passed* since the due
day (states.deadline.working_days_overdue), counted by hand:

=====================  =====  =======================================================
instant (+08:00)       days   why
=====================  =====  =======================================================
Wed 02-21 10:00        0      late since Wed 00:00, but Wed 21 is not over
Thu 02-22 00:00        1      Wed 21 is over: the escalated rung (督办) fires now
Sat 02-24 00:00        3      Wed, Thu, Fri: escalated_high (领导督办) fires now
Mon 02-26 10:00        3      the weekend adds nothing; Mon 26 is not over
Tue 02-27 00:00        4      Mon 26 is over
=====================  =====  =======================================================

At each instant the sweep runs (as the beat would), then the demo's facts and text, the email
the sweep queued (its body), the overdue report (service), the same report over HTTP, and the
clerk's document list page must all give that number.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from notifications.content import content_of
from states.deadline import overdue_words
from tests.conftest import shanghai
from tests.factories import to_published
from tests.web_support import Session, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.demo.collect import collect
from workflow.demo.report import render_text
from workflow.demo.run import DemoRun
from workflow.kernel.db import Database
from workflow.kernel.models.outbox import OutboxMessage
from workflow.services.documents import Workflow
from workflow.services.reports import Reports
from workflow.services.sweep import sweep
from workflow.services.tokens import Tokens

CLERK, SUPERVISOR = "liu.spc", "lin.zfc"
EXPECTED = [
    (shanghai(2024, 2, 21, 10, 0), 0, None),
    (shanghai(2024, 2, 22, 0, 0), 1, "escalated"),
    (shanghai(2024, 2, 24, 0, 0), 3, "escalated_high"),
    (shanghai(2024, 2, 26, 10, 0), 3, None),
    (shanghai(2024, 2, 27, 0, 0), 4, None),
]


def test_demo_email_report_api_and_page_give_the_same_figure(web_db: Database, tmp_path: Path) -> None:
    with web_env(web_db, tmp_path, people=None) as env:
        wf = Workflow(env.db, env.clock, env.settings)
        env.clock.set(shanghai(2024, 2, 9, 10, 0))
        doc = to_published(wf)
        token = Tokens(env.db, env.clock).create("admin", SUPERVISOR, "figures")[0]
        clerk = Session(env.base_url)
        assert clerk.sign_in(CLERK).status_code == 303
        for now, days, level in EXPECTED:
            env.clock.set(now)
            sweep(env.db, env.clock, env.settings)
            figures = {
                "demo": demo_figure(env, doc, now),
                "report": service_figure(env, doc),
                "api": api_figure(env, token, doc, now),
            }
            assert figures == {"demo": days, "report": days, "api": days}, now
            words = overdue_words(days, "zh")
            assert words in demo_text(env, doc), now
            page = clerk.get("/web/documents").text
            row = page[page.index(f'data-doc="{doc}"') :]
            assert words in row[: row.index("</tr>")], now
            if level is not None:  # the email the rung queued at this very instant
                body = email_body(env, doc, level)
                assert f"逾期情况:{words}" in body and words in email_subject(env, doc, level), now


def _run(env) -> DemoRun:  # type: ignore[no-untyped-def]
    return DemoRun(
        folder=Path(env.settings.mail_folder).parent,
        settings=env.settings,
        db=env.db,
        clock=env.clock,
        ids={},
        steps=[],
        checkpoint=None,
        seconds=0.0,
    )


def demo_figure(env, doc: int, now: datetime) -> int:  # type: ignore[no-untyped-def]
    (mine,) = [d for d in collect(_run(env))["documents"] if d["id"] == doc]
    return int(mine["working_days_overdue_now"])


def demo_text(env, doc: int) -> str:  # type: ignore[no-untyped-def]
    return render_text(collect(_run(env)), "zh")


def service_figure(env, doc: int) -> int:  # type: ignore[no-untyped-def]
    table = Reports(env.db, env.clock, env.settings).overdue(SUPERVISOR)
    (row,) = [r for r in table.rows if r["document_id"] == doc]
    return int(row["working_days_overdue"])


def api_figure(env, token: str, doc: int, now: datetime) -> int:  # type: ignore[no-untyped-def]
    answer = env_http(env).get(
        "/reports/overdue", params={"now": now.isoformat()}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    (row,) = [r for r in answer.json()["rows"] if r["document_id"] == doc]
    return int(row["working_days_overdue"])


def env_http(env) -> httpx.Client:  # type: ignore[no-untyped-def]
    return httpx.Client(base_url=env.base_url, timeout=30)


def _email(env, doc: int, level: str) -> OutboxMessage:  # type: ignore[no-untyped-def]
    with env.db.transaction() as s:
        rows = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.document_id == doc,
                OutboxMessage.event == level,
                OutboxMessage.channel == "email",
            )
        ).all()
        assert len(rows) == 1
        s.expunge(rows[0])
        return rows[0]


def email_body(env, doc: int, level: str) -> str:  # type: ignore[no-untyped-def]
    return content_of(_email(env, doc, level), env.settings).text  # rendered as delivery renders it


def email_subject(env, doc: int, level: str) -> str:  # type: ignore[no-untyped-def]
    return content_of(_email(env, doc, level), env.settings).subject
