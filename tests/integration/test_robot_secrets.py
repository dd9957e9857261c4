"""The units' robot credentials encrypted at rest (workflow/kernel/secretbox.py): the row holds
no plaintext, delivery to the loopback robot servers still works and signs with the real
secret, nothing printed, logged or audited names a credential, no key means one clear line
(setting a robot, delivering to one), and migration 0017 encrypts what an older database kept
in plain text (or ``unit seal-secrets`` does, once a key is set). SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text
from typer.testing import CliRunner

from notifications.delivery import deliver_pending
from tests.factories import make_workflow, seed_bureau, to_published
from tests.robot_secrets import key_file
from tests.robot_server import RobotServer
from workflow.entrypoints.cli.main import app as cli
from workflow.kernel.db import Database, alembic_config
from workflow.kernel.models import AuditEvent
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.secretbox import COLUMNS, is_sealed, read_key, secret_box

WECOM_KEY = "wk-7f3a9c1e55d2"
DING_TOKEN = "dt-0b8e6a4c2f19"
DING_SECRET = "SECc0ffee1234567890abcdef"
WECOM = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"
DINGTALK = f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}"
PLAIN = (WECOM_KEY, DING_TOKEN, DING_SECRET)


def stored(db: Database, code: str = "spc") -> dict[str, Any]:
    with db.engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT {', '.join(COLUMNS)} FROM units WHERE code = :c"), {"c": code}
        ).mappings()
        return dict(next(iter(row)))


def everything(db: Database) -> str:
    """Every audit event and outbox row, as text."""
    with db.transaction() as s:
        audit = [(e.action, e.details) for e in s.scalars(select(AuditEvent))]
        rows = [(r.subject, r.body_text, r.last_error, r.to_addrs) for r in s.scalars(select(OutboxMessage))]
    return json.dumps([audit, rows], ensure_ascii=False, default=str)


@pytest.fixture
def server(clock):  # type: ignore[no-untyped-def]
    srv = RobotServer(
        wecom_keys={WECOM_KEY},
        dingtalk_secrets={DING_TOKEN: DING_SECRET},
        now_ms=lambda: clock.now().timestamp() * 1000,
    ).start()
    yield srv
    srv.stop()


def test_stored_encrypted_delivered_signed_and_never_shown(  # type: ignore[no-untyped-def]
    db, clock, settings, server, caplog, monkeypatch
) -> None:
    caplog.set_level(logging.DEBUG)
    directory = seed_bureau(db, clock)
    directory.secrets = secret_box(settings)
    view = directory.update_unit(
        "admin", "spc", {"wecom_webhook": WECOM, "dingtalk_webhook": DINGTALK, "dingtalk_secret": DING_SECRET}
    )
    assert view["robots"]["wecom"]["key"] == "…55d2" and view["robots"]["dingtalk"]["key"] == "…2f19"
    row = stored(db)
    assert all(is_sealed(v) for v in row.values())
    assert not [p for p in PLAIN if p in json.dumps(row)]  # no plaintext in the row

    doc = to_published(make_workflow(db, clock, settings))  # 'published' reaches spc's groups
    cfg = settings.model_copy(
        update={"wecom_base_url": server.base_url, "dingtalk_base_url": server.base_url}
    )
    report = deliver_pending(db, cfg, clock, worker_id="w1")
    assert not report.failed and not report.retried
    paths = sorted((c.path, sorted(c.query)) for c in server.calls)
    assert paths == [
        ("/cgi-bin/webhook/send", ["key"]),
        ("/robot/send", ["access_token", "sign", "timestamp"]),  # the server checked the signature
    ]
    assert {c.answered[0] for c in server.calls} == {200}
    assert all(b'"errcode": 0' in c.answered[1] for c in server.calls)

    monkeypatch.setenv("SANTONGBU_SECRETS_KEY_FILE", str(settings.secrets_key_file))
    listed = CliRunner().invoke(cli, ["--lang", "en", "--db", db.url, "unit", "list", "--as", "admin"])
    assert listed.exit_code == 0 and "wecom=all (key …55d2)" in listed.stdout
    shown = listed.output + caplog.text + everything(db) + str(doc)
    assert not [p for p in PLAIN if p in shown]


def test_without_a_key_one_clear_line(db, clock, settings, server) -> None:  # type: ignore[no-untyped-def]
    directory = seed_bureau(db, clock)
    directory.secrets = secret_box(settings)
    directory.update_unit("admin", "spc", {"wecom_webhook": WECOM})
    cfg = settings.model_copy(update={"secrets_key_file": None, "wecom_base_url": server.base_url})
    to_published(make_workflow(db, clock, cfg))
    report = deliver_pending(db, cfg, clock, worker_id="w1")
    with db.transaction() as s:
        [robot] = s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "wecom"))
        assert robot.id in report.failed and robot.status == "failed"
        assert "SANTONGBU_SECRETS_KEY_FILE is not set" in robot.last_error and "\n" not in robot.last_error
    assert server.calls == []
    directory.secrets = None
    result = CliRunner().invoke(
        cli,
        ["--db", db.url, "unit", "set", "spc", "--wecom-webhook", WECOM, "--as", "admin"],
        env={"SANTONGBU_SECRETS_KEY_FILE": ""},
    )
    assert result.exit_code == 2 and "未设置 SANTONGBU_SECRETS_KEY_FILE" in result.output
    assert "Traceback" not in result.output and WECOM_KEY not in result.output


def test_migration_0017_encrypts_what_was_plain_and_downgrade_decrypts(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(db)
    command.upgrade(cfg, "0015_material_files")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO units (id, code, name, kind, created_at, wecom_webhook, dingtalk_webhook, "
                "dingtalk_secret) VALUES (1, 'spc', '审批处', 'drafting', '2024-01-02 09:00:00', :w, :d, :s)"
            ),
            {"w": WECOM, "d": DINGTALK, "s": DING_SECRET},
        )
    key = key_file(tmp_path)
    monkeypatch.setenv("SANTONGBU_SECRETS_KEY_FILE", str(key))
    db.upgrade()
    row = stored(db)
    assert all(is_sealed(v) for v in row.values()) and not [p for p in PLAIN if p in json.dumps(row)]
    box = read_key(key)
    assert [box.open(row[c]) for c in COLUMNS] == [WECOM, DINGTALK, DING_SECRET]
    command.downgrade(cfg, "0015_material_files")
    assert stored(db) == dict(zip(COLUMNS, (WECOM, DINGTALK, DING_SECRET)))
    db.dispose()


def test_a_key_set_after_the_upgrade_seals_with_unit_seal_secrets(db, clock, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    with db.engine.begin() as conn:  # as a database upgraded without a key keeps them
        conn.execute(text("UPDATE units SET wecom_webhook = :w WHERE code = 'spc'"), {"w": WECOM})
    monkeypatch.setenv("SANTONGBU_SECRETS_KEY_FILE", str(settings.secrets_key_file))
    result = CliRunner().invoke(
        cli, ["--lang", "en", "--db", db.url, "unit", "seal-secrets", "--as", "admin"]
    )
    assert result.exit_code == 0 and "robot credentials encrypted for 1 unit(s)" in result.stdout
    assert is_sealed(stored(db)["wecom_webhook"])
    assert secret_box(settings).open(stored(db)["wecom_webhook"]) == WECOM
    again = CliRunner().invoke(cli, ["--lang", "en", "--db", db.url, "unit", "seal-secrets", "--as", "admin"])
    assert "for 0 unit(s)" in again.stdout
    refused = CliRunner().invoke(
        cli, ["--lang", "en", "--db", db.url, "unit", "seal-secrets", "--as", "liu.spc"]
    )
    assert refused.exit_code == 2 and "Traceback" not in refused.output
