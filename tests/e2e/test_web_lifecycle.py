"""The whole lifecycle through the pages, in Chromium, as the people who do it.

A clerk of 审批处 drafts a document, is refused sign-off while the plan is missing (the reason
shown next to the button, nothing changed), completes plan, materials and signers; the head
of the unit signs; the director — switching the pages to English — rejects with a reason,
which voids the signature; the clerk adds what was asked; both sign; the clerk publishes and
records the portal and news-media postings, closing the document on time. Another unit's
clerk is refused the draft. Every page is photographed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import shanghai
from tests.web_support import Shots, browser, seeded_template, sign_in, web_db, web_env  # noqa: F401 (fixtures)
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, Document, Signature


def doc_row(db: Database, doc_id: int) -> Document:
    with db.transaction() as s:
        return s.get(Document, doc_id)


def badge(page: Any) -> str:
    return page.locator(".heading .state").inner_text()


def test_whole_lifecycle_through_the_pages(browser: Any, web_db: Database, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shots = Shots()
    with web_env(web_db, tmp_path, people=None) as env:
        clerk = sign_in(browser, env, "liu.spc")
        expect(clerk.locator("h1")).to_have_text("审批处 的文件")
        expect(clerk.locator(".empty")).to_have_text("暂无文件。")

        # -------------------------------------------------------------- a new draft
        clerk.get_by_role("link", name="新建文件").click()
        clerk.get_by_label("标题").fill("福州市网络预约出租汽车经营服务管理实施细则")
        clerk.get_by_label("文号或暂定名称").fill("榕交规〔2024〕3号")
        clerk.get_by_label("公开属性").select_option("proactive")
        clerk.get_by_label("不需要").check()
        clerk.get_by_label("正文").fill(
            "第一条 为规范网络预约出租汽车经营服务行为……\n第二条 本细则适用于本市行政区域内。"
        )
        shots(clerk, "01-new-draft")
        clerk.get_by_role("button", name="创建草稿").click()
        clerk.wait_for_url(re.compile(r"/web/documents/\d+\?done=create"))
        doc_id = int(re.search(r"/documents/(\d+)", clerk.url).group(1))
        expect(clerk.locator("#flash")).to_have_text("草稿已创建。")
        assert badge(clerk) == "起草"
        expect(clerk.locator("#next")).to_contain_text("条件已满足。")

        # Another unit's clerk may not open it: a 403 page, and the refusal is audited.
        other = sign_in(browser, env, "xu.kxc")
        response = other.goto(env.url(f"/web/documents/{doc_id}"))
        assert response.status == 403
        expect(other.locator("h1")).to_have_text("您无权查看或办理此项。")
        expect(other.locator(".refusal")).to_contain_text("xu.kxc 无权查看本文件")
        assert "网络预约" not in other.content()
        shots(other, "09-forbidden-other-unit")
        other.context.close()

        clerk.get_by_role("button", name="进入解读方案").click()
        expect(clerk.locator("#flash")).to_have_text("已完成:进入解读方案。")
        assert badge(clerk) == "解读方案"

        # -------------------------------------------------------------- a refusal, explained
        version = doc_row(web_db, doc_id).version
        clerk.get_by_role("button", name="提交同步审签").click()
        refusal = clerk.locator('[data-refusal="fire-request_signoff"]')
        expect(refusal).to_contain_text("缺少解读方案")
        expect(refusal).to_contain_text("至少需要一份注明形式的解读材料")
        expect(refusal).to_contain_text("未指定解读人")
        expect(refusal).to_contain_text("未指定审签人")
        # next to its own button, and focused for keyboard and screen-reader users
        assert clerk.locator('form[data-trigger="request_signoff"] [data-refusal]').count() == 1
        assert clerk.evaluate("document.activeElement.dataset.refusal") == "fire-request_signoff"
        assert badge(clerk) == "解读方案"
        row = doc_row(web_db, doc_id)
        assert (row.state, row.version) == ("interpretation_plan", version)  # nothing half-done
        shots(clerk, "03-refused-next-to-the-button")

        # -------------------------------------------------------------- plan, materials, signers
        clerk.get_by_role("textbox", name="解读方案", exact=True).fill(
            "一、解读重点:经营许可条件、车辆标准。\n二、解读形式:文字解读、图解。"
        )
        clerk.get_by_label("解读人(谁起草谁解读)").select_option("liu.spc")
        clerk.get_by_role("button", name="保存解读方案").click()
        expect(clerk.locator("#flash")).to_have_text("已保存。")
        clerk.get_by_label("形式").select_option("text")
        clerk.get_by_label("材料标题").fill("《实施细则》文字解读")
        clerk.get_by_label("材料内容").fill("一、制定背景\n二、主要内容\n三、关键词解释")
        clerk.get_by_role("button", name="添加解读材料").click()
        expect(clerk.locator("#flash")).to_have_text("解读材料已添加。")
        clerk.get_by_label(re.compile(r"陈处长 \(chen\.spc")).check()
        clerk.get_by_label(re.compile(r"张局长 \(director")).check()
        clerk.get_by_role("button", name="保存审签人").click()
        expect(clerk.locator("#flash")).to_have_text("审签人已保存。")
        expect(clerk.locator("#next")).to_contain_text("条件已满足。")
        shots(clerk, "02-document-clerk")
        clerk.get_by_role("button", name="提交同步审签").click()
        expect(clerk.locator("#flash")).to_have_text("已完成:提交同步审签。")
        assert badge(clerk) == "同步审签"

        # -------------------------------------------------------------- the head of unit signs
        head = sign_in(browser, env, "chen.spc")
        head.get_by_role("link", name="待我审签").click()
        expect(head.locator(f'[data-doc="{doc_id}"]')).to_contain_text("尚待签署:chen.spc, director")
        shots(head, "04-signing-queue")
        head.locator(f'[data-doc="{doc_id}"] a').click()
        expect(head.locator("#sign-panel")).to_be_visible()
        head.get_by_role("button", name="签署审签包").click()
        expect(head.locator("#flash")).to_have_text("已签署。")
        expect(head.locator('[data-signer="chen.spc"]')).to_contain_text("已签署")

        # -------------------------------------------------------------- the director rejects, in English
        director = sign_in(browser, env, "director")
        director.get_by_role("link", name="待我审签").click()
        director.locator(f'[data-doc="{doc_id}"] a').click()
        # text, plan and materials side by side, read-only for a signer of another unit
        expect(director.locator("#body-text")).to_contain_text("第二条 本细则适用于本市行政区域内。")
        expect(director.locator("#plan-text")).to_contain_text("经营许可条件")
        expect(director.locator("#materials")).to_contain_text("《实施细则》文字解读")
        expect(director.locator('[data-signer="chen.spc"]')).to_contain_text("已签署")
        assert director.locator("#package form").count() == 0 and director.locator("#next").count() == 0
        shots(director, "05-signer-package")
        director.get_by_role("link", name="English").click()
        expect(director.locator("html")).to_have_attribute("lang", "en")
        expect(director.locator("#sign-panel h2")).to_have_text("Waiting for my signature")
        director.get_by_label("interpretation plan (change plan or materials)").check()
        director.get_by_label("Reason").fill("请补充一份图解,方便群众理解。")
        shots(director, "14-signer-english")
        director.get_by_role("button", name="Send back").click()
        expect(director.locator("#flash")).to_have_text("Sent back.")
        expect(director.locator(".heading .state")).to_have_text("interpretation plan")
        with web_db.transaction() as s:
            signatures = list(s.scalars(select(Signature).where(Signature.document_id == doc_id)))
            assert [(sig.voided_at is not None, sig.void_reason) for sig in signatures] == [
                (True, "package rejected")
            ]

        # -------------------------------------------------------------- the clerk adds what was asked
        clerk.reload()
        assert badge(clerk) == "解读方案"
        clerk.get_by_label("形式").select_option("graphic")
        clerk.get_by_label("材料标题").fill("一图读懂《实施细则》")
        clerk.get_by_label("链接(可选)").fill("https://jtj.fuzhou.example.cn/tj/2024-3.png")
        clerk.get_by_role("button", name="添加解读材料").click()
        expect(clerk.locator("#materials li")).to_have_count(2)
        clerk.get_by_role("button", name="提交同步审签").click()
        assert badge(clerk) == "同步审签"
        for signer in (head, director):
            signer.goto(env.url(f"/web/documents/{doc_id}"))
            signer.locator("#sign-panel button.primary").click()
            expect(signer.locator("#flash")).to_be_visible()
        assert director.locator("#flash").inner_text() == "Signed."

        # -------------------------------------------------------------- publication and postings
        clerk.reload()
        expect(clerk.locator("#next")).to_contain_text("条件已满足。")
        clerk.get_by_label("公开网址").fill("https://jtj.fuzhou.example.cn/zwgk/zcwj/2024/3.htm")
        clerk.get_by_role("button", name="公开发布").click()
        expect(clerk.locator("#flash")).to_have_text("已完成:公开发布。")
        assert badge(clerk) == "公开"
        # Published Mon 2024-02-05: day 1 Tue, day 3 Thu 2024-02-08.
        expect(clerk.locator(".facts .due").first).to_have_text("剩 3 个工作日")
        expect(clerk.locator(".facts .due-date").first).to_have_text("截止 2024-02-08")
        shots(clerk, "06-published-deadline")

        env.clock.set(shanghai(2024, 2, 7, 15, 30))
        clerk.reload()
        expect(clerk.locator(".facts .due").first).to_have_text("剩 1 个工作日")
        clerk.get_by_label("渠道").select_option("portal")
        clerk.get_by_label("网址", exact=True).fill("https://jtj.fuzhou.example.cn/zwgk/zcjd/2024/3.htm")
        clerk.get_by_role("button", name="登记解读发布").click()
        expect(clerk.locator("#flash")).to_have_text("解读发布已登记。")
        expect(clerk.locator("#next")).to_contain_text("解读材料尚未在新闻媒体发布")
        clerk.get_by_label("渠道").select_option("news_media")
        clerk.get_by_label("媒体名称").fill("福州日报")
        clerk.get_by_label("网址", exact=True).fill("https://news.fznews.example.cn/2024-02/07/3.htm")
        clerk.get_by_role("button", name="登记解读发布").click()
        expect(clerk.locator("#flash")).to_have_text("解读已在门户网站和新闻媒体发布,文件办结。")
        assert badge(clerk) == "解读发布"
        expect(clerk.locator(".facts .due").first).to_have_text("按时发布(用时 2 个工作日)")
        row = doc_row(web_db, doc_id)
        assert (row.state, row.on_time, row.working_days_taken) == ("interpretation_posted", True, 2)

        # -------------------------------------------------------------- the timeline tells it all
        clerk.get_by_role("link", name="办理记录").click()
        events = clerk.locator("ol.timeline li")
        expect(clerk.locator("li.refused")).to_have_count(2)
        expect(clerk.locator('li.refused[data-action="request_signoff"]')).to_contain_text("缺少解读方案")
        expect(clerk.locator('li[data-action="reject"]')).to_contain_text("请补充一份图解")
        assert events.count() >= 15
        shots(clerk, "07-timeline")
        with web_db.transaction() as s:
            refused = [
                (e.actor, e.action)
                for e in s.scalars(
                    select(AuditEvent).where(AuditEvent.outcome == "refused").order_by(AuditEvent.id)
                )
            ]
        assert refused == [("xu.kxc", "read"), ("liu.spc", "request_signoff")]
        # Every step taken in the browser is attributed to the pages and the person's session.
        with web_db.transaction() as s:
            trail = list(s.scalars(select(AuditEvent).where(AuditEvent.document_id == doc_id)))
        people = [e for e in trail if e.actor in ("liu.spc", "xu.kxc", "chen.spc", "director")]
        assert people and {e.channel for e in people} == {"web"}
        assert all(e.credential and e.credential.startswith("session:") for e in people)
        sessions = {e.actor: {x.credential for x in people if x.actor == e.actor} for e in people}
        assert len({c for cs in sessions.values() for c in cs}) >= len(sessions)  # one session each at least

        # -------------------------------------------------------------- closed documents listed on request
        clerk.goto(env.url("/web/documents"))
        expect(clerk.locator(".empty")).to_have_text("暂无文件。")
        clerk.get_by_label("显示已办结").check()
        clerk.get_by_role("button", name="筛选").click()
        expect(clerk.locator(f'tr[data-doc="{doc_id}"]')).to_contain_text("已办结")
        for page in (clerk, head, director):
            page.context.close()
    assert len(shots.taken) == 9
