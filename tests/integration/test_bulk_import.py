"""Importing documents in progress (.xlsx, .csv in UTF-8 or GBK): validated whole, all or
nothing, each chain starting with an ``imported`` event, the engine taking over (deadline,
sweep, signatures, further commands). SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from tests.conftest import shanghai
from tests.factories import make_workflow, seed_bureau
from workflow.kernel.audit import verify
from workflow.kernel.errors import Forbidden, InvalidInput
from workflow.kernel.models import AuditEvent, Document, Escalation
from workflow.kernel.models.outbox import OutboxMessage
from workflow.services.documents import Workflow
from workflow.services.sweep import sweep

NOW = shanghai(2024, 2, 20, 12, 0)
HEADER = [
    "标题",
    "文号",
    "单位代码",
    "状态",
    "公开属性",
    "需舆情风险评估",
    "正文",
    "解读方案",
    "解读人",
    "解读材料",
    "审签人",
    "已签署",
    "公开时间",
    "公开网址",
    "门户网站发布时间",
    "门户网站网址",
    "新闻媒体发布时间",
    "新闻媒体名称",
    "新闻媒体证明",
    "撤回或归档理由",
]
ROWS = [
    [
        "福州市停车场管理办法(草稿)",
        "",
        "spc",
        "起草",
        "",
        "",
        "第一条 …",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "福州市网约车管理办法",
        "榕交〔2024〕21号",
        "spc",
        "解读方案",
        "主动公开",
        "否",
        "第一条 …",
        "解读方案:背景",
        "liu.spc",
        "图解:一图读懂",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "福州市出租汽车管理办法",
        "榕交〔2024〕22号",
        "spc",
        "同步审签",
        "主动公开",
        "否",
        "第一条 …",
        "解读方案",
        "liu.spc",
        "文字解读:解读;问答:问答",
        "chen.spc;director",
        "chen.spc",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "福州市公交管理办法",
        "榕交〔2024〕23号",
        "spc",
        "公开",
        "主动公开",
        "否",
        "第一条 …",
        "解读方案",
        "liu.spc",
        "text:解读",
        "chen.spc、director",
        "",
        "2024-02-01 10:00",
        "https://jtj.fuzhou.example.cn/zcwj/23.htm",
        "2024-02-02 09:00",
        "https://jtj.fuzhou.example.cn/jd/23.htm",
        "",
        "",
        "",
        "",
    ],
    [
        "福州市道路运输管理办法",
        "榕交〔2024〕24号",
        "spc",
        "interpretation_posted",
        "proactive",
        "no",
        "第一条 …",
        "解读方案",
        "liu.spc",
        "video:解读视频",
        "chen.spc",
        "",
        "2024-02-01T10:00+08:00",
        "https://jtj.fuzhou.example.cn/zcwj/24.htm",
        "2024-02-02 09:00",
        "https://jtj.fuzhou.example.cn/jd/24.htm",
        "2024-02-07 09:00",
        "福州日报",
        "2024-02-07 第2版",
        "",
    ],
    [
        "福州市港口管理办法",
        "榕交〔2024〕25号",
        "spc",
        "撤回",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "政策调整,不再出台",
    ],
]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture
def wf(db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    clock.set(NOW)
    return make_workflow(db, clock, settings)


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def test_every_state_imported_and_the_engine_takes_over(
    db, wf: Workflow, settings, clock, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    events_before = count(db, AuditEvent)
    report = wf.import_documents("admin", write_csv(tmp_path / "在办文件.csv", ROWS))
    assert report.by_state == {
        "draft": 1,
        "interpretation_plan": 1,
        "joint_signoff": 1,
        "published": 1,
        "interpretation_posted": 1,
        "withdrawn": 1,
    }
    _draft, _plan, signoff, published, posted, withdrawn = report.documents
    with db.transaction() as s:
        docs = {d.id: d for d in s.scalars(select(Document))}
        assert docs[published].due_at == shanghai(2024, 2, 5, 23, 59, 59)  # Sun 4 Feb was worked
        assert docs[published].next_rung_at == docs[published].published_at
        # Due Mon 5 Feb, posted Wed 7 09:00: Tue 6 has fully passed since the due day → 1 late.
        assert (docs[posted].on_time, docs[posted].working_days_taken, docs[posted].working_days_late) == (
            False,
            5,
            1,
        )
        assert docs[posted].posted_at == shanghai(2024, 2, 7, 9, 0)
        assert docs[withdrawn].closed_reason == "政策调整,不再出台"
        first = {e.document_id: e for e in s.scalars(select(AuditEvent).where(AuditEvent.seq == 1))}
    for doc in report.documents:
        event = first[doc]
        assert (event.action, event.actor, event.state_before, event.state_after) == (
            "imported",
            "admin",
            None,
            docs[doc].state,
        )
        details = json.loads(event.details)
        assert details["file"] == "在办文件.csv" and details["sha256"] == report.sha256
    assert json.loads(first[signoff].details)["signed"] == ["chen.spc"]
    assert json.loads(first[published].details)["signed"] == ["chen.spc", "director"]  # signed: it went on
    assert count(db, AuditEvent) == events_before + 7  # one per document, one for the file
    assert count(db, OutboxMessage) == 0  # the import itself emails nobody

    # The engine takes over: the signatures are on the current package, commands work.
    view = wf.read_document("chen.spc", signoff)
    assert [(s.login, s.signed) for s in view.signers] == [("chen.spc", True), ("director", False)]
    wf.sign("director", signoff)
    wf.fire("liu.spc", signoff, "publish", publication_url="https://jtj.fuzhou.example.cn/zcwj/22.htm")
    # … and the sweep escalates the overdue imported document, once per rung.
    sweep(db, clock, settings)
    sweep(db, clock, settings)
    with db.transaction() as s:
        levels = sorted(
            e.level for e in s.scalars(select(Escalation).where(Escalation.document_id == published))
        )
    assert levels == ["escalated", "escalated_high", "overdue", "reminder"]
    with db.transaction() as s:
        assert verify(s).ok


def test_xlsx_with_excel_dates_and_gbk_csv(db, wf: Workflow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    row = list(ROWS[3])
    row[12] = datetime(2024, 2, 1, 10, 0)  # an Excel date-time cell: local time
    row[14] = datetime(2024, 2, 2, 9, 0)
    report = wf.import_documents("admin", write_xlsx(tmp_path / "在办.xlsx", [row]))
    with db.transaction() as s:
        doc = s.get(Document, report.documents[0])
        assert doc.published_at == shanghai(2024, 2, 1, 10, 0)
    gbk = write_csv(tmp_path / "gbk.csv", [ROWS[1]], encoding="gbk")
    again = wf.import_documents("admin", gbk)
    with db.transaction() as s:
        assert s.get(Document, again.documents[0]).title == "福州市网约车管理办法"


def test_a_bad_row_refuses_the_whole_file_listing_every_problem(db, wf: Workflow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = [list(r) for r in ROWS]
    bad[2][3] = "已审签"  # row 4: no such state
    bad[3][13] = "jtj.fuzhou.example.cn"  # row 5: not a URL
    bad[4][10] = "chen.spc;nobody"  # row 6: no such user
    bad[1][8] = "xu.kxc"  # row 3: interpreter from another unit
    docs_before, events_before = count(db, Document), count(db, AuditEvent)
    with pytest.raises(InvalidInput) as err:
        wf.import_documents("admin", write_csv(tmp_path / "bad.csv", bad))
    fields = [r.params["field"] for r in err.value.reasons]
    assert fields == ["row 3: interpreter", "row 4: state", "row 5: publication_url", "row 6: signers"]
    assert "谁起草谁解读" in err.value.message("en")
    assert (count(db, Document), count(db, AuditEvent)) == (docs_before, events_before)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({3: "公开", 12: ""}, "row 2: published_at"),  # published without the instant
        (
            {
                3: "interpretation_posted",
                12: "2024-02-01 10:00",
                13: "https://x.example/1.htm",
                14: "2024-02-02 09:00",
                15: "https://x.example/j.htm",
                10: "chen.spc",
                9: "text:解读",
                8: "liu.spc",
                7: "方案",
                4: "主动公开",
                5: "否",
            },
            "row 2: portal_posted_at",
        ),  # posted needs news media too
        (
            {
                12: "2099-01-01 10:00",
                3: "公开",
                13: "https://x.example/1.htm",
                10: "chen.spc",
                9: "text:解读",
                8: "liu.spc",
                7: "方案",
                4: "主动公开",
                5: "否",
            },
            "row 2: published_at",
        ),  # in the future
        ({3: "同步审签", 4: "主动公开", 5: "否"}, "row 2: plan"),  # sign-off without a plan
        ({9: "动画:解读"}, "row 2: materials"),  # unknown form
    ],
)
def test_facts_a_state_requires(db, wf: Workflow, tmp_path: Path, change: dict[int, str], field: str) -> None:  # type: ignore[no-untyped-def]
    row = list(ROWS[0])
    for i, value in change.items():
        row[i] = value
    with pytest.raises(InvalidInput) as err:
        wf.import_documents("admin", write_csv(tmp_path / "one.csv", [row]))
    assert field in [r.params["field"] for r in err.value.reasons]


def test_duplicates_dry_run_rights_and_bad_files(db, wf: Workflow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "ok.csv", [ROWS[1]])
    dry = wf.import_documents("admin", path, dry_run=True)
    assert dry.dry_run and dry.documents == () and count(db, Document) == 0
    wf.import_documents("admin", path)
    with pytest.raises(InvalidInput) as err:
        wf.import_documents("admin", path)  # the same file twice
    assert err.value.reasons[0].params["problem"] == "榕交〔2024〕21号 already in the database"
    with pytest.raises(InvalidInput):
        wf.import_documents("admin", write_csv(tmp_path / "twice.csv", [ROWS[2], ROWS[2]]))
    with pytest.raises(Forbidden):
        wf.import_documents("liu.spc", write_csv(tmp_path / "clerk.csv", [ROWS[0]]))
    with db.transaction() as s:
        refused = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "documents_imported", AuditEvent.outcome == "refused"
            )
        ).all()
        assert [e.actor for e in refused] == ["liu.spc"]
    (tmp_path / "x.txt").write_text("nothing")
    for path, words in [(tmp_path / "x.txt", ".xlsx"), (tmp_path / "missing.csv", "cannot read")]:
        with pytest.raises(InvalidInput) as err:
            wf.import_documents("admin", path)
        assert words in err.value.message("en")
    (tmp_path / "cols.csv").write_text("标题,颜色\n一,红\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        wf.import_documents("admin", tmp_path / "cols.csv")
    assert "unknown column(s) 颜色" in err.value.message("en")
    (tmp_path / "latin1.csv").write_bytes("标题".encode("utf-16"))
    with pytest.raises(InvalidInput):
        wf.import_documents("admin", tmp_path / "latin1.csv")


def test_imported_documents_replay_and_audit_verify_finds_them_intact(
    db, wf: Workflow, settings, clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """``audit verify`` replays each document from its chain: an imported document's state,
    deadline, postings and verdict come from its ``imported`` event (and what followed), so the
    trail is intact after an import and after the engine takes over; an UPDATE around the
    application is still reported, naming the imported event."""
    from sqlalchemy import update
    from typer.testing import CliRunner

    from workflow.entrypoints.cli.main import app
    from workflow.kernel.audit_verify import VerifyOptions
    from workflow.kernel.audit_verify import verify as full_verify
    from workflow.kernel.models import Posting

    report = wf.import_documents("admin", write_csv(tmp_path / "在办文件.csv", ROWS))
    _draft, _plan, _signoff, published, posted, _withdrawn = report.documents
    with db.transaction() as s:
        first = s.scalars(
            select(AuditEvent).where(AuditEvent.document_id == posted, AuditEvent.seq == 1)
        ).one()
        ids = sorted(p.id for p in s.scalars(select(Posting).where(Posting.document_id == posted)))
        assert sorted(p["posting_id"] for p in json.loads(first.details)["postings"]) == ids
        # History brought in: its claims are not left waiting for a supervisor.
        assert all(p.migrated for p in s.scalars(select(Posting).where(Posting.document_id == posted)))
        found = full_verify(s, VerifyOptions(documents=True))
        assert found.ok, found.as_dict()
        assert found.documents >= len(report.documents)
    # The engine goes on from the imported facts: a posting completes the published one.
    wf.record_posting("liu.spc", published, channel="portal", url="https://jtj.fuzhou.example.cn/jd/9.htm")
    monkeypatch.setenv("SANTONGBU_ALLOW_CLOCK_OVERRIDE", "true")
    result = CliRunner().invoke(app, ["--db", db.url, "audit", "verify", "--json"])
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["ok"] is True

    with db.engine.begin() as conn:  # a verdict rewritten around the application
        conn.execute(update(Document).where(Document.id == posted).values(on_time=True))
    with db.transaction() as s:
        found = full_verify(s, VerifyOptions(documents=True))
    assert not found.ok
    problems = [b.problem for b in found.breaks if b.chain == f"doc:{posted}"]
    assert problems and "imported at seq 1" in problems[0], found.as_dict()
