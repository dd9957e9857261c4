"""The evidence checker through its service, on SQLite and PostgreSQL, against real HTTP servers
on loopback (tests/evidence_support.py): what a run records, audits, keeps and emails, and how
re-checks flag a page that disappeared or changed (docs/evidence.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from notifications.content import content_of
from tests.conftest import shanghai
from tests.evidence_support import (
    NUMBER,
    TITLE,
    PageServer,
    Reply,
    html,
    interpretation_page,
    newspaper_page,
    page_server,
    policy_page,
)
from tests.factories import CLERK, seed_bureau, to_signed
from workflow.bootstrap import Services, bootstrap
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, EvidenceCheck
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.settings import Settings
from workflow.services.evidence.queries import unverified_postings


@pytest.fixture
def portal() -> Iterator[PageServer]:
    with page_server() as server:
        server.routes["/zcwj/1.htm"] = policy_page(server)
        server.routes["/jd/1.htm"] = interpretation_page(server)
        server.routes["/news/1.html"] = newspaper_page()
        yield server


def services_for(
    db: Database, clock: FixedClock, settings: Settings, server: PageServer, tmp_path: Path, **extra: object
) -> Services:
    settings = settings.model_copy(
        update={
            "evidence_allowed_hosts": f"127.0.0.1:{server.port}",
            "evidence_folder": tmp_path / "evidence",
            "evidence_read_timeout_seconds": 1.0,
            "evidence_total_timeout_seconds": 3.0,
            **extra,
        }
    )
    return bootstrap(settings, db=db, clock=clock)


def published_and_posted(
    svc: Services,
    clock: FixedClock,
    server: PageServer,
    *,
    portal: str = "/jd/1.htm",
    news: str | None = "/news/1.html",
) -> int:
    """A document published on Fri 2024-02-09 and posted on Mon 2024-02-19 (portal + news)."""
    seed_bureau(svc.db, clock)
    wf = svc.workflow
    clock.set(shanghai(2024, 2, 9, 10, 0))
    doc = to_signed(wf)
    wf.fire(CLERK, doc, "publish", publication_url=server.url("/zcwj/1.htm"))
    clock.set(shanghai(2024, 2, 19, 10, 30))
    wf.record_posting(
        CLERK, doc, channel="portal", url=server.url(portal), posted_at=shanghai(2024, 2, 19, 10, 0)
    )
    if news:
        wf.record_posting(
            CLERK,
            doc,
            channel="news_media",
            outlet="福州日报",
            url=server.url(news),
            posted_at=shanghai(2024, 2, 19, 9, 0),
        )
    else:
        wf.record_posting(
            CLERK,
            doc,
            channel="news_media",
            outlet="福州日报",
            evidence="2024-02-19 第2版",
            posted_at=shanghai(2024, 2, 19, 9, 0),
        )
    clock.set(shanghai(2024, 2, 19, 12, 0))
    return doc


def by_channel(run) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {c.channel: c for c in run.checked}


def test_a_portal_article_and_a_gbk_newspaper_page_are_verified_kept_and_audited(
    db: Database, clock: FixedClock, settings: Settings, portal: PageServer, tmp_path: Path
) -> None:
    svc = services_for(db, clock, settings, portal, tmp_path)
    doc = published_and_posted(svc, clock, portal)

    run = svc.evidence.check_due()

    found = by_channel(run)
    assert {c: (r.status, [x.code for x in r.reasons]) for c, r in found.items()} == {
        "publication": ("verified", []),
        "portal": ("verified", []),
        "news_media": ("verified", []),
    }
    with db.transaction() as s:
        rows = {r.channel: r for r in s.scalars(select(EvidenceCheck))}
        assert rows["portal"].page_date == "2024-02-19 10:00:00"
        assert rows["portal"].finding_map["links_to_policy"] is True
        assert rows["portal"].finding_map["links_back"] is True
        assert rows["news_media"].finding_map["charset"] == "gb18030"
        assert rows["news_media"].finding_map["names_number"] is True
        assert rows["publication"].page_date == "2024-02-09 10:00:00"  # PubDate meta, not 成文日期
        assert all(r.is_current and r.change == "first" for r in rows.values())
        # Each result is an audit event on the document's chain, with the kept page's hash.
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.document_id == doc, AuditEvent.action == "evidence_checked")
        ).all()
        assert sorted(json.loads(e.details)["sha256"] for e in events) == sorted(
            r.sha256 for r in rows.values()
        )
    # The page is kept as a WARC record named by the SHA-256 of its bytes.
    kept = svc.evidence.store.read(rows["news_media"].sha256)
    assert kept is not None and hashlib.sha256(kept.body).hexdigest() == rows["news_media"].sha256
    assert TITLE in kept.body.decode("gbk") and kept.url == portal.url("/news/1.html")
    # The document's read model carries each posting's evidence.
    view = svc.workflow.read_document(CLERK, doc).as_dict()
    evidence = {p["channel"]: p["evidence"] for p in view["postings"]}
    assert (
        evidence["portal"]["status"] == "verified" and evidence["portal"]["sha256"] == rows["portal"].sha256
    )
    assert evidence["portal"]["checked_at"] == shanghai(2024, 2, 19, 12, 0)
    assert evidence["news_media"]["reasons"] == []
    assert view["publication_evidence"]["status"] == "verified"
    # Nothing is due again until the re-check.
    assert svc.evidence.check_due().checked == []


@pytest.mark.parametrize(
    ("page", "codes"),
    [
        ("no_link", ["no_policy_link"]),
        ("no_title", ["title_not_found", "no_policy_link"]),
        ("later", ["date_later"]),
        ("no_back_link", ["no_back_link"]),
    ],
)
def test_a_portal_page_that_does_not_bear_the_claim_out_is_a_mismatch_with_its_reasons(
    sqlite_db: Database, clock: FixedClock, tmp_path: Path, portal: PageServer, page: str, codes: list[str]
) -> None:
    settings = Settings(database_url=sqlite_db.url, mail_folder=tmp_path / "mail")
    svc = services_for(sqlite_db, clock, settings, portal, tmp_path)
    portal.routes["/jd/1.htm"] = {
        "no_link": interpretation_page(portal, link=False),
        "no_title": html(
            "<html><head><title>通知公告</title></head><body><p>发布时间:2024-02-19</p>"
            "<p>近日,我局召开会议……</p></body></html>"
        ),
        "later": interpretation_page(portal, posted="2024-02-21 09:00"),
        "no_back_link": interpretation_page(portal),
    }[page]
    if page == "no_back_link":
        portal.routes["/zcwj/1.htm"] = policy_page(portal, back_to=None)
    doc = published_and_posted(svc, clock, portal, news=None)

    found = by_channel(svc.evidence.check_due())

    assert found["portal"].status == "mismatch"
    assert [r.code for r in found["portal"].reasons] == codes
    assert "news_media" not in found  # no URL: nothing to fetch
    view = svc.workflow.read_document(CLERK, doc).as_dict()
    evidence = {p["channel"]: p["evidence"] for p in view["postings"]}
    assert (
        evidence["news_media"]["status"] == "unchecked"
        and evidence["news_media"]["note"] == "2024-02-19 第2版"
    )
    assert [r["code"] for r in evidence["portal"]["reasons"]] == codes
    assert all(r["message"] for r in evidence["portal"]["reasons"])


def test_an_unreachable_page_is_retried_with_backoff_then_emails_its_unit_once_after_a_day(
    db: Database, clock: FixedClock, settings: Settings, portal: PageServer, tmp_path: Path
) -> None:
    svc = services_for(
        db,
        clock,
        settings,
        portal,
        tmp_path,
        evidence_retry_base_seconds=900,
        evidence_retry_max_seconds=4 * 3600,
        evidence_retry_days=2,
    )
    doc = published_and_posted(svc, clock, portal, portal="/jd/missing.htm")

    first = by_channel(svc.evidence.check_due())["portal"]
    assert first.status == "unreachable" and [r.code for r in first.reasons] == ["http_status"]
    assert first.reasons[0].params == {"status": 404}
    steps = []
    for _ in range(8):  # follow the schedule: 15 min, 30 min, 1 h, 2 h, 4 h (capped), …
        with db.transaction() as s:
            row = s.scalars(
                select(EvidenceCheck).where(
                    EvidenceCheck.channel == "portal", EvidenceCheck.is_current.is_(True)
                )
            ).one()
        steps.append(row.next_check_at - row.checked_at)
        clock.set(row.next_check_at)
        assert [c.channel for c in svc.evidence.check_due().checked] == ["portal"]
    assert steps[:6] == [
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=4),
    ]
    clock.set(shanghai(2024, 2, 20, 12, 0))  # a day after the first failure
    run = svc.evidence.check_due()
    assert [len(c.emails) for c in run.checked] == [1]
    for _ in range(3):
        with db.transaction() as s:
            nxt = s.scalar(
                select(EvidenceCheck.next_check_at).where(
                    EvidenceCheck.channel == "portal", EvidenceCheck.is_current.is_(True)
                )
            )
        clock.set(nxt)
        assert all(not c.emails for c in svc.evidence.check_due().checked)
    with db.transaction() as s:
        mails = s.scalars(select(OutboxMessage).where(OutboxMessage.event == "evidence_problem")).all()
        assert len(mails) == 1 and mails[0].document_id == doc
        mail = content_of(mails[0], settings)
        assert "解读网页异常" in mail.subject and "HTTP 404" in mail.text
        assert mails[0].to_list[0]["address"]  # the drafting unit's mailbox
        # Past the retry window: given up, looked at again only at the re-check interval.
        clock.set(shanghai(2024, 2, 21, 12, 30))
    svc.evidence.check_due()
    with db.transaction() as s:
        row = s.scalars(
            select(EvidenceCheck).where(EvidenceCheck.channel == "portal", EvidenceCheck.is_current.is_(True))
        ).one()
        assert row.finding_map["given_up"] is True
        assert row.next_check_at - row.checked_at == timedelta(days=7)


def test_a_page_removed_after_verification_is_flagged_on_recheck(
    db: Database, clock: FixedClock, settings: Settings, portal: PageServer, tmp_path: Path
) -> None:
    svc = services_for(db, clock, settings, portal, tmp_path)
    doc = published_and_posted(svc, clock, portal)
    assert by_channel(svc.evidence.check_due())["portal"].status == "verified"

    del portal.routes["/jd/1.htm"]  # taken down after the inspection
    portal.routes["/news/1.html"] = newspaper_page(date="2024-02-19")
    portal.routes["/news/1.html"].body += "<!-- 浏览次数 2048 -->".encode("gbk")
    clock.set(shanghai(2024, 2, 26, 12, 0))  # seven days later: the re-check
    found = by_channel(svc.evidence.check_due())

    assert found["portal"].status == "unreachable" and found["portal"].change == "disappeared"
    assert [r.code for r in found["portal"].reasons] == ["disappeared", "http_status"]
    assert found["news_media"].status == "verified" and found["news_media"].change == "changed"
    assert found["publication"].change == "same"
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceCheck)) == 6
        assert (
            s.scalar(
                select(func.count()).select_from(EvidenceCheck).where(EvidenceCheck.is_current.is_(True))
            )
            == 3
        )
        flagged = [
            json.loads(e.details)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.document_id == doc, AuditEvent.action == "evidence_checked")
                .order_by(AuditEvent.seq)
            )
        ]
        assert [d["change"] for d in flagged[-3:]].count("disappeared") == 1
    with db.transaction() as s:
        dash_count, rows = unverified_postings(s, "zh")
    assert dash_count == 1 and rows[0]["channel"] == "portal" and rows[0]["status"] == "unreachable"


def test_a_corrected_url_is_checked_at_once(
    db: Database, clock: FixedClock, settings: Settings, portal: PageServer, tmp_path: Path
) -> None:
    """A posting's URL corrected after its check (doc correct) is due at the next run, not at
    the re-check a week later: the check on record is of the old address."""
    svc = services_for(db, clock, settings, portal, tmp_path)
    doc = published_and_posted(svc, clock, portal)
    assert by_channel(svc.evidence.check_due())["portal"].status == "verified"
    portal.routes["/jd/2.htm"] = interpretation_page(portal)
    clock.set(shanghai(2024, 2, 19, 14, 0))
    svc.workflow.correct(CLERK, doc, what="portal", url=portal.url("/jd/2.htm"), reason="网址写错")

    run = svc.evidence.check_due()
    # Only the corrected page; the policy page, as kept at its check, still links the old address.
    assert [(c.channel, c.url, c.status, [r.code for r in c.reasons]) for c in run.checked] == [
        ("portal", portal.url("/jd/2.htm"), "mismatch", ["no_back_link"])
    ]
    view = svc.workflow.read_document(CLERK, doc)
    assert view.postings[0].evidence.url == portal.url("/jd/2.htm")
    assert svc.evidence.check_due().checked == []


def test_a_number_written_with_other_brackets_still_names_the_document(
    sqlite_db: Database, clock: FixedClock, tmp_path: Path, portal: PageServer
) -> None:
    settings = Settings(database_url=sqlite_db.url, mail_folder=tmp_path / "mail")
    svc = services_for(sqlite_db, clock, settings, portal, tmp_path)
    portal.routes["/news/1.html"] = html(
        "<html><head><title>交通新规</title></head><body><p>发布日期:2024年2月19日</p>"
        f"<p>近日,{NUMBER.replace('〔', '[').replace('〕', ']')}印发……</p></body></html>"
    )
    published_and_posted(svc, clock, portal)
    found = by_channel(svc.evidence.check_due())
    assert found["news_media"].status == "verified"
    assert Reply  # the support module's reply type is what the routes hold


def test_supervisors_see_evidence_in_the_ledger_the_overdue_report_and_the_dashboard(
    db: Database, clock: FixedClock, settings: Settings, portal: PageServer, tmp_path: Path
) -> None:
    svc = services_for(db, clock, settings, portal, tmp_path)
    posted = published_and_posted(svc, clock, portal, news=None)
    # A second document, posted on the portal only, with a page lacking the link: overdue.
    clock.set(shanghai(2024, 2, 9, 11, 0))
    late = to_signed(svc.workflow, title=TITLE)
    svc.workflow.fire(CLERK, late, "publish", publication_url=portal.url("/zcwj/1.htm"))
    portal.routes["/jd/late.htm"] = interpretation_page(portal, link=False)
    clock.set(shanghai(2024, 2, 22, 10, 0))
    svc.workflow.record_posting(CLERK, late, channel="portal", url=portal.url("/jd/late.htm"))
    svc.evidence.check_due()

    ledger = {r["document_id"]: r for r in svc.reports.ledger("audit.cs", period="2024").rows}
    assert ledger[posted]["evidence"] == ["publication:verified", "news_media:unchecked", "portal:verified"]
    assert ledger[late]["evidence"] == ["publication:verified", "portal:mismatch"]
    from workflow.kernel.export import to_csv

    csv_text = to_csv(svc.reports.ledger("audit.cs", period="2024"), "zh")
    assert "政策文件页面：已核验；新闻媒体：无网址未核验；门户网站：已核验" in csv_text
    overdue = svc.reports.overdue("audit.cs")
    assert [(r["document_id"], r["evidence"]) for r in overdue.rows] == [
        (late, ["publication:verified", "portal:mismatch"])
    ]
    # As of before the check, the same report says the pages were not checked yet.
    before = svc.reports.ledger("audit.cs", period="2024", now=shanghai(2024, 2, 19, 11, 0))
    assert {r["document_id"]: r["evidence"] for r in before.rows}[posted] == [
        "publication:pending",
        "news_media:unchecked",
        "portal:pending",
    ]
    seen = svc.dashboard.overview("audit.cs")
    assert seen.unverified_count == 2
    assert [(r["document_id"], r["channel"], r["status"]) for r in seen.unverified] == [
        (late, "portal", "mismatch"),
        (posted, "news_media", "unchecked"),
    ]
    assert "链接" in seen.unverified[0]["reasons"][0]


def test_a_reader_of_the_document_sees_the_kept_page_others_are_refused_and_audited(
    sqlite_db: Database, clock: FixedClock, tmp_path: Path, portal: PageServer
) -> None:
    from workflow.kernel.errors import Forbidden

    settings = Settings(database_url=sqlite_db.url, mail_folder=tmp_path / "mail")
    svc = services_for(sqlite_db, clock, settings, portal, tmp_path)
    doc = published_and_posted(svc, clock, portal)
    found = by_channel(svc.evidence.check_due())
    shown = svc.evidence.show(CLERK, found["portal"].check_id)
    assert shown.body is not None and TITLE.encode() in shown.body
    assert shown.check["sha256"] == hashlib.sha256(shown.body).hexdigest()
    assert shown.check["status"] == "verified" and shown.warc_path and Path(shown.warc_path).exists()
    with pytest.raises(Forbidden):
        svc.evidence.show("xu.kxc", found["portal"].check_id)  # another unit's clerk
    with sqlite_db.transaction() as s:
        refused = s.scalars(
            select(AuditEvent).where(AuditEvent.document_id == doc, AuditEvent.outcome == "refused")
        ).all()
        assert [e.actor for e in refused] == ["xu.kxc"]
