"""The pure parts of the group robots: DingTalk's signature, webhook parsing, event lists,
Markdown escaping and masking credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

import pytest
from pydantic import SecretStr

from notifications.robots import ROBOT_EVENTS, md, parse_events, routed_events
from notifications.transports import RobotMessage
from notifications.transports.dingtalk import dingtalk_token, sign
from notifications.transports.webhook import scrub, truncate_utf8
from notifications.transports.wecom import wecom_key


def test_dingtalk_signature_is_the_documented_hmac() -> None:
    # DingTalk's documented recipe: string_to_sign = timestamp + "\n" + secret, HMAC-SHA256
    # keyed with the secret, then base64 (URL-encoding happens when it is put in the query).
    secret, stamp = "SEC000000000000000000000000000000000000000000000000000000000000000", 1577836800000
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert sign(stamp, secret) == expected
    assert len(base64.b64decode(sign(stamp, secret))) == 32
    assert sign(stamp + 1, secret) != sign(stamp, secret)


def test_credentials_come_from_the_urls_the_apps_show() -> None:
    assert wecom_key("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123") == "abc-123"
    assert dingtalk_token("https://oapi.dingtalk.com/robot/send?access_token=tok") == "tok"
    with pytest.raises(ValueError, match="no key= parameter"):
        wecom_key("https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
    with pytest.raises(ValueError, match="not a URL"):
        dingtalk_token("tok")


def test_event_lists() -> None:
    assert "signoff_requested" not in ROBOT_EVENTS  # sign-off requests go to people
    assert routed_events("leadership") == ("escalated_high",)
    assert set(routed_events("supervising")) == {"overdue", "escalated", "escalated_high", "posted_late"}
    assert parse_events("overdue, reminder;overdue") == "reminder,overdue"  # known order, once each
    assert parse_events("") is None and parse_events(None) is None
    with pytest.raises(ValueError, match="unknown event"):
        parse_events("overdue,signoff_requested")


def test_evidence_problems_reach_the_drafting_units_group() -> None:
    """``evidence_problem`` (docs/evidence.md) goes to the drafting unit, so its robot may take
    it like any other event routed there; the message opens with the email's sentence."""
    from notifications.robots import render

    assert "evidence_problem" in ROBOT_EVENTS and "evidence_problem" in routed_events("drafting")
    assert "evidence_problem" not in routed_events("supervising")
    assert parse_events("evidence_problem") == "evidence_problem"
    context = {
        "title": "福州市网约车管理办法",
        "doc_number": "榕交〔2024〕5号",
        "unit_name": "审批处",
        "published_at": None,
        "due_at": None,
        "due_provisional": False,
        "posted_at": None,
        "working_days_overdue": None,
        "reason": None,
        "actor_name": None,
        "link": "https://santongbu.example.cn/documents/5",
        "evidence": {
            "channel": "门户网站",
            "since": "2024-02-20 09:00",
            "status": "无法访问",
            "url": "https://jtj.fuzhou.example.cn/jd/5.htm",
            "checked_at": "2024-02-21 09:00",
            "reasons": ["连接超时"],
        },
    }
    text = render("evidence_problem", "zh", "解读网页核验未通过", context)
    assert "门户网站" in text and "无法访问" in text and "(https://santongbu.example.cn/documents/5)" in text


def test_markdown_facts_stay_on_one_line_and_cannot_link() -> None:
    assert md("a [b](c) *d* _e_ `f`\n### g") == r"a \[b\](c) \*d\* \_e\_ \`f\` ### g"


def test_secrets_never_show() -> None:
    msg = RobotMessage(
        "dingtalk", "spc", "t", "m", SecretStr("https://x/robot/send?access_token=T0K"), SecretStr("SECxyz")
    )
    assert "T0K" not in repr(msg) and "SECxyz" not in repr(msg)
    assert (
        scrub("GET https://h/robot/send?access_token=T0K&sign=abc failed: T0K", "T0K")
        == "GET https://h/robot/send?*** failed: ***"
    )


def test_httpx_request_lines_are_logged_without_their_query(caplog: pytest.LogCaptureFixture) -> None:
    import notifications.transports.webhook  # noqa: F401 - installs the filter

    caplog.set_level(logging.INFO, logger="httpx")
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s"',
        "POST",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET",
        "200 OK",
    )
    assert "SECRET" not in caplog.text and "/cgi-bin/webhook/send?***" in caplog.text


def test_truncation_keeps_whole_characters() -> None:
    assert truncate_utf8("短", 10) == "短"
    cut = truncate_utf8("汉字" * 10, 10)
    assert len(cut.encode()) <= 10 and cut.endswith("…")
