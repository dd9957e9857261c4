"""On time judged on the system's clock, on SQLite and PostgreSQL (states/claims.py).

The issue's drills: postings recorded seventeen days after publication, claimed for the day
after it, are not on time until a supervisor confirms them; a publication claimed two years
back is refused unless said to be backdated. A confirmation turns the claim into the result.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from notifications.content import content_of
from tests.conftest import shanghai
from tests.factories import CLERK, seed_bureau, to_published, to_signed
from workflow.kernel.errors import Forbidden, Refused
from workflow.kernel.models import AuditEvent, OutboxMessage
from workflow.kernel.settings import Settings
from workflow.services.claims import claims_awaiting, document_claims
from workflow.services.documents import Workflow

SUPERVISOR = "zheng.gk"  # 信息公开办, a supervisor outside the drafting unit
URL = "https://jtj.fuzhou.example.cn/zcwj/1.htm"


@pytest.fixture
def wf(db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    return Workflow(db, clock, settings)


def codes(error: Exception) -> set[str]:
    return {r.code for r in error.reasons}  # type: ignore[attr-defined]


def post_both(wf: Workflow, doc: int, at) -> None:  # type: ignore[no-untyped-def]
    wf.record_posting(
        CLERK, doc, channel="portal", url="https://jtj.fuzhou.example.cn/jd/1.htm", posted_at=at
    )
    wf.record_posting(CLERK, doc, channel="news_media", outlet="福州日报", evidence="第3版", posted_at=at)


def test_postings_claimed_seventeen_days_back_are_not_on_time_until_confirmed(
    wf: Workflow, clock, db
) -> None:  # type: ignore[no-untyped-def]
    clock.set(shanghai(2024, 3, 4, 10, 0))  # Monday
    doc = to_published(wf)
    clock.set(shanghai(2024, 3, 21, 16, 0))  # seventeen days later
    post_both(wf, doc, shanghai(2024, 3, 5, 10, 0))  # "the day after publication"
    view = wf.read_document(CLERK, doc)
    assert view.state == "interpretation_posted"
    # Due Thu 7 Mar; recorded Thu 21 16:00: Fri 8, Mon 11–Fri 15, Mon 18–Wed 20 have passed = 9.
    assert view.on_time is False and view.working_days_late == 9
    assert view.claims_waiting == 2
    for p in view.postings:
        assert p.claimed_at == shanghai(2024, 3, 5, 10, 0)
        assert p.recorded_at == shanghai(2024, 3, 21, 16, 0)
        assert p.counted_at == p.recorded_at and p.awaiting_confirmation and p.confirmed_by is None
    with db.transaction() as s:
        late_mail = s.scalars(select(OutboxMessage).where(OutboxMessage.event == "posted_late")).one()
        waiting = claims_awaiting(s, timedelta(hours=24))
    assert "2 项发布时间为事后补录" in content_of(late_mail, Settings()).text  # the claims wait
    assert [(w["document_id"], w["what"]) for w in waiting] == [(doc, "portal"), (doc, "news_media")]

    wf.confirm(SUPERVISOR, doc, what="portal", reason="门户网站后台日志显示3月5日已发布")
    assert wf.read_document(CLERK, doc).on_time is False  # the news media still counts as recorded
    out = wf.confirm(SUPERVISOR, doc, what="news_media", reason="福州日报3月5日第3版原件已核")
    assert out.details["result_after"]["on_time"] is True
    view = wf.read_document(CLERK, doc)
    assert view.on_time is True and view.working_days_taken == 1 and view.claims_waiting == 0
    assert {p.confirmed_by for p in view.postings} == {SUPERVISOR}
    with db.transaction() as s:
        facts = document_claims(s, [doc], timedelta(hours=24))[doc]
    assert facts["claims_waiting"] == 0 and facts["postings"][0]["confirm_reason"].startswith("门户网站")


def test_a_claim_within_the_grace_window_counts_as_it_is(wf: Workflow, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(shanghai(2024, 3, 4, 10, 0))
    doc = to_published(wf)
    clock.set(shanghai(2024, 3, 6, 9, 0))
    post_both(wf, doc, shanghai(2024, 3, 5, 10, 0))  # 23 hours before it was recorded
    view = wf.read_document(CLERK, doc)
    assert view.on_time is True and view.claims_waiting == 0
    assert all(p.counted_at == p.claimed_at for p in view.postings)


def test_the_grace_window_is_a_setting(db, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    wf = Workflow(db, clock, Settings(database_url=db.url, mail_folder=tmp_path / "m", claim_grace_hours=1))
    clock.set(shanghai(2024, 3, 4, 10, 0))
    doc = to_published(wf)
    clock.set(shanghai(2024, 3, 11, 9, 0))  # Monday after: day 5 by the clock
    post_both(wf, doc, shanghai(2024, 3, 7, 10, 0))  # claimed day 3
    assert wf.read_document(CLERK, doc).on_time is False


def test_a_publication_claimed_two_years_back_needs_backdated(wf: Workflow, clock, db) -> None:  # type: ignore[no-untyped-def]
    clock.set(shanghai(2024, 3, 4, 10, 0))
    doc = to_signed(wf)
    two_years = shanghai(2022, 3, 4, 10, 0)
    with pytest.raises(Refused) as err:
        wf.fire(CLERK, doc, "publish", publication_url=URL, published_at=two_years)
    assert codes(err.value) == {"publication_backdated"}
    assert "--backdated" in err.value.message("en")
    assert wf.read_document(CLERK, doc).state == "joint_signoff"
    # A claim within the window needs nothing.
    out = wf.fire(CLERK, doc, "publish", publication_url=URL, published_at=shanghai(2024, 3, 3, 12, 0))
    assert out.details["recorded_at"] == shanghai(2024, 3, 4, 10, 0) and out.details["backdated"] is False


def test_a_backdated_publication_is_recorded_and_awaits_confirmation(wf: Workflow, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(shanghai(2024, 3, 4, 10, 0))
    doc = to_signed(wf)
    claimed = shanghai(2024, 2, 26, 10, 0)
    wf.fire(CLERK, doc, "publish", publication_url=URL, published_at=claimed, backdated=True)
    view = wf.read_document(CLERK, doc)
    assert view.published_at == claimed
    assert view.publication.recorded_at == shanghai(2024, 3, 4, 10, 0)
    assert view.publication.backdated and view.publication.awaiting_confirmation
    assert view.claims_waiting == 1
    # The deadline runs from the claim: an earlier publication only makes it stricter.
    assert view.due_at.astimezone(shanghai(2024, 1, 1).tzinfo).date().isoformat() == "2024-02-29"
    wf.confirm(SUPERVISOR, doc, what="publication", reason="门户网站发布记录")
    view = wf.read_document(CLERK, doc)
    assert view.publication.confirmed_by == SUPERVISOR and not view.publication.awaiting_confirmation


def test_who_may_confirm(wf: Workflow, clock, db) -> None:  # type: ignore[no-untyped-def]
    clock.set(shanghai(2024, 3, 4, 10, 0))
    doc = to_published(wf)
    clock.set(shanghai(2024, 3, 8, 10, 0))
    wf.record_posting(
        CLERK, doc, channel="portal", url="https://p.example.cn/1", posted_at=shanghai(2024, 3, 5, 10, 0)
    )
    with pytest.raises(Forbidden) as err:
        wf.confirm(CLERK, doc, what="portal", reason="我确认")
    assert codes(err.value) == {"not_supervisor", "confirmer_in_unit"}
    with pytest.raises(Forbidden) as err:
        wf.confirm("director", doc, what="portal", reason="领导确认")
    assert codes(err.value) == {"not_supervisor"}
    with pytest.raises(Refused) as err:
        wf.confirm(SUPERVISOR, doc, what="news_media", reason="无")
    assert codes(err.value) == {"no_claim_waiting"}
    with pytest.raises(Refused) as err:
        wf.confirm(SUPERVISOR, doc, what="publication", reason="无")
    assert codes(err.value) == {"no_claim_waiting"}
    wf.confirm(SUPERVISOR, doc, what="portal", reason="后台日志")
    with db.transaction() as s:
        trail = [
            (e.action, e.outcome, e.actor)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.document_id == doc, AuditEvent.action == "confirm")
                .order_by(AuditEvent.seq)
            )
        ]
    assert trail == [
        ("confirm", "refused", CLERK),
        ("confirm", "refused", "director"),
        ("confirm", "refused", SUPERVISOR),
        ("confirm", "refused", SUPERVISOR),
        ("confirm", "allowed", SUPERVISOR),
    ]


def test_ledger_and_on_time_report_show_claims_confirmations_and_corrections(
    wf: Workflow, clock, db, settings
) -> None:  # type: ignore[no-untyped-def]
    """Issue 14, item 5: the ledger (台账) and the on-time report show the claimed and recorded
    instants, the claims still waiting, who confirmed them and the corrections — as of the
    report's instant (a later confirmation or correction is not counted yet)."""
    from workflow.kernel.export import to_csv
    from workflow.services.reports import Reports

    reports = Reports(db, clock, settings)
    clock.set(shanghai(2024, 3, 4, 10, 0))  # Monday
    waiting = to_published(wf)
    confirmed = to_published(wf)
    clock.set(shanghai(2024, 3, 21, 16, 0))  # seventeen days later, both claimed for the next day
    post_both(wf, waiting, shanghai(2024, 3, 5, 10, 0))
    post_both(wf, confirmed, shanghai(2024, 3, 5, 10, 0))
    clock.set(shanghai(2024, 3, 22, 9, 0))
    wf.confirm(SUPERVISOR, confirmed, what="portal", reason="门户网站后台日志")
    wf.confirm(SUPERVISOR, confirmed, what="news_media", reason="福州日报原件")
    clock.set(shanghai(2024, 3, 25, 9, 0))
    clean = to_published(wf)  # posted at once, then a URL corrected
    post_both(wf, clean, shanghai(2024, 3, 25, 9, 0))
    wf.correct(CLERK, clean, what="portal", reason="网址写错", url="https://jtj.fuzhou.example.cn/jd/2.htm")
    clock.set(shanghai(2024, 3, 26, 9, 0))

    ledger = {r["document_id"]: r for r in reports.ledger(SUPERVISOR, period="2024-03").rows}
    w, c, k = ledger[waiting], ledger[confirmed], ledger[clean]
    assert w["published_recorded_at"] == shanghai(2024, 3, 4, 10, 0)
    assert (w["posted_claimed_at"], w["posted_recorded_at"], w["posted_at"]) == (
        shanghai(2024, 3, 5, 10, 0),
        shanghai(2024, 3, 21, 16, 0),
        shanghai(2024, 3, 21, 16, 0),
    )
    assert (w["status"], w["claims_waiting"], w["confirmed_by"], w["corrections"]) == ("late", 2, [], 0)
    assert (c["status"], c["claims_waiting"], c["confirmed_by"]) == ("on_time", 0, [SUPERVISOR])
    assert c["posted_at"] == c["posted_claimed_at"] == shanghai(2024, 3, 5, 10, 0)
    assert (k["status"], k["claims_waiting"], k["corrections"], k["corrected_by"]) == (
        "on_time",
        0,
        1,
        [CLERK],
    )
    header, *rows = to_csv(reports.ledger(SUPERVISOR, period="2024-03"), "zh").lstrip("\ufeff").splitlines()
    assert header.endswith(
        "公开登记时间,解读发布完成(所称),解读发布登记时间,待确认的补录时间,补录时间确认人,更正次数,更正人,"
        "时钟被指定时登记,同文号的其他文件,网页核验"
    )  # the seven claim columns, the clock-override and shared-number columns, then the evidence column last (docs/reports.md)
    assert rows[0].endswith(
        "2024-03-04 10:00,2024-03-05 10:00,2024-03-21 16:00,2,,0,,,"
        f"{confirmed}；{clean},"  # the factory gives each of them the same 文号
        "政策文件页面：待核验；门户网站：待核验；新闻媒体：无网址未核验"
    )

    (spc,) = [r for r in reports.on_time(SUPERVISOR, period="2024-03").rows if r["unit"] == "spc"]
    assert (spc["on_time"], spc["late"]) == (2, 1)
    assert (spc["claims_waiting"], spc["claims_confirmed"], spc["corrected"]) == (1, 1, 1)

    # As of the day the postings were recorded: nothing confirmed or corrected yet.
    before = reports.on_time(SUPERVISOR, period="2024-03", now=shanghai(2024, 3, 21, 17, 0))
    assert (
        before.totals["claims_waiting"],
        before.totals["claims_confirmed"],
        before.totals["corrected"],
    ) == (2, 0, 0)
    then = {
        r["document_id"]: r
        for r in reports.ledger(SUPERVISOR, period="2024-03", now=shanghai(2024, 3, 21, 17, 0)).rows
    }
    assert (then[confirmed]["claims_waiting"], then[confirmed]["confirmed_by"]) == (2, [])
