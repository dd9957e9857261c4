"""A completed document's working days taken and late, as a reader sees them, are the reports'
figures: counted on the calendar by the one definition (states/deadline.py), not the columns
stored at completion, which a later calendar correction or a count made before that
definition leaves behind. Two figures for one fact is what a supervisor must never see."""

from __future__ import annotations

from sqlalchemy import update

from tests.conftest import shanghai
from tests.factories import CLERK, seed_bureau, to_published
from workflow.kernel.db import Database
from workflow.kernel.models import Document
from workflow.services.documents import Workflow
from workflow.services.reports import Reports

SUPERVISOR = "zheng.gk"  # 信息公开办


def test_the_document_view_counts_as_the_late_report_does(db: Database, clock, settings) -> None:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    wf = Workflow(db, clock, settings)
    clock.set(shanghai(2024, 2, 9, 10, 0))  # due Tue 2024-02-20 (Spring Festival, make-up Sun 18)
    doc = to_published(wf)
    clock.set(shanghai(2024, 2, 23, 15, 0))  # Fri: Wed 21 and Thu 22 have fully passed
    wf.record_posting(CLERK, doc, channel="portal", url="https://jtj.fuzhou.example.cn/jd/1.htm")
    wf.record_posting(CLERK, doc, channel="news_media", outlet="福州日报", evidence="2024-02-23 第3版")
    (row,) = [
        r
        for r in Reports(db, clock, settings).late(SUPERVISOR, period="2024").rows
        if r["document_id"] == doc
    ]
    view = wf.read_document(SUPERVISOR, doc)
    assert view.on_time is False
    assert (view.working_days_late, view.working_days_taken) == (
        row["working_days_late"],
        row["working_days_taken"],
    )
    assert view.working_days_late == 2

    # What a count stored under another definition (or before a calendar correction) left:
    with db.transaction() as session:
        session.execute(
            update(Document).where(Document.id == doc).values(working_days_late=3, working_days_taken=11)
        )
    view = wf.read_document(SUPERVISOR, doc)
    assert (view.working_days_late, view.working_days_taken) == (
        row["working_days_late"],
        row["working_days_taken"],
    )
