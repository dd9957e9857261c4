"""OWASP ASVS 4.0.3, chapter V9 (communications): the SMTP password never crosses the network
in clear, and the mail server's certificate is checked. Against aiosmtpd on loopback with a
throw-away certificate (tests/integration/test_smtp_tls.py makes it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from notifications.delivery import deliver_pending
from notifications.outbox import enqueue
from notifications.transports import transport_for
from notifications.transports.smtp import SmtpConfigurationError
from tests.conftest import shanghai
from tests.integration.test_smtp_tls import _authenticator, _server_context, certificate  # noqa: F401 (fixture)
from tests.notif_factories import SmtpServer, make_bureau, make_document
from workflow.entrypoints.cli.main import app as cli_app
from workflow.kernel.models import Document
from workflow.kernel.settings import Settings

REMOTE = {
    "mail_transport": "smtp",
    "smtp_host": "mail.example.gov.cn",
    "smtp_port": 25,
    "smtp_username": "santongbu",
    "smtp_password": SecretStr("pw"),
}


@pytest.fixture
def db(sqlite_db):  # type: ignore[no-untyped-def]
    return sqlite_db


def test_v9_2_1_a_login_without_tls_is_refused_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASVS V9.2.1 / V2.10.x: with SANTONGBU_SMTP_SECURITY=none (the default) and a username set,
    the password went out as AUTH PLAIN in clear. Such settings are now refused when they are
    read (every command, the worker, the server) and when a transport is built, unless the
    server is on loopback or SANTONGBU_SMTP_ALLOW_PLAINTEXT_AUTH=true."""
    with pytest.raises(ValidationError, match="SANTONGBU_SMTP_SECURITY=none"):
        Settings(_env_file=None, **REMOTE)
    for fine in (
        {"smtp_security": "starttls"},
        {"smtp_security": "tls"},
        {"smtp_host": "127.0.0.1"},
        {"smtp_host": "localhost"},
        {"smtp_allow_plaintext_auth": True},
        {"smtp_username": None},
        {"mail_transport": "folder"},
    ):
        Settings(_env_file=None, **{**REMOTE, **fine})
    # Copied settings skip validation; the transport checks again before any connection.
    copied = Settings(_env_file=None).model_copy(update=REMOTE)
    with pytest.raises(SmtpConfigurationError):
        transport_for(copied)
    # The command line says what is wrong and how to fix it, without a traceback.
    monkeypatch.chdir(tmp_path)
    env = {
        "SANTONGBU_MAIL_TRANSPORT": "smtp",
        "SANTONGBU_SMTP_HOST": "mail.example.gov.cn",
        "SANTONGBU_SMTP_USERNAME": "santongbu",
        "SANTONGBU_SMTP_PASSWORD": "pw",
    }
    result = CliRunner().invoke(cli_app, ["outbox", "deliver"], env=env)
    assert result.exit_code != 0 and "配置错误" in result.output
    assert "SANTONGBU_SMTP_ALLOW_PLAINTEXT_AUTH" in result.output and "Traceback" not in result.output
    assert "pw" not in result.output.replace("ALLOW_PLAINTEXT", "")


def test_v9_2_1_certificates_are_checked_by_default(db, settings, clock, certificate) -> None:  # type: ignore[no-untyped-def]
    """ASVS V9.2.1 (trusted TLS certificates): a server whose certificate no trusted CA signed is
    not talked to (the email waits, transiently); naming its CA in SANTONGBU_SMTP_CA_FILE is the
    way to trust a private CA, not switching checks off."""
    cert, key = certificate
    server = SmtpServer(
        tls_context=_server_context(cert, key), require_starttls=True, authenticator=_authenticator
    )
    server.start()
    try:
        cfg = settings.model_copy(
            update={
                "mail_transport": "smtp",
                "smtp_host": "127.0.0.1",
                "smtp_port": server.port,
                "smtp_security": "starttls",
                "smtp_username": "gk",
                "smtp_password": SecretStr("pw"),
                "smtp_timeout_seconds": 5.0,
            }
        )
        bureau = make_bureau(db, clock.now())
        doc_id = make_document(
            db,
            bureau,
            clock.now(),
            published_at=shanghai(2024, 2, 2, 9),
            due_at=shanghai(2024, 2, 7, 23, 59, 59),
        )
        with db.transaction() as s:
            [row] = enqueue(
                s, event="published", document=s.get(Document, doc_id), at=clock.now(), settings=cfg
            )
        report = deliver_pending(db, cfg, clock, worker_id="w")
        assert report.retried == [row.id] and "CERTIFICATE_VERIFY_FAILED" in report.outcomes[0].detail
        assert server.handler.outbox_ids() == []
        with db.transaction() as s:
            s.get(type(row), row.id).next_attempt_at = clock.now()
        trusted = cfg.model_copy(update={"smtp_ca_file": cert})
        assert deliver_pending(db, trusted, clock, worker_id="w").sent == [row.id]
        assert server.handler.outbox_ids() == [row.id]
    finally:
        server.stop()
