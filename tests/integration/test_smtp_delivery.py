"""Delivery over real SMTP (aiosmtpd on loopback): content, retries, failures, concurrency, safety."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from notifications.content import message_id_for
from notifications.delivery import backoff, claim, deliver_pending, lease_for
from notifications.outbox import enqueue
from tests.conftest import shanghai
from tests.notif_factories import SmtpServer, free_port, make_bureau, make_document
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, Document
from workflow.kernel.models.outbox import OutboxMessage

PUB = shanghai(2024, 2, 9, 10, 30)
DUE = shanghai(2024, 2, 20, 23, 59, 59)


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    server = SmtpServer().start()
    yield server
    server.stop()


def smtp_settings(settings, port, **kw):  # type: ignore[no-untyped-def]
    return settings.model_copy(
        update={
            "mail_transport": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_timeout_seconds": 5.0,
            "mail_from": "三同步 <santongbu@jtj.example.org>",
            **kw,
        }
    )


@pytest.fixture
def bureau(db, clock):  # type: ignore[no-untyped-def]
    return make_bureau(db, clock.now())


def queue(db, settings, clock, doc_id, event="published", **kw):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        rows = enqueue(
            s, event=event, document=s.get(Document, doc_id), at=clock.now(), settings=settings, **kw
        )
        return [r.id for r in rows]


def row(db, outbox_id):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return s.get(OutboxMessage, outbox_id)


def actions(db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_delivered_message_headers_and_bodies(db, settings, clock, bureau, smtp, lang):  # type: ignore[no-untyped-def]
    cfg = smtp_settings(settings, smtp.port, language=lang, base_url="https://gk.example.org/")
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE, due_provisional=True)
    [oid] = queue(db, cfg, clock, doc_id, "overdue", extra={"working_days_overdue": 2})
    report = deliver_pending(db, cfg, clock, worker_id="w1")
    assert report.sent == [oid] and report.transport == "smtp"

    [got] = smtp.received
    assert got.mail_from == "santongbu@jtj.example.org"
    assert sorted(got.rcpt_tos) == sorted(
        [
            "spc@jtj.example.org",
            "chen@jtj.example.org",
            "gkb@jtj.example.org",
            "zfc@jtj.example.org",
            "wang@jtj.example.org",
        ]
    )
    msg = got.message
    assert msg["From"].addresses[0].addr_spec == "santongbu@jtj.example.org"
    assert [a.addr_spec for a in msg["To"].addresses] == ["spc@jtj.example.org", "chen@jtj.example.org"]
    assert [a.display_name for a in msg["To"].addresses] == ["行政审批处", "陈处长"]
    assert [a.addr_spec for a in msg["Cc"].addresses] == [
        "gkb@jtj.example.org",
        "zfc@jtj.example.org",
        "wang@jtj.example.org",
    ]
    assert msg["Bcc"] is None
    assert msg["Message-ID"] == message_id_for(row(db, oid), cfg) and f".outbox.{oid}." in msg["Message-ID"]
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"].datetime == clock.now() and msg["Date"].endswith(" +0800")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert msg.get_body(("html",)).get_content_type() == "text/html"
    link = f"https://gk.example.org/documents/{doc_id}"
    for body in (text, html):
        assert "福州市道路运输管理办法" in body and "榕交〔2024〕1号" in body and "行政审批处" in body
        assert link in body
    if lang == "zh":
        assert str(msg["Subject"]) == "【已逾期】福州市道路运输管理办法:解读未按期发布"
        assert "公开时间:2024-02-09(周五)10:30 +08:00" in text
        assert "解读发布截止:2024-02-20(周二)23:59 +08:00(暂定" in text
        assert "逾期情况:逾期满 2 个工作日" in text  # the one figure, in words (states/deadline.py)
        assert msg["Content-Language"] == "zh-CN"
    else:
        assert str(msg["Subject"]) == "[Overdue] 福州市道路运输管理办法: interpretation not posted in time"
        assert "Published: Fri 2024-02-09 10:30 +08:00" in text
        assert "Interpretation due: Tue 2024-02-20 23:59 +08:00 (provisional" in text
        assert "Lateness: 2 working days overdue" in text
        assert "<strong>Tue 2024-02-20 23:59 +08:00</strong>" in html

    r = row(db, oid)
    assert (r.status, r.attempts, r.sent_at, r.last_error) == ("sent", 1, clock.now(), None)
    assert actions(db) == ["email_queued", "email_sent"]


def test_server_down_then_up_delivers_exactly_once(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    port = free_port()
    cfg = smtp_settings(settings, port)
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [oid] = queue(db, cfg, clock, doc_id)

    first = deliver_pending(db, cfg, clock, worker_id="w1")  # nothing listens: refused
    assert first.retried == [oid]
    r = row(db, oid)
    assert (r.status, r.attempts) == ("pending", 1)
    assert r.next_attempt_at == clock.now() + backoff(cfg, 1) == clock.now() + timedelta(seconds=30)
    assert "refused" in r.last_error
    assert deliver_pending(db, cfg, clock, worker_id="w1").claimed == 0  # not due yet

    server = SmtpServer(port=port).start()
    try:
        assert deliver_pending(db, cfg, clock, worker_id="w1").claimed == 0  # still waiting
        clock.advance(timedelta(seconds=30))
        assert deliver_pending(db, cfg, clock, worker_id="w2").sent == [oid]
        clock.advance(timedelta(hours=2))
        assert deliver_pending(db, cfg, clock, worker_id="w2").claimed == 0
        assert server.handler.outbox_ids() == [oid]
    finally:
        server.stop()
    assert row(db, oid).status == "sent"
    assert actions(db) == ["email_queued", "email_retry", "email_sent"]


def test_5xx_fails_after_one_attempt_without_retry_storm(db, settings, clock, bureau, smtp):  # type: ignore[no-untyped-def]
    cfg = smtp_settings(settings, smtp.port)
    smtp.handler.data_reply = "554 5.7.1 Message rejected by policy"
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [oid] = queue(db, cfg, clock, doc_id)
    assert deliver_pending(db, cfg, clock, worker_id="w1").failed == [oid]
    for _ in range(3):
        clock.advance(timedelta(hours=3))
        assert deliver_pending(db, cfg, clock, worker_id="w1").claimed == 0
    assert smtp.handler.data_calls == 1
    r = row(db, oid)
    assert (r.status, r.attempts) == ("failed", 1)
    assert r.last_error.startswith("554 5.7.1")
    with db.transaction() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "email_failed")).one()
        assert json.loads(ev.details)["kind"] == "permanent"


def test_4xx_is_transient_and_backs_off_exponentially(db, settings, clock, bureau, smtp):  # type: ignore[no-untyped-def]
    cfg = smtp_settings(settings, smtp.port, outbox_max_attempts=3)
    smtp.handler.data_reply = "451 4.3.0 Try again later"
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [oid] = queue(db, cfg, clock, doc_id)
    waits = []
    for _ in range(3):
        before = clock.now()
        deliver_pending(db, cfg, clock, worker_id="w1")
        r = row(db, oid)
        if r.status == "pending":
            waits.append(r.next_attempt_at - before)
            clock.set(r.next_attempt_at)
    assert waits == [timedelta(seconds=30), timedelta(seconds=60)]
    r = row(db, oid)
    assert (r.status, r.attempts) == ("failed", 3)
    assert actions(db) == ["email_queued", "email_retry", "email_retry", "email_failed"]


def test_refused_recipients(db, settings, clock, bureau, smtp):  # type: ignore[no-untyped-def]
    cfg = smtp_settings(settings, smtp.port)
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    smtp.handler.rcpt_replies["liu@jtj.example.org"] = "550 5.1.1 No such user"
    [partly] = queue(db, cfg, clock, doc_id, "published")  # unit mailbox + liu
    assert deliver_pending(db, cfg, clock, worker_id="w1").sent == [partly]
    smtp.handler.rcpt_replies["spc@jtj.example.org"] = "550 5.1.1 No such user"
    [nobody] = queue(db, cfg, clock, doc_id, "reminder")  # the same two: both refused
    assert deliver_pending(db, cfg, clock, worker_id="w1").failed == [nobody]
    assert "liu@jtj.example.org: 550 5.1.1 No such user" in row(db, partly).last_error
    assert row(db, nobody).last_error.startswith("all recipients refused")
    assert smtp.received[0].rcpt_tos == ["spc@jtj.example.org"]


def test_worker_that_died_mid_send_does_not_lose_the_email(db, settings, clock, bureau, smtp):  # type: ignore[no-untyped-def]
    cfg = smtp_settings(settings, smtp.port)
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [oid] = queue(db, cfg, clock, doc_id)
    claim(db, cfg, clock.now(), worker_id="doomed", limit=10)  # claimed, then the worker died
    assert row(db, oid).status == "sending"
    assert deliver_pending(db, cfg, clock, worker_id="w2").claimed == 0  # its lease still runs
    clock.advance(lease_for(cfg) + timedelta(seconds=1))
    assert deliver_pending(db, cfg, clock, worker_id="w2").sent == [oid]
    assert smtp.handler.outbox_ids() == [oid]
    r = row(db, oid)
    assert (r.status, r.attempts, r.claimed_by) == ("sent", 2, "w2")
    with db.transaction() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "email_sent")).one()
        assert json.loads(ev.details)["reclaimed_from"] == "doomed"


def test_rolled_back_change_sends_nothing(db, settings, clock, bureau, smtp):  # type: ignore[no-untyped-def]
    cfg = smtp_settings(settings, smtp.port)
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    with pytest.raises(RuntimeError), db.transaction() as s:
        doc = s.get(Document, doc_id)
        doc.state = "interpretation_posted"
        enqueue(
            s,
            event="posted_late",
            document=doc,
            at=clock.now(),
            settings=cfg,
            extra={"working_days_overdue": 1},
        )
        raise RuntimeError("a later step of the change fails")
    assert deliver_pending(db, cfg, clock, worker_id="w1").claimed == 0
    assert smtp.received == []


def test_header_injection_cannot_add_header_or_recipient(db, settings, clock, bureau, smtp):  # type: ignore[no-untyped-def]
    cfg = smtp_settings(settings, smtp.port)
    evil = "通知\r\nBcc: spy@evil.example\r\nX-Evil: 1\n\nbody"
    doc_id = make_document(db, bureau, clock.now(), title=evil, published_at=PUB, due_at=DUE)
    with db.transaction() as s:
        from workflow.kernel.models import Unit, User

        s.get(Unit, bureau.spc).name = "审批处\r\nCc: spy2@evil.example"
        s.get(User, bureau.clerk).name = "刘\nBcc: spy3@evil.example"
    [oid] = queue(db, cfg, clock, doc_id)
    with db.transaction() as s:  # even facts written raw into the row, past enqueue's cleaning
        row = s.get(OutboxMessage, oid)
        row.context = json.dumps({**json.loads(row.context), "title": "raw\r\nBcc: spy4@evil.example"})
    assert deliver_pending(db, cfg, clock, worker_id="w1").sent == [oid]
    [got] = smtp.received
    assert sorted(got.rcpt_tos) == ["liu@jtj.example.org", "spc@jtj.example.org"]
    msg = got.message
    assert msg["Bcc"] is None and msg["X-Evil"] is None and msg["Cc"] is None
    assert (
        str(msg["Subject"])
        == "【已公开】raw Bcc: spy4@evil.example:请于 2024-02-20(周二)23:59 +08:00 前发布解读"
    )
    assert [a.addr_spec for a in msg["To"].addresses] == ["spc@jtj.example.org", "liu@jtj.example.org"]
    # The name stays harmless text on one line (or is dropped where this Python would fold the
    # list wrongly, cpython#100884); it never becomes a Cc header or an address.
    assert msg["To"].addresses[0].display_name in ("", "审批处 Cc: spy2@evil.example")
    assert not msg["To"].defects
    assert "Bcc: spy4@evil.example" in msg.get_body(("plain",)).get_content()  # shown as text
    header_block = got.data.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    assert all(not line.lower().startswith(("bcc:", "x-evil:")) for line in header_block.splitlines())


def test_login_is_used_and_the_password_never_recorded(db, settings, clock, bureau, caplog):  # type: ignore[no-untyped-def]
    from aiosmtpd.smtp import AuthResult

    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret-pw")

    server = SmtpServer(authenticator=authenticator, auth_require_tls=False).start()
    try:
        doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
        bad = smtp_settings(settings, server.port, smtp_username="gk", smtp_password=SecretStr("wrong-pw"))
        [oid] = queue(db, bad, clock, doc_id)
        with caplog.at_level("DEBUG", logger="santongbu"):
            assert deliver_pending(db, bad, clock, worker_id="w1").retried == [oid]  # config: transient
        good = smtp_settings(settings, server.port, smtp_username="gk", smtp_password=SecretStr("s3cret-pw"))
        clock.advance(timedelta(minutes=1))
        assert deliver_pending(db, good, clock, worker_id="w1").sent == [oid]
    finally:
        server.stop()
    assert seen == [(b"gk", b"wrong-pw"), (b"gk", b"s3cret-pw")]
    with db.transaction() as s:
        trail = " ".join(e.details for e in s.scalars(select(AuditEvent)))
        outbox = " ".join(str(r.last_error) for r in s.scalars(select(OutboxMessage)))
    for text in (trail, outbox, caplog.text):
        assert "wrong-pw" not in text and "s3cret-pw" not in text


@pytest.mark.postgres
def test_two_workers_at_once_send_each_email_once(pg_db, tmp_path, clock, smtp):  # type: ignore[no-untyped-def]
    from workflow.kernel.settings import Settings

    cfg = smtp_settings(Settings(database_url=pg_db.url, mail_folder=tmp_path / "m"), smtp.port)
    bureau = make_bureau(pg_db, clock.now())
    ids: list[int] = []
    for n in range(12):
        doc_id = make_document(pg_db, bureau, clock.now(), title=f"文件{n}", published_at=PUB, due_at=DUE)
        for event in ("published", "reminder", "overdue"):
            ids += queue(pg_db, cfg, clock, doc_id, event, extra={"working_days_overdue": 0})
    assert len(ids) == 36

    reports: dict[str, list] = {"a": [], "b": []}
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            db = Database(pg_db.url)  # each worker has its own engine and connections
            start.wait()
            while True:
                report = deliver_pending(db, cfg, clock, worker_id=name, limit=4)
                if report.claimed == 0:
                    break
                reports[name].append(report)
            db.dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in reports]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    sent = [i for rs in reports.values() for r in rs for i in r.sent]
    assert sorted(sent) == sorted(ids)  # each row sent by exactly one worker
    assert smtp.handler.outbox_ids() == sorted(ids)  # and the server got each exactly once
    assert all(reports[n] for n in reports), "both workers should have taken part"
    with pg_db.transaction() as s:
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
            == 0
        )
        assert (
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "email_sent"))
            == 36
        )
    from workflow.kernel.audit import verify

    with pg_db.transaction() as s:
        assert verify(s).ok


def test_a_malformed_row_fails_alone_and_the_queue_moves_on(db, settings, clock, bureau, smtp):  # type: ignore[no-untyped-def]
    cfg = smtp_settings(settings, smtp.port)
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [bad] = queue(db, cfg, clock, doc_id, "published")
    [good] = queue(db, cfg, clock, doc_id, "reminder")
    with db.transaction() as s:
        s.get(OutboxMessage, bad).to_addrs = '[{"name": "no address key"}]'
    report = deliver_pending(db, cfg, clock, worker_id="w1")
    assert report.failed == [bad] and report.sent == [good]
    assert row(db, bad).last_error.startswith("cannot build the message: KeyError")
