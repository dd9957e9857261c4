"""WeCom and DingTalk group robots through the outbox, against a real HTTP server on loopback
that checks each request as the vendors document it (tests/robot_server.py).

Covers: the request (path, key or signed token, JSON shape), which units' groups are told
(routing and each unit's event list), exactly once per (document, event/level, channel, unit),
retries on the vendors' rate-limit codes and on HTTP errors, permanent failures, the unit's
current robot being used at send time, and credentials kept out of rows, audit and logs.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from notifications.content import subject_of
from notifications.delivery import backoff, deliver_pending
from notifications.outbox import enqueue
from tests.conftest import shanghai
from tests.notif_factories import make_bureau, make_document
from tests.robot_server import RobotServer
from workflow.kernel.models import AuditEvent, Document, Unit
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.secretbox import COLUMNS, SecretBox, secret_box

PUB = shanghai(2024, 2, 9, 10, 30)
DUE = shanghai(2024, 2, 20, 23, 59, 59)
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING_TOKEN = "d3b1f0c2e4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1"
DING_SECRET = "SEC7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b"


def wecom_url(key: str = WECOM_KEY) -> str:
    return f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}"


def dingtalk_url(token: str = DING_TOKEN) -> str:
    return f"https://oapi.dingtalk.com/robot/send?access_token={token}"


@pytest.fixture
def server(clock):  # type: ignore[no-untyped-def]
    srv = RobotServer(
        wecom_keys={WECOM_KEY},
        dingtalk_secrets={DING_TOKEN: DING_SECRET},
        now_ms=lambda: clock.now().timestamp() * 1000,
    ).start()
    yield srv
    srv.stop()


@pytest.fixture
def cfg(settings, server):  # type: ignore[no-untyped-def]
    return settings.model_copy(
        update={
            "wecom_base_url": server.base_url,
            "dingtalk_base_url": server.base_url,
            "robot_timeout_seconds": 5.0,
            "base_url": "https://gk.example.org",
        }
    )


@pytest.fixture
def bureau(db, clock):  # type: ignore[no-untyped-def]
    return make_bureau(db, clock.now())


_BOX: list[SecretBox] = []


@pytest.fixture(autouse=True)
def _sealing(settings):  # type: ignore[no-untyped-def]
    """The key the tests' settings name, for :func:`set_unit` (as ``unit set`` stores them)."""
    _BOX[:] = [secret_box(settings)]


def set_unit(db, unit_id, **columns):  # type: ignore[no-untyped-def]
    """Set a unit's robot columns as ``unit set`` stores them: credentials encrypted."""
    with db.transaction() as s:
        unit = s.get(Unit, unit_id)
        for k, v in columns.items():
            setattr(unit, k, _BOX[0].seal(v) if v is not None and k in COLUMNS else v)


def queue(db, cfg, clock, doc_id, event="published", **kw):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return [
            r.id
            for r in enqueue(
                s, event=event, document=s.get(Document, doc_id), at=clock.now(), settings=cfg, **kw
            )
        ]


