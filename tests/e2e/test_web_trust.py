"""The trust rules on the pages over plain HTTP, on SQLite and PostgreSQL: a backdated
publication needs its checkbox, a claim waits for a supervisor's confirmation on the page, a
correction is made from the page, and every event says it came through the pages."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from tests.factories import CLERK, to_published, to_signed
from tests.web_support import Session, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent
from workflow.services.documents import Workflow

SUPERVISOR = "lin.zfc"  # 政法处: a supervisor outside the drafting unit 审批处


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def version(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found
    return found.group(1)


def test_a_backdated_publication_needs_its_checkbox_and_a_supervisor_confirms_it(
    db: Database, tmp_path: Path
) -> None:
    with web_env(db, tmp_path, people=(CLERK, SUPERVISOR)) as env:
        wf = Workflow(env.db, env.clock, env.settings)
        doc = to_signed(wf)
        clerk = Session(env.base_url)
        assert clerk.sign_in(CLERK).status_code == 303
        page = clerk.get(f"/web/documents/{doc}").text
        assert 'name="backdated"' in page
        form = {
            "csrf_token": csrf(page),
            "version": version(page),
            "publication_url": "https://jtj.example.cn/1.htm",
            "published_at": "2022-02-05 10:00",
        }
        refused = clerk.post(f"/web/documents/{doc}/fire/publish", form)
        assert refused.status_code == 409 and "确系补录" in refused.text and "2022-02-05" in refused.text
        assert 'data-refusal="fire-publish"' in refused.text
        form["published_at"] = "2024-02-01 10:00"
        assert (
            clerk.post(f"/web/documents/{doc}/fire/publish", {**form, "backdated": "yes"}).status_code == 303
        )
        page = clerk.get(f"/web/documents/{doc}").text
        assert "claim-waiting" in page and 'id="form-confirm"' not in page  # the clerk cannot confirm

        supervisor = Session(env.base_url)
        assert supervisor.sign_in(SUPERVISOR).status_code == 303
        page = supervisor.get(f"/web/documents/{doc}").text
        assert 'id="form-confirm"' in page
        done = supervisor.post(
            f"/web/documents/{doc}/confirm",
            {
                "csrf_token": csrf(page),
                "version": version(page),
                "what": "publication",
                "reason": "门户网站发布日志",
            },
        )
        assert done.status_code == 303 and "done=confirm" in done.headers["location"]
        page = supervisor.get(f"/web/documents/{doc}").text
        assert "claim-confirmed" in page and "claim-waiting" not in page
        with env.db.transaction() as s:
            confirm = s.scalars(
                select(AuditEvent).where(AuditEvent.document_id == doc, AuditEvent.action == "confirm")
            ).one()
        assert confirm.actor == SUPERVISOR


def test_postings_claimed_long_before_they_were_recorded_show_as_waiting(
    db: Database, tmp_path: Path
) -> None:
    from tests.conftest import shanghai

    with web_env(db, tmp_path, people=(CLERK,)) as env:
        wf = Workflow(env.db, env.clock, env.settings)
        doc = to_published(wf)
        env.clock.set(shanghai(2024, 2, 22, 10, 0))
        wf.record_posting(
            CLERK, doc, channel="portal", url="https://p.example.cn/1", posted_at=shanghai(2024, 2, 6, 10, 0)
        )
        clerk = Session(env.base_url)
        assert clerk.sign_in(CLERK).status_code == 303
        page = clerk.get(f"/web/documents/{doc}").text
        assert 'id="claims-waiting"' in page and "claim-waiting" in page


def test_corrections_from_the_document_page(db: Database, tmp_path: Path) -> None:
    from tests.conftest import shanghai

    with web_env(db, tmp_path, people=(CLERK,)) as env:
        wf = Workflow(env.db, env.clock, env.settings)
        doc = to_published(wf)
        env.clock.set(shanghai(2024, 2, 6, 10, 0))
        wf.record_posting(CLERK, doc, channel="portal", url="https://p.example.cn/1")
        clerk = Session(env.base_url)
        assert clerk.sign_in(CLERK).status_code == 303
        page = clerk.get(f"/web/documents/{doc}").text
        assert 'id="form-correct"' in page
        form = {
            "csrf_token": csrf(page),
            "version": version(page),
            "what": "portal",
            "url": "https://p.example.cn/2",
            "reason": "网址写错",
        }
        done = clerk.post(f"/web/documents/{doc}/correct", form)
        assert done.status_code == 303 and "done=correct" in done.headers["location"]
        page = clerk.get(f"/web/documents/{doc}").text
        assert 'id="corrections"' in page and "网址写错" in page and "https://p.example.cn/1" in page
        refused = clerk.post(
            f"/web/documents/{doc}/correct",
            {
                "csrf_token": csrf(page),
                "version": version(page),
                "what": "portal",
                "at": "2024-02-05 11:00",
                "reason": "提前",
            },
        )
        assert refused.status_code == 403 and 'data-refusal="correct"' in refused.text
        with env.db.transaction() as s:
            fixes = list(
                s.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.document_id == doc, AuditEvent.action == "correct")
                    .order_by(AuditEvent.seq)
                )
            )
        assert [(e.outcome, e.channel) for e in fixes] == [("allowed", "web"), ("refused", "web")]


def test_the_dashboard_lists_claims_awaiting_confirmation(db: Database, tmp_path: Path) -> None:
    from tests.conftest import shanghai

    with web_env(db, tmp_path, people=(SUPERVISOR,)) as env:
        wf = Workflow(env.db, env.clock, env.settings)
        doc = to_published(wf)
        env.clock.set(shanghai(2024, 2, 22, 10, 0))
        wf.record_posting(
            CLERK,
            doc,
            channel="news_media",
            outlet="福州日报",
            evidence="第3版",
            posted_at=shanghai(2024, 2, 6, 10, 0),
        )
        supervisor = Session(env.base_url)
        assert supervisor.sign_in(SUPERVISOR).status_code == 303
        page = supervisor.get("/web/dashboard").text
        assert 'id="claims"' in page and f'data-doc="{doc}" data-what="news_media"' in page
        assert "2024-02-06 10:00" in page and "2024-02-22 10:00" in page


def test_the_timeline_page_names_each_events_channel_and_shows_corrections(
    db: Database, tmp_path: Path
) -> None:
    with web_env(db, tmp_path, people=(CLERK,)) as env:
        wf = Workflow(env.db, env.clock, env.settings)
        doc = to_published(wf)
        wf.correct(CLERK, doc, what="publication", url="https://jtj.example.cn/2.htm", reason="网址写错")
        clerk = Session(env.base_url)
        assert clerk.sign_in(CLERK).status_code == 303
        page = clerk.get(f"/web/documents/{doc}/timeline").text
        assert 'data-action="correct"' in page and "更正" in page and "网址写错" in page
        assert "https://jtj.example.cn/2.htm" in page and 'data-channel="system"' in page


def test_a_second_document_with_the_same_number_needs_the_box_on_the_page(
    db: Database, tmp_path: Path
) -> None:
    """The pages refuse a duplicate 文号 as the CLI and the API do, say how to mean it, and
    take it with the box ticked — on the new-document form and on the edit form."""
    number = "榕交〔2024〕7号"
    with web_env(db, tmp_path, people=(CLERK,)) as env:
        wf = Workflow(env.db, env.clock, env.settings)
        first = wf.create_document(CLERK, title="原件", doc_number=number).document_id
        clerk = Session(env.base_url)
        assert clerk.sign_in(CLERK).status_code == 303
        page = clerk.get("/web/documents/new").text
        assert 'name="allow_duplicate_number"' in page
        form = {"csrf_token": csrf(page), "title": "重新印发", "doc_number": number}
        refused = clerk.post("/web/documents", form)
        assert refused.status_code == 409, refused.text[:300]
        assert f"已被文件 {first} 使用" in refused.text and "确系有意" in refused.text
        made = clerk.post("/web/documents", {**form, "allow_duplicate_number": "yes"})
        assert made.status_code == 303
        second = int(made.headers["location"].split("/documents/")[1].split("?")[0])

        other = wf.create_document(CLERK, title="另一件", doc_number="榕交〔2024〕8号").document_id
        page = clerk.get(f"/web/documents/{other}").text
        edit = {"csrf_token": csrf(page), "version": version(page), "doc_number": number}
        assert clerk.post(f"/web/documents/{other}/edit/text", edit).status_code == 409
        ok = clerk.post(f"/web/documents/{other}/edit/text", {**edit, "allow_duplicate_number": "yes"})
        assert ok.status_code == 303
    with db.transaction() as session:
        from workflow.kernel.models import Document

        numbers = {d.id: d.doc_number for d in session.scalars(select(Document))}
    assert numbers[first] == numbers[second] == numbers[other] == number
