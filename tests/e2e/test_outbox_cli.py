"""``santongbu outbox …`` end to end on a real database and the mail folder; reads by those who
may read the whole trail, retry by an admin, and every refusal audited."""

from __future__ import annotations

import json
import re
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from notifications.delivery import deliver_pending, retry
from notifications.outbox import enqueue
from notifications.transports.folder import file_name
from states.snapshot import ActorSnapshot
from tests.conftest import shanghai
from tests.notif_factories import make_bureau, make_document
from workflow.entrypoints.cli.main import app
from workflow.kernel.errors import Forbidden, InvalidInput, NotFound
from workflow.kernel.models import AuditEvent, Document
from workflow.kernel.models.outbox import OutboxMessage
from workflow.services.directory import Directory

NOW = "2024-02-05T10:00:00+08:00"


@pytest.fixture
def queued(sqlite_db, settings, clock):  # type: ignore[no-untyped-def]
    bureau = make_bureau(sqlite_db, clock.now())
    doc_id = make_document(
        sqlite_db,
        bureau,
        clock.now(),
        published_at=shanghai(2024, 2, 2, 9),
        due_at=shanghai(2024, 2, 7, 23, 59, 59),
    )
    with sqlite_db.transaction() as s:
        [row] = enqueue(
            s, event="published", document=s.get(Document, doc_id), at=clock.now(), settings=settings
        )
        return row.id


@pytest.fixture
def db(sqlite_db):  # type: ignore[no-untyped-def]  # the CLI tests need one database only
    return sqlite_db


def run(db, settings, *args: str):  # type: ignore[no-untyped-def]
    env = {
        "SANTONGBU_MAIL_FOLDER": str(settings.mail_folder),
        "SANTONGBU_MAIL_TRANSPORT": "folder",
        "SANTONGBU_BROKER_URL": "",
    }
    return CliRunner().invoke(app, ["--db", db.url, "--now", NOW, *args], env=env)


def test_list_show_deliver_and_the_eml_file(db, settings, queued):  # type: ignore[no-untyped-def]
    out = run(db, settings, "outbox", "list", "--as", "admin")
    assert out.exit_code == 0, out.output
    assert (
        re.search(rf"^{queued}\s+pending\s", out.output, re.M)
        and "spc@jtj.example.org, liu@jtj.example.org" in out.output
    )

    out = run(db, settings, "outbox", "show", str(queued), "--as", "admin")
    assert out.exit_code == 0 and "行政审批处 <spc@jtj.example.org>" in out.output
    assert "解读发布截止:2024-02-07(周三)23:59 +08:00" in out.output

    out = run(db, settings, "outbox", "deliver")
    assert out.exit_code == 0, out.output
    assert "经 folder 领取 1 封:已发送 1,待重试 0,失败 0" in out.output
    eml = settings.mail_folder / file_name(queued)
    msg = message_from_bytes(eml.read_bytes(), policy=default_policy)
    assert str(msg["Subject"]).startswith("【已公开】福州市道路运输管理办法")
    assert msg["X-Santongbu-Outbox-Id"] == str(queued)
    assert list(settings.mail_folder.iterdir()) == [eml]  # no temporary file left behind

    assert run(db, settings, "outbox", "deliver").output.strip() == "没有要投递的邮件"
    data = json.loads(
        run(db, settings, "outbox", "list", "--status", "sent", "--json", "--as", "admin").output
    )
    assert [d["id"] for d in data] == [queued] and data[0]["sent_at"] == "2024-02-05T10:00:00+08:00"


