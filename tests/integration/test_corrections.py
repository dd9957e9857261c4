"""Audited corrections of the published record, on SQLite and PostgreSQL, across the 2024
Spring Festival holiday (10–17 Feb; Sun 4 and Sun 18 Feb were make-up working days).

A correction keeps the original values in the trail; the deadline is recomputed on the working-
day calendar, the ladder's hint is reset so the sweep fires what the new deadline makes due, and
the on-time result and the reports follow. A correction that favours the drafting unit (an
earlier posting, a later publication) is a supervisor's to make.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import shanghai
from tests.factories import CLERK, seed_bureau, to_published
from workflow.kernel import audit
from workflow.kernel.errors import Forbidden, InvalidInput, Refused
from workflow.kernel.models import AuditEvent
from workflow.services.documents import Workflow
from workflow.services.reports import Reports
from workflow.services.sweep import sweep

SUPERVISOR = "zheng.gk"  # 信息公开办
PORTAL, MEDIA = "https://jtj.fuzhou.example.cn/jd/1.htm", "https://fzrb.example.cn/1.htm"


@pytest.fixture
def wf(db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    return Workflow(db, clock, settings)


def local_day(instant) -> str:  # type: ignore[no-untyped-def]
    return instant.astimezone(shanghai(2024, 1, 1).tzinfo).strftime("%Y-%m-%d %H:%M:%S")


def codes(error: Exception) -> set[str]:
    return {r.code for r in error.reasons}  # type: ignore[attr-defined]


def posted_on_time(wf: Workflow, clock) -> int:  # type: ignore[no-untyped-def]
    """Published Fri 9 Feb 2024 (due Tue 20 Feb), posted Tue 20 Feb: on time."""
    clock.set(shanghai(2024, 2, 9, 10, 0))
    doc = to_published(wf)
    clock.set(shanghai(2024, 2, 20, 10, 0))
    wf.record_posting(CLERK, doc, channel="portal", url=PORTAL)
    wf.record_posting(CLERK, doc, channel="news_media", outlet="福州日报", url=MEDIA)
    view = wf.read_document(CLERK, doc)
    assert view.on_time is True and local_day(view.due_at) == "2024-02-20 23:59:59"
    return doc


def test_an_earlier_publication_recomputes_the_deadline_across_the_holiday(
    wf: Workflow, clock, db, settings
) -> None:  # type: ignore[no-untyped-def]
    doc = posted_on_time(wf, clock)
    clock.set(shanghai(2024, 2, 21, 9, 0))
    out = wf.correct(
        CLERK,
        doc,
        what="publication",
        at=shanghai(2024, 2, 8, 10, 0),
        reason="核对门户网站发布日志,实际为2月8日公开",
    )
    # Thu 8 Feb: day 1 Fri 9, the holiday, Sun 18 (make-up) day 2, Mon 19 day 3.
    assert local_day(out.details["after"]["due_at"]) == "2024-02-19 23:59:59"
    assert local_day(out.details["before"]["due_at"]) == "2024-02-20 23:59:59"
    assert out.details["favourable"] is False
    view = wf.read_document(CLERK, doc)
    # Posted Tue 20 10:00, now due Mon 19: late, but Tue 20 was not over → 0 (less than 1).
    assert view.on_time is False and view.working_days_late == 0
    assert view.published_at == shanghai(2024, 2, 8, 10, 0)
    (fix,) = view.corrections
    assert fix.by == CLERK and fix.what == "publication" and fix.reason.startswith("核对")
    assert fix.before["published_at"].startswith("2024-02-09T02:00")  # the original stays in the trail
    # The on-time report follows: spc has one document, now late.
    rows = {r["unit"]: r for r in Reports(db, clock, settings).on_time(SUPERVISOR, period="2024").rows}
    assert (rows["spc"]["on_time"], rows["spc"]["late"]) == (0, 1)

    # An earlier posting favours the unit: the clerk may not make it, a supervisor may.
    with pytest.raises(Forbidden) as err:
        wf.correct(CLERK, doc, what="portal", at=shanghai(2024, 2, 19, 10, 0), reason="实际19日已发布")
    assert codes(err.value) == {"correction_needs_supervisor", "not_supervisor", "confirmer_in_unit"}
    wf.correct(SUPERVISOR, doc, what="portal", at=shanghai(2024, 2, 19, 10, 0), reason="门户网站日志")
    out = wf.correct(SUPERVISOR, doc, what="news_media", at=shanghai(2024, 2, 19, 10, 0), reason="报纸原件")
    assert out.details["favourable"] is True and out.details["result_after"]["on_time"] is True
    view = wf.read_document(CLERK, doc)
    assert view.on_time is True and len(view.corrections) == 3
    assert {p.confirmed_by for p in view.postings} == {SUPERVISOR}
    rows = {r["unit"]: r for r in Reports(db, clock, settings).on_time(SUPERVISOR, period="2024").rows}
    assert (rows["spc"]["on_time"], rows["spc"]["late"]) == (1, 0)
    with db.transaction() as s:
        trail = [
            (e.action, e.outcome, e.actor)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.document_id == doc, AuditEvent.action == "correct")
                .order_by(AuditEvent.seq)
            )
        ]
    assert trail == [
        ("correct", "allowed", CLERK),
        ("correct", "refused", CLERK),
        ("correct", "allowed", SUPERVISOR),
        ("correct", "allowed", SUPERVISOR),
    ]


def test_a_later_publication_is_a_supervisors_correction(wf: Workflow, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(shanghai(2024, 2, 9, 10, 0))
    doc = to_published(wf)
    clock.set(shanghai(2024, 2, 19, 9, 0))
    with pytest.raises(Forbidden) as err:
        wf.correct(CLERK, doc, what="publication", at=shanghai(2024, 2, 18, 9, 0), reason="实际18日公开")
    assert "correction_needs_supervisor" in codes(err.value)
    out = wf.correct(SUPERVISOR, doc, what="publication", at=shanghai(2024, 2, 18, 9, 0), reason="核实为18日")
    # Sun 18 Feb is a make-up working day, but day 1 is the first working day after it: Mon 19.
    assert local_day(out.details["after"]["due_at"]) == "2024-02-21 23:59:59"
    assert wf.read_document(CLERK, doc).publication.confirmed_by == SUPERVISOR


def test_the_ladder_follows_a_corrected_deadline(wf: Workflow, clock, db, settings) -> None:  # type: ignore[no-untyped-def]
    clock.set(shanghai(2024, 2, 19, 10, 0))
    doc = to_published(wf)  # Mon 19 Feb: due Thu 22 Feb
    clock.set(shanghai(2024, 2, 20, 10, 0))
    assert [f.level for f in sweep(db, clock, settings).fired] == []
    wf.correct(CLERK, doc, what="publication", at=shanghai(2024, 2, 8, 10, 0), reason="实际为2月8日公开")
    assert local_day(wf.read_document(CLERK, doc).due_at) == "2024-02-19 23:59:59"
    fired = sweep(db, clock, settings).fired
    assert [(f.document_id, f.level) for f in fired] == [(doc, "reminder"), (doc, "overdue")]


def test_urls_and_outlets_are_corrected_by_the_unit_with_the_original_kept(wf: Workflow, clock, db) -> None:  # type: ignore[no-untyped-def]
    doc = posted_on_time(wf, clock)
    wf.correct(
        CLERK, doc, what="publication", url="https://jtj.fuzhou.example.cn/zcwj/2.htm", reason="网址写错"
    )
    wf.correct(CLERK, doc, what="news_media", outlet="福建日报", reason="媒体名称写错")
    view = wf.read_document(CLERK, doc)
    assert view.publication_url.endswith("/2.htm") and view.postings[1].outlet == "福建日报"
    assert view.on_time is True
    first, second = view.corrections
    assert first.before["publication_url"].endswith("/1.htm") and second.before["outlet"] == "福州日报"
    # Refusals: nothing changed, someone outside the unit who is no supervisor, a future instant.
    with pytest.raises(Refused) as err:
        wf.correct(CLERK, doc, what="news_media", outlet="福建日报", reason="再改一次")
    assert codes(err.value) == {"nothing_corrected"}
    with pytest.raises(Forbidden) as err:
        wf.correct("xu.kxc", doc, what="portal", url="https://x.example.cn/", reason="别的处室")
    assert codes(err.value) == {"not_corrector"}
    with pytest.raises(InvalidInput):
        wf.correct(CLERK, doc, what="portal", at=shanghai(2024, 3, 1, 10, 0), reason="未来")
    with pytest.raises(InvalidInput):
        wf.correct(CLERK, doc, what="portal", reason="什么都没给")


def test_corrections_need_a_publication_and_a_reason(wf: Workflow, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import to_signed

    doc = to_signed(wf)
    with pytest.raises(Refused) as err:
        wf.correct(CLERK, doc, what="publication", url="https://x.example.cn/", reason="还没公开")
    assert codes(err.value) == {"wrong_state"}
    with pytest.raises(InvalidInput):
        wf.correct(CLERK, doc, what="publication", url="https://x.example.cn/", reason="  ")
    with pytest.raises(InvalidInput):
        wf.correct(CLERK, doc, what="elsewhere", url="https://x.example.cn/", reason="x")


def test_verify_replays_confirmations_and_corrections(wf: Workflow, clock, db) -> None:  # type: ignore[no-untyped-def]
    """``audit verify`` replays each document from its chain (workflow/kernel/audit_replay.py):
    after claims confirmed and facts corrected, the document still agrees with its chain; a
    direct UPDATE of ``documents.on_time`` is named, with the event the verdict comes from."""
    from sqlalchemy import text

    from workflow.kernel.audit_verify import VerifyOptions, verify

    def check() -> list:  # type: ignore[type-arg]
        with db.snapshot() as s:
            return verify(s, VerifyOptions(keyring=audit.current_keyring())).breaks

    clock.set(shanghai(2024, 3, 4, 10, 0))  # Monday
    doc = to_published(wf)
    clock.set(shanghai(2024, 3, 21, 16, 0))  # seventeen days later: both claims await confirmation
    claimed = shanghai(2024, 3, 5, 10, 0)
    wf.record_posting(CLERK, doc, channel="portal", url=PORTAL, posted_at=claimed)
    wf.record_posting(CLERK, doc, channel="news_media", outlet="福州日报", url=MEDIA, posted_at=claimed)
    assert wf.read_document(CLERK, doc).on_time is False
    wf.confirm(SUPERVISOR, doc, what="portal", reason="门户网站后台日志")
    out = wf.confirm(SUPERVISOR, doc, what="news_media", reason="福州日报原件")
    assert out.details["result_after"]["on_time"] is True
    assert check() == []

    clock.set(shanghai(2024, 3, 22, 9, 0))
    # The news media posting really went out on Fri 8 Mar: later, so late (the unit may say so).
    out = wf.correct(CLERK, doc, what="news_media", at=shanghai(2024, 3, 8, 10, 0), reason="见报日期核对有误")
    assert out.details["result_after"]["on_time"] is False
    # The policy was public on Fri 1 Mar: an earlier publication, a new deadline, still late.
    out = wf.correct(
        CLERK, doc, what="publication", at=shanghai(2024, 3, 1, 10, 0), reason="门户网站发布日志"
    )
    assert out.details["after"]["due_at"] != out.details["before"]["due_at"]
    view = wf.read_document(CLERK, doc)
    assert view.on_time is False and view.postings[1].posted_at == shanghai(2024, 3, 8, 10, 0)
    assert check() == []

    with db.engine.begin() as conn:
        conn.execute(text("UPDATE documents SET on_time = :t WHERE id = :d"), {"t": True, "d": doc})
    (finding,) = check()
    with db.transaction() as s:
        last_correct = max(
            s.scalars(
                select(AuditEvent.seq).where(AuditEvent.document_id == doc, AuditEvent.action == "correct")
            )
        )
    assert finding.chain == f"doc:{doc}" and finding.seq == last_correct
    assert f"documents.on_time is True but the chain's correct at seq {last_correct} recorded False" in (
        finding.problem
    )