def rows(db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def events(db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return [
            (e.action, json.loads(e.details) if isinstance(e.details, str) else e.details)
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def test_wecom_message_as_documented(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    set_unit(db, bureau.spc, wecom_webhook=wecom_url())
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE, due_provisional=True)
    ids = queue(db, cfg, clock, doc_id, "overdue", extra={"working_days_overdue": 2})
    email, robot = rows(db)
    assert ids == [email.id, robot.id]
    assert (email.channel, robot.channel, robot.unit_id) == ("email", "wecom", bureau.spc)
    assert robot.dedupe_key == f"doc:{doc_id}:overdue@wecom:{bureau.spc}"
    assert json.loads(robot.to_addrs) == [] and robot.body_text is None  # rendered when sent
    assert json.loads(robot.context) == json.loads(email.context)  # the same frozen facts

    report = deliver_pending(db, cfg, clock, worker_id="w1")
    assert sorted(report.sent) == sorted(ids)
    [call] = server.calls
    assert call.method == "POST" and call.path == "/cgi-bin/webhook/send"
    assert call.query == {"key": [WECOM_KEY]}
    assert call.headers["content-type"] == "application/json; charset=utf-8"
    body = call.json
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"content"}
    content = body["markdown"]["content"]
    assert content.startswith("### 【已逾期】福州市道路运输管理办法:解读未按期发布\n")
    assert "**标题**:福州市道路运输管理办法" in content and "**文号**:榕交〔2024〕1号" in content
    assert "**解读发布截止**:2024-02-20(周二)23:59 +08:00(暂定)" in content
    assert "**逾期情况**:逾期满 2 个工作日" in content
    assert f"[查看文件](https://gk.example.org/documents/{doc_id})" in content
    assert call.answered == (200, b'{"errcode": 0, "errmsg": "ok"}')

    sent = next(r for r in rows(db) if r.channel == "wecom")
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, clock.now())
    audit = events(db)
    queued = [d for a, d in audit if a == "email_queued" and d.get("channel") == "wecom"]
    assert queued == [
        {
            "outbox_id": robot.id,
            "event": "overdue",
            "level": None,
            "channel": "wecom",
            "unit": "spc",
            "dedupe_key": robot.dedupe_key,
        }
    ]
    [fate] = [d for a, d in audit if a == "email_sent" and d["outbox_id"] == robot.id]
    assert fate["transport"] == "wecom" and "accepted" in fate["detail"]
    assert WECOM_KEY not in json.dumps(audit, ensure_ascii=False, default=str)


def test_dingtalk_signed_message_as_documented(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    set_unit(db, bureau.spc, dingtalk_webhook=dingtalk_url(), dingtalk_secret=DING_SECRET)
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    queue(db, cfg, clock, doc_id, "published")
    report = deliver_pending(db, cfg, clock, worker_id="w1")
    assert len(report.sent) == 2 and not report.failed

    [call] = server.calls
    assert call.path == "/robot/send"
    assert set(call.query) == {"access_token", "timestamp", "sign"}
    assert call.query["access_token"] == [DING_TOKEN]
    assert call.query["timestamp"] == [str(int(clock.now().timestamp() * 1000))]
    # The signature is URL-encoded in the query string (base64 has + / =), as documented.
    raw_sign = call.raw_query.split("sign=", 1)[1]
    assert "+" not in raw_sign and "/" not in raw_sign and unquote(raw_sign) == call.query["sign"][0]
    assert call.answered[1] == b'{"errcode": 0, "errmsg": "ok"}'  # the server verified the signature
    body = call.json
    assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
    title = "【已公开】福州市道路运输管理办法:请于 2024-02-20(周二)23:59 +08:00 前发布解读"
    assert body["markdown"]["title"] == title
    assert body["markdown"]["text"].startswith(f"### {title}\n")
    assert "**公开时间**:2024-02-09(周五)10:30 +08:00" in body["markdown"]["text"]
    [robot] = [r for r in rows(db) if r.channel == "dingtalk"]
    assert robot.status == "sent" and subject_of(robot) == body["markdown"]["title"]


def test_dingtalk_robot_without_secret_sends_no_signature(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    server.dingtalk_secrets["keywordbot"] = None
    set_unit(db, bureau.spc, dingtalk_webhook=dingtalk_url("keywordbot"))
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    queue(db, cfg, clock, doc_id, "published")
    deliver_pending(db, cfg, clock, worker_id="w1")
    [call] = server.calls
    assert call.query == {"access_token": ["keywordbot"]}


def test_wrong_signature_is_refused_by_the_server_and_fails(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    set_unit(db, bureau.spc, dingtalk_webhook=dingtalk_url(), dingtalk_secret="SECnot-the-right-one")
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    queue(db, cfg, clock, doc_id, "published")
    report = deliver_pending(db, cfg, clock, worker_id="w1")
    [robot] = [r for r in rows(db) if r.channel == "dingtalk"]
    assert report.failed == [robot.id]
    assert robot.status == "failed" and "errcode 310000" in robot.last_error
    assert "SECnot-the-right-one" not in robot.last_error and DING_TOKEN not in robot.last_error


@pytest.mark.parametrize(
    ("channel", "code", "errmsg"),
    [
        ("wecom", 45009, "api freq out of limit"),
        ("dingtalk", 130101, "send too fast, exceed 20 times per minute"),
    ],
)
def test_rate_limit_is_retried_then_sent_once(db, cfg, clock, bureau, server, channel, code, errmsg):  # type: ignore[no-untyped-def]
    if channel == "wecom":
        set_unit(db, bureau.spc, wecom_webhook=wecom_url())
    else:
        set_unit(db, bureau.spc, dingtalk_webhook=dingtalk_url(), dingtalk_secret=DING_SECRET)
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [_, rid] = queue(db, cfg, clock, doc_id, "published")
    server.answer_next(200, RobotServer.vendor(code, errmsg))

    first = deliver_pending(db, cfg, clock, worker_id="w1")
    assert first.retried == [rid]
    [robot] = [r for r in rows(db) if r.id == rid]
    assert (robot.status, robot.attempts) == ("pending", 1)
    assert robot.next_attempt_at == clock.now() + backoff(cfg, 1)
    assert f"errcode {code}: {errmsg}" in robot.last_error
    assert deliver_pending(db, cfg, clock, worker_id="w1").claimed == 0  # not due yet

    clock.advance(timedelta(seconds=30))
    second = deliver_pending(db, cfg, clock, worker_id="w1")
    assert second.sent == [rid]
    assert len(server.calls) == 2 and server.calls[1].answered[1] == b'{"errcode": 0, "errmsg": "ok"}'
    clock.advance(timedelta(hours=2))
    assert deliver_pending(db, cfg, clock, worker_id="w1").claimed == 0  # sent once, never again
    fates = [
        (a, d.get("kind")) for a, d in events(db) if a.startswith("email_") and d.get("outbox_id") == rid
    ]
    assert fates == [("email_queued", None), ("email_retry", "transient"), ("email_sent", None)]


def test_rate_limited_robot_is_not_asked_again_in_the_same_pass(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    set_unit(db, bureau.spc, wecom_webhook=wecom_url())
    first = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    second = make_document(db, bureau, clock.now(), title="第二份文件", published_at=PUB, due_at=DUE)
    queue(db, cfg, clock, first, "published")
    queue(db, cfg, clock, second, "published")
    server.answer_next(200, RobotServer.vendor(45009, "api freq out of limit"))
    report = deliver_pending(db, cfg, clock, worker_id="w1")
    robots = [r for r in rows(db) if r.channel == "wecom"]
    assert sorted(report.retried) == sorted(r.id for r in robots)
    assert len(server.calls) == 1  # the second was not posted into the rate limit
    assert "not tried again" in robots[1].last_error


@pytest.mark.parametrize(
    ("status", "body", "ctype"),
    [
        (500, b"<html>502 Bad Gateway</html>", "text/html"),
        (429, b"", "text/plain"),
        (200, b"<html>proxy login</html>", "text/html"),
        (200, {"errcode": -1, "errmsg": "system busy"}, "application/json"),
    ],
)
def test_server_errors_are_retried(db, cfg, clock, bureau, server, status, body, ctype):  # type: ignore[no-untyped-def]
    set_unit(db, bureau.spc, wecom_webhook=wecom_url())
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [_, rid] = queue(db, cfg, clock, doc_id, "published")
    server.answer_next(status, body, ctype)
    assert deliver_pending(db, cfg, clock, worker_id="w1").retried == [rid]
    clock.advance(timedelta(minutes=1))
    assert deliver_pending(db, cfg, clock, worker_id="w1").sent == [rid]


def test_unknown_key_fails_at_once_and_names_no_credential(db, cfg, clock, bureau, server, caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    set_unit(db, bureau.spc, wecom_webhook=wecom_url("revoked-key-123"))
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [_, rid] = queue(db, cfg, clock, doc_id, "published")
    report = deliver_pending(db, cfg, clock, worker_id="w1")
    assert report.failed == [rid]
    [robot] = [r for r in rows(db) if r.id == rid]
    assert robot.status == "failed" and robot.attempts == 1
    assert robot.last_error.startswith("wecom robot of unit spc: errcode 93000: invalid webhook url")
    [fate] = [d for a, d in events(db) if a == "email_failed"]
    assert fate["kind"] == "permanent" and fate["transport"] == "wecom"
    everything = caplog.text + json.dumps(events(db), ensure_ascii=False, default=str) + robot.last_error
    assert "revoked-key-123" not in everything
    assert "/cgi-bin/webhook/send" in caplog.text  # httpx logged the request, with its query masked


def test_server_down_is_retried_without_naming_the_key(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    cfg = cfg.model_copy(update={"wecom_base_url": "http://127.0.0.1:9"})  # discard port: refused
    set_unit(db, bureau.spc, wecom_webhook=wecom_url())
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [_, rid] = queue(db, cfg, clock, doc_id, "published")
    assert deliver_pending(db, cfg, clock, worker_id="w1").retried == [rid]
    [robot] = [r for r in rows(db) if r.id == rid]
    assert "ConnectError" in robot.last_error and WECOM_KEY not in robot.last_error


def test_groups_told_follow_the_routes_and_each_units_event_list(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    server.wecom_keys |= {"zfc-key", "lead-key"}
    set_unit(db, bureau.spc, wecom_webhook=wecom_url(), wecom_events="reminder,overdue")
    set_unit(db, bureau.zfc, wecom_webhook=wecom_url("zfc-key"))  # every event routed to supervisors
    set_unit(db, bureau.lead, wecom_webhook=wecom_url("lead-key"))
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    queue(db, cfg, clock, doc_id, "published")  # the drafting unit only, and spc does not take it
    assert [r.channel for r in rows(db)] == ["email"]
    queue(db, cfg, clock, doc_id, "overdue", extra={"level": "overdue"})  # spc and the supervisors
    queue(
        db, cfg, clock, doc_id, "escalated_high", extra={"level": "escalated_high"}
    )  # leadership, supervisors
    told = [(r.event, r.unit_id) for r in rows(db) if r.channel == "wecom"]
    assert told == [
        ("overdue", bureau.spc),
        ("overdue", bureau.zfc),
        ("escalated_high", bureau.zfc),
        ("escalated_high", bureau.lead),
    ]
    deliver_pending(db, cfg, clock, worker_id="w1")
    assert sorted(c.query["key"][0] for c in server.calls) == sorted(
        [WECOM_KEY, "zfc-key", "zfc-key", "lead-key"]
    )


def test_exactly_once_per_document_level_and_channel(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    set_unit(
        db,
        bureau.spc,
        wecom_webhook=wecom_url(),
        dingtalk_webhook=dingtalk_url(),
        dingtalk_secret=DING_SECRET,
    )
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    first = queue(db, cfg, clock, doc_id, "overdue", extra={"level": "overdue"})
    again = queue(db, cfg, clock, doc_id, "overdue", extra={"level": "overdue"})
    assert len(first) == 3 and again == []
    deliver_pending(db, cfg, clock, worker_id="w1")
    deliver_pending(db, cfg, clock, worker_id="w2")
    assert sorted(c.path for c in server.calls) == ["/cgi-bin/webhook/send", "/robot/send"]
    # A robot added later gets the events from then on, not the ones already told to others.
    assert queue(db, cfg, clock, doc_id, "overdue", extra={"level": "overdue"}) == []


def test_the_units_robot_as_it_is_when_sent(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    server.wecom_keys.add("new-key")
    set_unit(db, bureau.spc, wecom_webhook=wecom_url("old-key"))
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    queue(db, cfg, clock, doc_id, "published")
    set_unit(db, bureau.spc, wecom_webhook=wecom_url("new-key"))
    deliver_pending(db, cfg, clock, worker_id="w1")
    assert [c.query["key"] for c in server.calls] == [["new-key"]]

    other = make_document(db, bureau, clock.now(), title="另一份", published_at=PUB, due_at=DUE)
    [_, rid] = queue(db, cfg, clock, other, "published")
    set_unit(db, bureau.spc, wecom_webhook=None)
    assert deliver_pending(db, cfg, clock, worker_id="w1").failed == [rid]
    [robot] = [r for r in rows(db) if r.id == rid]
    assert "unit spc has no wecom robot any more" in robot.last_error
    assert len(server.calls) == 1


def test_long_messages_are_cut_to_the_vendors_limit(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    set_unit(db, bureau.spc, wecom_webhook=wecom_url())
    doc_id = make_document(db, bureau, clock.now(), title="很长的标题" * 100, state="interpretation_plan")
    queue(db, cfg, clock, doc_id, "rejected", extra={"reason": "退回理由很长。" * 300})
    report = deliver_pending(db, cfg, clock, worker_id="w1")
    assert len(report.sent) == 2
    content = server.calls[0].json["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096 and content.endswith("…")


def test_markdown_in_a_title_is_shown_not_obeyed(db, cfg, clock, bureau, server):  # type: ignore[no-untyped-def]
    set_unit(db, bureau.spc, wecom_webhook=wecom_url())
    doc_id = make_document(
        db,
        bureau,
        clock.now(),
        title="关于[点此](http://evil.example) *加急*\n### 通知",
        published_at=PUB,
        due_at=DUE,
    )
    queue(db, cfg, clock, doc_id, "published")
    deliver_pending(db, cfg, clock, worker_id="w1")
    content = server.calls[0].json["markdown"]["content"]
    assert r"关于\[点此\](http://evil.example) \*加急\* ### 通知" in content
    assert "\n### 通知" not in content
