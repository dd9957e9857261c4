"""Evidence on the pages, over HTTP against the real server (docs/evidence.md): the document page
shows each posting's check with its kept page, which is served sandboxed and as a WARC download
to readers of the document only, and the dashboard lists the postings without verified evidence."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import shanghai
from tests.evidence_support import TITLE, interpretation_page, newspaper_page, page_server, policy_page
from tests.factories import CLERK, make_workflow, to_signed
from tests.web_support import Session, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.bootstrap import bootstrap
from workflow.kernel.db import Database


def test_the_document_page_the_kept_page_and_the_dashboard_panel(web_db: Database, tmp_path: Path) -> None:
    with web_env(web_db, tmp_path, people=None) as env, page_server() as portal:
        portal.routes["/zcwj/1.htm"] = policy_page(portal)
        portal.routes["/jd/1.htm"] = interpretation_page(portal, link=False)
        portal.routes["/news/1.html"] = newspaper_page()
        wf = make_workflow(env.db, env.clock, env.settings)
        env.clock.set(shanghai(2024, 2, 9, 10, 0))
        doc = to_signed(wf)
        wf.fire(CLERK, doc, "publish", publication_url=portal.url("/zcwj/1.htm"))
        env.clock.set(shanghai(2024, 2, 19, 11, 0))
        wf.record_posting(CLERK, doc, channel="portal", url=portal.url("/jd/1.htm"))
        wf.record_posting(CLERK, doc, channel="news_media", outlet="福州日报", url=portal.url("/news/1.html"))
        checker = bootstrap(
            env.settings.model_copy(update={"evidence_allowed_hosts": f"127.0.0.1:{portal.port}"}),
            db=env.db,
            clock=env.clock,
        )
        found = {c.channel: c for c in checker.evidence.check_due().checked}

        clerk = Session(env.base_url)
        clerk.sign_in(CLERK)
        page = clerk.get(f"/web/documents/{doc}").text
        assert 'data-evidence="mismatch"' in page and 'data-evidence="verified"' in page
        assert "解读页面未链接政策文件" in page
        kept = f"/web/documents/{doc}/evidence/{found['news_media'].check_id}"
        assert kept in page
        shown = clerk.get(kept)
        assert shown.status_code == 200 and TITLE in shown.content.decode("gbk")
        assert shown.headers["content-security-policy"].startswith("sandbox")
        assert "script-src" not in shown.headers["content-security-policy"]  # default-src 'none' covers it
        warc = clerk.get(kept + "?download=1")
        assert warc.status_code == 200 and warc.content[:2] == b"\x1f\x8b"
        assert found["news_media"].sha256 in warc.headers["content-disposition"]
        assert (
            clerk.get(f"/web/documents/{doc + 1}/evidence/{found['news_media'].check_id}").status_code == 404
        )

        other = Session(env.base_url)
        other.sign_in("xu.kxc")
        assert other.get(kept).status_code == 403

        supervisor = Session(env.base_url)
        supervisor.sign_in("lin.zfc")
        dash = supervisor.get("/web/dashboard").text
        assert 'id="unverified"' in dash and f'data-doc="{doc}" data-evidence="mismatch"' in dash
        for s in (clerk, other, supervisor):
            s.close()