def test_user_mistakes_are_one_line_and_non_zero(db, settings, queued):  # type: ignore[no-untyped-def]
    for args, text in (
        (
            ["outbox", "list", "--status", "lost"],
            "--status:'lost' 不是以下之一:pending, sending, sent, failed",
        ),
        (["outbox", "list"], "outbox list 需要 --as LOGIN"),
        (["outbox", "show", "999", "--as", "admin"], "没有编号为 999 的邮件"),
        (["outbox", "show", "999"], "outbox show 需要 --as LOGIN"),
        (["outbox", "list", "--as", "nobody"], "没有用户 nobody"),
        (["outbox", "retry", str(queued)], "retry 需要 --as LOGIN"),
        (["outbox", "retry", str(queued), "--as", "nobody"], "没有用户 nobody"),
        (["outbox", "retry", str(queued), "--as", "liu"], "liu 不是管理员"),
        (["outbox", "retry", str(queued), "--as", "admin"], None),
    ):
        out = run(db, settings, *args)
        if text is None:
            assert out.exit_code == 0 and "已重新排队" in out.output
            continue
        assert out.exit_code == 2, (args, out.output)
        assert text in out.output and "Traceback" not in out.output
        assert len(out.output.strip().splitlines()) == 1


def test_reading_the_outbox_needs_someone_who_may_read_the_whole_trail(db, settings, clock, queued):  # type: ignore[no-untyped-def]
    """A clerk may not read other units' emails from the command line any more than through
    the API: refused in one line with exit status 2, and the refusal audited. An
    administrator and an auditor read them."""
    Directory(db, clock).add_user(
        "admin", {"login": "shen", "name": "沈审计", "unit": "gkb", "roles": ["member", "auditor"]}
    )
    for args, action in (
        (["outbox", "list"], "outbox_list"),
        (["outbox", "show", str(queued)], "outbox_show"),
    ):
        out = run(db, settings, *args, "--as", "liu")
        assert out.exit_code == 2, out.output
        assert out.output.strip().splitlines() == ["liu 不是监督或审计人员"]
        with db.transaction() as s:
            refused = s.scalars(
                select(AuditEvent).where(AuditEvent.actor == "liu").order_by(AuditEvent.id.desc())
            ).first()
            assert (refused.action, refused.outcome) == (action, "refused")
            assert json.loads(refused.details)["reasons"][0]["code"] == "not_auditor"
        for reader in ("admin", "shen"):
            out = run(db, settings, *args, "--as", reader)
            assert out.exit_code == 0, out.output
            assert "spc@jtj.example.org" in out.output


def test_failed_email_retried_by_an_administrator_only(db, settings, clock, queued):  # type: ignore[no-untyped-def]
    broken = settings.model_copy(update={"mail_transport": "smtp", "smtp_port": 1, "outbox_max_attempts": 1})
    assert deliver_pending(db, broken, clock, worker_id="w").failed == [queued]

    clerk = ActorSnapshot(login="liu", unit_id=1, unit_code="spc", roles=frozenset({"member"}))
    with pytest.raises(Forbidden):
        retry(db, queued, clerk, clock)
    admin = ActorSnapshot(login="admin", unit_id=3, unit_code="gkb", roles=frozenset({"admin"}))
    with pytest.raises(NotFound):
        retry(db, 12345, admin, clock)
    row = retry(db, queued, admin, clock)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, clock.now())
    assert deliver_pending(db, settings, clock, worker_id="w").sent == [queued]  # folder works
    with pytest.raises(InvalidInput):
        retry(db, queued, admin, clock)  # already sent: nothing to retry
    with db.transaction() as s:
        trail = [
            (e.action, e.outcome, e.actor) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]
    assert trail == [
        ("email_queued", "allowed", None),
        ("email_failed", "allowed", "system"),
        ("email_retry_requested", "refused", "liu"),
        ("email_retry_requested", "allowed", "admin"),
        ("email_sent", "allowed", "system"),
    ]


def test_folder_retry_overwrites_instead_of_duplicating(db, settings, clock, queued):  # type: ignore[no-untyped-def]
    from notifications.content import content_of
    from notifications.message import build_message
    from notifications.transports.folder import FolderTransport

    with db.transaction() as s:
        row = s.get(OutboxMessage, queued)
        msg = build_message(row, content_of(row, settings), settings)
    transport = FolderTransport(settings)
    first = transport.send(queued, msg, row.envelope_recipients)
    again = transport.send(queued, msg, row.envelope_recipients)
    assert first.detail == again.detail
    assert [p.name for p in settings.mail_folder.iterdir()] == [file_name(queued)]
