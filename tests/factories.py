"""Builders for tests: the sample bureau and documents taken to a given state through the
real service (never by writing rows directly), so every fixture also exercises the rules."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings
from workflow.services.directory import Directory
from workflow.services.documents import Workflow

SAMPLE = Path(__file__).resolve().parent.parent / "workflow" / "data" / "sample_bureau.toml"
CLERK, HEAD, SIGNER2 = "liu.spc", "chen.spc", "director"
LEGALITY = "lin.zfc"  # 政法处: the legality reviewer a flagged risk assessment needs among the signers


def seed_bureau(db: Database, clock: Clock) -> Directory:
    directory = Directory(db, clock)
    directory.import_file(None, SAMPLE)
    return directory


def new_draft(
    wf: Workflow,
    *,
    clerk: str = CLERK,
    title: str = "福州市道路运输管理办法",
    risk: bool = False,
    disclosure: str = "proactive",
    number: str | None = "榕交〔2024〕1号",
) -> int:
    return wf.create_document(
        clerk,
        title=title,
        doc_number=number,
        body="第一条 …",
        # Tests make many documents from one template; the 文号 rule has tests of its own
        # (tests/integration/test_refusals.py).
        allow_duplicate_number=True,
        disclosure=disclosure,
        risk_assessment_needed=risk,
    ).document_id


def to_plan(wf: Workflow, **kw: object) -> int:
    doc = new_draft(wf, **kw)  # type: ignore[arg-type]
    wf.fire(CLERK, doc, "prepare_plan")
    return doc


def to_signoff(wf: Workflow, **kw: object) -> int:
    doc = to_plan(wf, **kw)
    wf.edit_document(CLERK, doc, {"plan": "解读方案:政策背景、主要内容、关键词解释", "interpreter": CLERK})
    wf.add_material(CLERK, doc, form="text", title="文字解读", body="一、制定背景 …")
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2])
    wf.fire(CLERK, doc, "request_signoff")
    return doc


def to_signed(wf: Workflow, **kw: object) -> int:
    doc = to_signoff(wf, **kw)
    wf.sign(HEAD, doc)
    wf.sign(SIGNER2, doc)
    return doc


def to_published(wf: Workflow, at: datetime | None = None, **kw: object) -> int:
    doc = to_signed(wf, **kw)
    wf.fire(
        CLERK, doc, "publish", publication_url="https://jtj.fuzhou.example.cn/zcwj/1.htm", published_at=at
    )
    return doc


def make_workflow(db: Database, clock: Clock, settings: Settings) -> Workflow:
    return Workflow(db, clock, settings)


PORTAL = {"channel": "portal", "url": "https://jtj.fuzhou.example.cn/jd/1.htm"}
NEWS = {"channel": "news_media", "outlet": "福州日报", "evidence": "第2版"}


def post_both(wf: Workflow, doc: int) -> None:
    """The clerk records the interpretation on both required channels, now."""
    wf.record_posting(CLERK, doc, **PORTAL)  # type: ignore[arg-type]
    wf.record_posting(CLERK, doc, **NEWS)  # type: ignore[arg-type]
