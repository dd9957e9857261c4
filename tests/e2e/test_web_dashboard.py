"""The supervisor's dashboard after real sweeps, and the clerk's list with its highlights, in
Chromium; a report downloaded as CSV through the browser and checked.

Five documents are published through the service across the 2024 Spring Festival (holidays
10–17 February, Sunday the 18th a make-up working day) and the sweep runs as the clock moves,
as the beat would. As of Mon 2024-02-19 10:00 the pages must say, by the calendar:

=====  ======  ==============  =========================  ==================================
doc    unit    published       due                        on the 19th
=====  ======  ==============  =========================  ==================================
C      审批处   Mon 02-05 09:00  Thu 02-08                   posted on time on the 6th
A      审批处   Mon 02-05 10:00  Thu 02-08                   2 working days overdue, 督办
B      科信处   Wed 02-07        Sun 02-18 (make-up day)     late by less than 1 working day, 逾期
E      审批处   Thu 02-08        Mon 02-19                   due today (reminder sent)
D      审批处   Fri 02-16        Tue 02-20                   1 working day left
=====  ======  ==============  =========================  ==================================

Working days overdue are those fully passed since the due day (states.deadline): for A, Fri 9
and Sun 18 (make-up) by Mon 19 10:00 = 2; for B, none yet (Mon 19 is not over) = 0.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.conftest import shanghai
from tests.web_support import (  # noqa: F401 (fixtures)
    PHONE,
    Shots,
    browser,
    seeded_template,
    sign_in,
    web_db,
    web_env,
)
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.services.documents import Workflow
from workflow.services.reports import Reports
from workflow.services.sweep import sweep


def publish(
    wf: Workflow,
    clock: FixedClock,
    at: datetime,
    title: str,
    *,
    clerk: str = "liu.spc",
    signers: tuple[str, ...] = ("chen.spc", "director"),
) -> int:
    """A document taken to publication through the service, as its unit would."""
    clock.set(at)
    doc = wf.create_document(
        clerk,
        title=title,
        doc_number=f"榕交〔2024〕{at.day}{at.hour:02d}号",  # one 文号 per document
        body="第一条 ……",
        disclosure="proactive",
        risk_assessment_needed=False,
    ).document_id
    wf.fire(clerk, doc, "prepare_plan")
    wf.edit_document(clerk, doc, {"plan": "解读方案:背景、要点、关键词", "interpreter": clerk})
    wf.add_material(clerk, doc, form="text", title="文字解读", body="一、制定背景 ……")
    wf.set_signers(clerk, doc, list(signers))
    wf.fire(clerk, doc, "request_signoff")
    for signer in signers:
        wf.sign(signer, doc)
    wf.fire(clerk, doc, "publish", publication_url=f"https://jtj.fuzhou.example.cn/zcwj/2024/{doc}.htm")
    return doc


def sweep_at(env: Any, at: datetime) -> list[str]:
    env.clock.set(at)
    return [f"{f.document_id}:{f.level}" for f in sweep(env.db, env.clock, env.settings).fired]


def test_supervisor_dashboard_after_sweeps_and_the_clerks_highlights(
    browser: Any, web_db: Database, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    shots = Shots()
    with web_env(web_db, tmp_path, people=None) as env:
        wf, clock = Workflow(env.db, env.clock, env.settings), env.clock
        c = publish(wf, clock, shanghai(2024, 2, 5, 9, 0), "福州市港口岸线使用管理办法")
        a = publish(wf, clock, shanghai(2024, 2, 5, 10, 0), "福州市道路运输安全生产监督管理规定")
        clock.set(shanghai(2024, 2, 6, 10, 0))
        wf.record_posting("liu.spc", c, channel="portal", url="https://jtj.fuzhou.example.cn/zcjd/c.htm")
        wf.record_posting(
            "liu.spc", c, channel="news_media", outlet="福州日报", url="https://fzrb.example.cn/c.htm"
        )
        b = publish(
            wf,
            clock,
            shanghai(2024, 2, 7, 10, 0),
            "福州市交通运输数据共享管理办法",
            clerk="xu.kxc",
            signers=("wu.kxc", "director"),
        )
        e = publish(wf, clock, shanghai(2024, 2, 8, 10, 0), "福州市公路养护作业管理细则")
        assert sweep_at(env, shanghai(2024, 2, 8, 10, 0)) == [f"{a}:reminder"]
        assert sweep_at(env, shanghai(2024, 2, 9, 8, 0)) == [f"{a}:overdue"]
        d = publish(wf, clock, shanghai(2024, 2, 16, 15, 0), "福州市出租汽车服务质量信誉考核办法")
        assert sorted(sweep_at(env, shanghai(2024, 2, 18, 10, 0))) == sorted(
            [f"{a}:escalated", f"{b}:reminder"]
        )
        clock.set(shanghai(2024, 2, 19, 9, 30))
        draft = wf.create_document(
            "liu.spc",
            title="福州市公共自行车管理办法(征求意见稿)",
            doc_number="暂定",
            disclosure="proactive",
            risk_assessment_needed=True,
        ).document_id
        wf.fire("liu.spc", draft, "prepare_plan")
        assert sorted(sweep_at(env, shanghai(2024, 2, 19, 10, 0))) == sorted(
            [f"{b}:overdue", f"{e}:reminder"]
        )

        # -------------------------------------------------------------- the supervisor's dashboard
        boss = sign_in(browser, env, "lin.zfc")
        assert boss.url.endswith("/web/dashboard")
        expect(boss.locator(".heading .meta")).to_have_text("截至 2024-02-19 10:00")
        overdue = boss.locator("#overdue tbody tr")
        expect(overdue).to_have_count(2)
        first, second = overdue.nth(0), overdue.nth(1)
        assert first.get_attribute("data-doc") == str(a) and second.get_attribute("data-doc") == str(b)
        cells = [c.inner_text() for c in first.locator("td").all()]
        assert cells[1:5] == ["审批处", "2024-02-08", "2", "督办"]
        assert cells[5] == "门户网站、新闻媒体"
        cells = [c.inner_text() for c in second.locator("td").all()]
        assert cells[1:5] == ["科信处", "2024-02-18", "0", "逾期"]

        due = boss.locator("#due-soon li")
        expect(due).to_have_count(2)
        expect(boss.locator(f'#due-soon li[data-doc="{e}"]')).to_contain_text("今天到期")
        expect(boss.locator(f'#due-soon li[data-doc="{e}"]')).to_have_class("due-today")
        expect(boss.locator(f'#due-soon li[data-doc="{d}"]')).to_contain_text("剩 1 个工作日")

        fired = [
            (int(li.get_attribute("data-doc")), li.get_attribute("data-level"))
            for li in boss.locator("#escalations li").all()
        ]
        assert sorted(fired[:2]) == sorted([(b, "overdue"), (e, "reminder")])  # newest first
        assert sorted(fired[2:4]) == sorted([(a, "escalated"), (b, "reminder")])
        assert fired[4:] == [(a, "overdue"), (a, "reminder")]

        bars = boss.locator("#rates svg .bar-value")
        assert [t.text_content() for t in bars.all()] == ["0.0% (0/1)", "50.0% (1/2)"]  # 科信处, 审批处
        assert [t.text_content() for t in boss.locator("#rates svg .bar-label").all()] == ["科信处", "审批处"]
        assert float(boss.locator("#rates svg rect.bar").nth(1).get_attribute("width")) == 180.0

        counts = {
            g.get_attribute("data-state"): int(g.locator(".node-count").text_content())
            for g in boss.locator("#lifecycle g.node").all()
        }
        assert counts == {
            "draft": 0,
            "interpretation_plan": 1,
            "joint_signoff": 0,
            "published": 4,
            "interpretation_posted": 1,
            "withdrawn": 0,
            "filed": 0,
        }
        expect(boss.locator("#lifecycle .edge-label").first).to_have_text("进入解读方案")
        shots(boss, "10-dashboard")

        # -------------------------------------------------------------- a report, downloaded
        with boss.expect_download() as info:
            boss.locator('#downloads a[data-report="ledger"]').click()
        download = info.value
        assert download.suggested_filename == "santongbu-ledger-2024.csv"
        raw = Path(download.path()).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese headers
        lines = raw.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("序号,单位代码,单位,文件编号,文号,标题,公开时间,")
        assert len(lines) == 1 + 5
        by_id = {line.split(",")[3]: line for line in lines[1:]}
        assert "已逾期未发布" in by_id[str(a)] and "按时发布" in by_id[str(c)]
        assert "期限内未发布" in by_id[str(d)] and "福州日报" in by_id[str(c)]
        # The CSV says what the report service says, figure for figure.
        table = Reports(env.db, env.clock, env.settings).ledger("lin.zfc", period="2024")
        assert [str(r["document_id"]) for r in table.rows] == [line.split(",")[3] for line in lines[1:]]

        # -------------------------------------------------------------- any document's timeline
        boss.get_by_label("文件编号").fill(str(a))
        boss.get_by_role("button", name="打开").click()
        boss.wait_for_url(re.compile(rf"/web/documents/{a}/timeline$"))
        expect(boss.locator('li[data-action="escalation"]')).to_have_count(3)
        expect(boss.locator('li[data-action="escalation"]').last).to_contain_text("督办")

        boss.get_by_role("link", name="报表").click()
        boss.get_by_label("报表", exact=True).select_option("overdue")
        boss.get_by_role("button", name="显示").click()
        expect(boss.locator("table.report tbody tr")).to_have_count(2)
        expect(boss.locator("h2")).to_have_text("逾期未发布解读的文件")
        shots(boss, "11-reports")

        phone = sign_in(browser, env, "lin.zfc", viewport=PHONE)
        shots(phone, "12-dashboard-phone")
        phone.context.close()

        # -------------------------------------------------------------- the clerk's list
        clerk = sign_in(browser, env, "liu.spc")
        rows = clerk.locator("table.docs tbody tr")
        assert [r.get_attribute("data-doc") for r in rows.all()] == [str(a), str(e), str(d), str(draft)]
        assert rows.nth(0).get_attribute("class") == "overdue"
        expect(rows.nth(0)).to_contain_text("逾期满 2 个工作日")
        expect(rows.nth(0)).to_contain_text("督办")
        assert rows.nth(1).get_attribute("class") == "due-today"
        expect(rows.nth(1)).to_contain_text("今天到期")
        expect(rows.nth(2)).to_contain_text("剩 1 个工作日")
        expect(rows.nth(3)).to_contain_text("缺少解读方案")
        expect(rows.nth(3)).to_contain_text("已标记需要舆情风险评估,但缺少风险评估")
        expect(rows.nth(0)).to_contain_text("解读材料尚未在门户网站发布")
        shots(clerk, "08-documents-clerk")
        phone = sign_in(browser, env, "liu.spc", viewport=PHONE)
        expect(phone.locator("table.docs thead")).not_to_be_in_viewport()
        shots(phone, "13-documents-phone")
        # Keyboard: the first Tab reaches the skip link, which leads to the content.
        phone.keyboard.press("Tab")
        assert phone.evaluate("document.activeElement.className") == "skip"
        for page in (phone, clerk, boss):
            page.context.close()
    assert len(shots.taken) == 5
