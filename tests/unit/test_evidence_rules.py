"""The evidence checker's pure parts: the allow-list, when a page is looked at again, and what a
page says (its date, whether it names the document, its links). No server (docs/evidence.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from states import evidence as ev
from workflow.kernel.allowlist import AllowList, AllowListError, is_public, parse_allow_list
from workflow.services.evidence.checks import Claim, analyse, decode_html, page_date, parse, squeeze
from workflow.services.evidence.fetcher import same_url

T0 = datetime(2024, 2, 19, 4, 0, tzinfo=UTC)
SCHEDULE = ev.Schedule(
    recheck_after=timedelta(days=7),
    retry_for=timedelta(days=3),
    retry_base=timedelta(minutes=15),
    retry_max=timedelta(hours=6),
    alert_after=timedelta(hours=24),
)


def test_allow_list_entries() -> None:
    allow = AllowList(" www.fuzhou.gov.cn, *.fzdaily.example.cn ,127.0.0.1:8080, 政府.cn ")
    assert allow.admits("www.fuzhou.gov.cn", 443, "https") and allow.admits("WWW.fuzhou.gov.cn.", 80, "http")
    assert not allow.admits("www.fuzhou.gov.cn", 8443, "https")
    assert allow.admits("news.fzdaily.example.cn", 443, "https") and not allow.admits(
        "fzdaily.example.cn", 443, "https"
    )
    assert not allow.admits("evil-fzdaily.example.cn", 443, "https")
    assert allow.admits("127.0.0.1", 8080, "http") and not allow.admits("127.0.0.1", 80, "http")
    assert allow.admits("xn--mxtq1m.cn", 443, "https")
    assert allow.names_exactly("127.0.0.1", 8080) and not allow.names_exactly("www.fuzhou.gov.cn", 443)
    for bad in ("a b", "host:0", "host:99999", "*.", "exa_mple.cn", "http://x.cn"):
        with pytest.raises(AllowListError):
            parse_allow_list(bad)
    assert parse_allow_list("") == ()


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2400:3200::1", True),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("127.0.0.2", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
    ],
)
def test_only_global_unicast_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_next_check_verified_backoff_cap_alert_and_give_up() -> None:
    assert ev.next_check(
        ev.VERIFIED, now=T0, bad_since=None, attempts=0, alerted=False, schedule=SCHEDULE
    ) == T0 + timedelta(days=7)
    waits = [
        ev.next_check(ev.UNREACHABLE, now=T0, bad_since=T0, attempts=n, alerted=False, schedule=SCHEDULE) - T0
        for n in range(1, 8)
    ]
    assert waits == [
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=6),
        timedelta(hours=6),
    ]
    # A mismatch is looked at again when its alert falls due, not a week later.
    assert ev.next_check(
        ev.MISMATCH, now=T0, bad_since=T0, attempts=0, alerted=False, schedule=SCHEDULE
    ) == T0 + timedelta(hours=24)
    assert ev.next_check(
        ev.MISMATCH, now=T0 + timedelta(days=1), bad_since=T0, attempts=0, alerted=True, schedule=SCHEDULE
    ) == T0 + timedelta(days=8)
    # Near the alert, the backoff is cut short so the email goes after exactly a day.
    later = T0 + timedelta(hours=22)
    assert ev.next_check(
        ev.UNREACHABLE, now=later, bad_since=T0, attempts=6, alerted=False, schedule=SCHEDULE
    ) == T0 + timedelta(hours=24)
    gone = T0 + timedelta(days=3)
    assert ev.given_up(ev.UNREACHABLE, T0, gone, SCHEDULE)
    assert ev.next_check(
        ev.UNREACHABLE, now=gone, bad_since=T0, attempts=20, alerted=True, schedule=SCHEDULE
    ) == gone + timedelta(days=7)
    assert ev.alert_due(ev.UNREACHABLE, T0, False, T0 + timedelta(hours=24), SCHEDULE)
    assert not ev.alert_due(ev.UNREACHABLE, T0, True, T0 + timedelta(hours=48), SCHEDULE)
    assert not ev.alert_due(ev.VERIFIED, None, False, T0 + timedelta(hours=48), SCHEDULE)


@pytest.mark.parametrize(
    ("html", "expected", "source"),
    [
        (
            '<meta name="PubDate" content="2024-02-19 10:30"><p>成文日期:2024-02-01</p>',
            datetime(2024, 2, 19, 10, 30),
            "meta:pubdate",
        ),
        (
            '<meta property="article:published_time" content="2024-02-19T10:30:00+08:00">',
            datetime(2024, 2, 19, 10, 30),
            "meta:article:published_time",
        ),
        (
            "<span>成文日期:</span><span>2024-02-01</span><span>发布日期:</span><span>2024-02-09</span>",
            date(2024, 2, 9),
            "text:发布日期",
        ),
        ("<div>来源:福州日报  时间:2024年2月19日 09:05</div>", datetime(2024, 2, 19, 9, 5), "text:来源"),
        ("<p>发布时间 : 2024/2/19</p>", date(2024, 2, 19), "text:发布时间"),
        ("<p>成文日期:2024-02-01</p><p>根据2023年12月1日的会议……</p>", None, None),
    ],
)
def test_the_page_date_comes_from_meta_tags_or_labelled_text(
    html: str, expected: object, source: str | None
) -> None:
    when, where = page_date(parse(f"<html><head>{html}</head><body>{html}</body></html>", "http://x.cn/"))
    assert when == expected
    assert (where or "").startswith(source or "")


def test_names_are_compared_on_letters_and_digits() -> None:
    assert squeeze("榕交〔2024〕1号") == squeeze("榕交[2024]1号") == squeeze("榕交（２０２４）1 号")
    assert squeeze("《福州市 道路运输管理办法》") == "福州市道路运输管理办法"


def test_links_are_resolved_and_compared_without_fragment_or_default_port() -> None:
    page = parse(
        '<a href="../zcwj/1.htm#top">政策</a><a href="javascript:void(0)">x</a>'
        '<a href="HTTP://JTJ.example.cn:80/jd/2.htm">y</a>',
        "http://jtj.example.cn/jd/1.htm",
    )
    assert page.links == {"http://jtj.example.cn/zcwj/1.htm", "http://jtj.example.cn/jd/2.htm"}
    assert same_url("https://A.cn:443") == "https://a.cn/"


def test_a_declared_charset_is_trusted_unless_it_is_wrong() -> None:
    body = "<title>福州市道路运输管理办法</title>".encode("gb18030")
    assert decode_html(body, "text/html; charset=GB2312") == (
        "<title>福州市道路运输管理办法</title>",
        "gb18030",
    )
    text, charset = decode_html(body, "text/html; charset=utf-8")  # wrong: falls back to detection
    assert "道路运输" in text and charset != "utf-8"


def test_a_pdf_cannot_be_checked_and_says_so() -> None:
    found = analyse(
        b"%PDF-1.7",
        "application/pdf",
        "http://x.cn/a.pdf",
        Claim("publication", "标题", None, None, None),
        "Asia/Shanghai",
    )
    assert found.status == ev.MISMATCH and [r.code for r in found.reasons] == ["not_html"]


def test_every_reason_has_both_languages() -> None:
    from states.i18n import gettext

    for code, english in ev.MESSAGES.items():
        chinese = gettext(english, "zh")
        assert chinese != english and english.isascii(), code
