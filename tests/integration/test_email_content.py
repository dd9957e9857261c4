"""What an email says and how it is written: facts frozen when queued, rendered at delivery
(issue 20); readable as a file, dated in Beijing time, worded for its event (issue 18)."""

from __future__ import annotations

import email.policy
import json
import re
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import text

from notifications import render as render_module
from notifications.content import content_of
from notifications.delivery import claim, deliver_pending, lease_for
from notifications.outbox import enqueue
from notifications.transports import transport_for
from notifications.transports.folder import file_name
from tests.conftest import shanghai
from tests.notif_factories import SmtpServer, make_bureau, make_document
from workflow.kernel.db import Database, alembic_config
from workflow.kernel.models import Document, Unit
from workflow.kernel.models.outbox import OutboxMessage

PUB = shanghai(2024, 2, 9, 10, 30)
DUE = shanghai(2024, 2, 20, 23, 59, 59)
TITLE = "福州市道路运输管理办法"


@pytest.fixture
def bureau(db, clock):  # type: ignore[no-untyped-def]
    return make_bureau(db, clock.now())


def queue(db, settings, clock, doc_id, event="published", **kw):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        rows = enqueue(
            s, event=event, document=s.get(Document, doc_id), at=clock.now(), settings=settings, **kw
        )
        return [r.id for r in rows]


def eml(settings, outbox_id):  # type: ignore[no-untyped-def]
    raw = (Path(settings.mail_folder) / file_name(outbox_id)).read_bytes()
    return raw, message_from_bytes(raw, policy=email.policy.default)


def assert_readable(raw: bytes, msg) -> None:  # type: ignore[no-untyped-def]
    """Both text parts say 8bit (not base64), and the Chinese is in the bytes as UTF-8."""
    parts = [p for p in msg.walk() if p.get_content_maintype() == "text"]
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p["Content-Transfer-Encoding"] for p in parts] == ["8bit", "8bit"]
    assert f"标题:{TITLE}".encode() in raw and f"<td>{TITLE}</td>".encode() in raw
    assert msg["Date"].endswith(" +0800")


def test_the_queue_renders_nothing_and_the_email_shows_the_queued_facts(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    with db.transaction() as s:  # the unit has a group robot too: its row is queued alike
        s.get(Unit, bureau.spc).wecom_webhook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
    render_module.environment.cache_clear()
    [email_id, robot_id] = queue(db, settings, clock, doc_id)
    # No template environment was even built: nothing was rendered in the change's transaction.
    assert render_module.environment.cache_info().currsize == 0
    with db.transaction() as s:
        for row in (s.get(OutboxMessage, email_id), s.get(OutboxMessage, robot_id)):
            assert (row.subject, row.body_text, row.body_html, row.message_id) == (None, None, None, None)
            assert json.loads(row.context)["title"] == TITLE

    # Later the document and its unit change; the queued email still says what was true then.
    with db.transaction() as s:
        doc = s.get(Document, doc_id)
        doc.title, doc.doc_number, doc.due_at = "改过的标题", "榕交〔2024〕99号", DUE + timedelta(days=30)
        unit = s.get(Unit, bureau.spc)
        unit.name = "改名后的处室"
        unit.wecom_webhook = None  # (so its row fails here instead of posting to the vendor)
    clock.advance(timedelta(days=2))
    assert email_id in deliver_pending(db, settings, clock, worker_id="w1").sent
    raw, msg = eml(settings, email_id)
    body = msg.get_body(("plain",)).get_content()
    assert str(msg["Subject"]).startswith(f"【已公开】{TITLE}:请于 2024-02-20(周二)23:59 +08:00")
    assert "文号:榕交〔2024〕1号" in body and "起草处室:行政审批处" in body
    assert "改" not in body and "99号" not in body
    assert msg["Date"] == "Mon, 05 Feb 2024 10:00:00 +0800"  # when it was queued, in Beijing time
    assert_readable(raw, msg)


def test_a_redelivery_is_the_same_email_with_the_same_message_id(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [oid] = queue(db, settings, clock, doc_id)
    # A worker claims the row, hands it to the transport, and dies before recording the fate.
    [first] = claim(db, settings, clock.now(), worker_id="doomed", limit=10)
    transport = transport_for(settings, clock)
    transport.send(first.outbox_id, first.message, first.recipients)  # type: ignore[arg-type]
    sent_first, _ = eml(settings, oid)
    clock.advance(lease_for(settings) + timedelta(minutes=5))
    assert deliver_pending(db, settings, clock, worker_id="w2").sent == [oid]  # taken over, sent again
    sent_again, msg = eml(settings, oid)
    assert sent_again == sent_first  # rendered twice, byte for byte the same email
    assert re.fullmatch(rf"<santongbu\.outbox\.{oid}\.\d+@localhost>", msg["Message-ID"])


def test_an_smtp_message_is_8bit_and_falls_back_to_quoted_printable(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE, signers=(bureau.head,))
    for decode_data, expected in ((False, "8bit"), (True, "quoted-printable")):
        # aiosmtpd offers 8BITMIME unless it decodes the data itself
        server = SmtpServer(decode_data=decode_data).start()
        try:
            cfg = settings.model_copy(
                update={"mail_transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": server.port}
            )
            [oid] = queue(db, cfg, clock, doc_id, "signoff_requested")  # repeatable: queued each time
            assert oid in deliver_pending(db, cfg, clock, worker_id="w1").sent
            [got] = server.received
        finally:
            server.stop()
        msg = got.message
        parts = [p for p in msg.walk() if p.get_content_maintype() == "text"]
        assert {p["Content-Transfer-Encoding"] for p in parts} == {expected}
        assert TITLE in msg.get_body(("plain",)).get_content()
        assert msg["Date"].endswith(" +0800")
        if expected == "8bit":
            assert f"标题:{TITLE}".encode() in got.data  # readable as it travels
        else:
            assert "标题".encode() not in got.data and b"=E6=A0=87=E9=A2=98" in got.data


def test_a_line_too_long_for_8bit_goes_quoted_printable(db, settings, clock, bureau):  # type: ignore[no-untyped-def]
    long_title = "关于" * 200  # 1,200 bytes of UTF-8 on the title's line: over RFC 5322's 998
    doc_id = make_document(db, bureau, clock.now(), title=long_title, published_at=PUB, due_at=DUE)
    [oid] = queue(db, settings, clock, doc_id)
    deliver_pending(db, settings, clock, worker_id="w1")
    raw, msg = eml(settings, oid)
    parts = [p for p in msg.walk() if p.get_content_maintype() == "text"]
    assert [p["Content-Transfer-Encoding"] for p in parts] == ["quoted-printable"] * 2
    assert long_title in msg.get_body(("plain",)).get_content()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize(
    "event, extra, says, never",
    [
        # What the sweep passes for each rung (its own figure of working days overdue).
        (
            "reminder",
            {"level": "reminder", "working_days_overdue": 0},
            ["【今日到期】", "今天 23:59:59 前发布", "截止时间为今天 23:59:59(北京时间)"],
            ["逾期"],
        ),
        (
            "overdue",
            {"level": "overdue", "working_days_overdue": 0},
            ["【已逾期】", "已超过发布期限"],
            ["逾期:0", "0 个工作日"],
        ),
        (
            "escalated",
            {"level": "escalated", "working_days_overdue": 1},
            ["【逾期督办】", "逾期满 1 个工作日", "逾期情况:逾期满 1 个工作日"],
            ["今天"],
        ),
        ("posted_late", {"working_days_overdue": 0}, ["【逾期发布】", "逾期不满 1 个工作日"], ["0 个工作日"]),
    ],
)
def test_each_event_says_what_fits_it(db, settings, clock, bureau, event, extra, says, never):  # type: ignore[no-untyped-def]
    doc_id = make_document(db, bureau, clock.now(), published_at=PUB, due_at=DUE)
    [oid] = queue(db, settings, clock, doc_id, event, extra=extra)
    deliver_pending(db, settings, clock, worker_id="w1")
    _, msg = eml(settings, oid)
    words = (
        str(msg["Subject"]) + msg.get_body(("plain",)).get_content() + msg.get_body(("html",)).get_content()
    )
    assert all(w in words for w in says), words
    assert not any(w in words for w in never), words


def test_a_row_rendered_before_the_upgrade_is_delivered_as_it_was(tmp_path, clock):  # type: ignore[no-untyped-def]
    from alembic import command

    from workflow.kernel.settings import Settings

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(db), "0015_material_files")
    at = clock.now().replace(tzinfo=None)
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (id, event, language, to_addrs, cc_addrs, subject, body_text, body_html, "
                "status, attempts, next_attempt_at, created_at, message_id, channel) VALUES (1, 'published', "
                "'zh', :to, '[]', '【已公开】旧邮件', '旧正文 中文', '<p>旧正文</p>', 'pending', 0, :at, :at, "
                "'<santongbu.outbox.1.stored@example.org>', 'email')"
            ),
            {"to": json.dumps([{"name": "处室", "address": "spc@example.org"}]), "at": at},
        )
    db.upgrade()
    settings = Settings(database_url=db.url, mail_folder=tmp_path / "mail")
    assert deliver_pending(db, settings, clock, worker_id="w1").sent == [1]
    raw, msg = eml(settings, 1)
    assert (
        str(msg["Subject"]) == "【已公开】旧邮件"
        and msg["Message-ID"] == "<santongbu.outbox.1.stored@example.org>"
    )
    assert "旧正文 中文".encode() in raw
    with db.transaction() as s:
        assert content_of(s.get(OutboxMessage, 1), settings).text == "旧正文 中文"
    db.dispose()
