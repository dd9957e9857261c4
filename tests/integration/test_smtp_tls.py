"""STARTTLS and implicit TLS with login, against aiosmtpd with a throw-away certificate."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult
from pydantic import SecretStr

from notifications.delivery import deliver_pending
from notifications.outbox import enqueue
from tests.conftest import shanghai
from tests.notif_factories import SmtpServer, make_bureau, make_document
from workflow.kernel.models import Document


@pytest.fixture
def db(sqlite_db):  # type: ignore[no-untyped-def]  # transport behaviour: one database is enough
    return sqlite_db


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a test certificate (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    return AuthResult(success=(auth_data.login, auth_data.password) == (b"gk", b"pw"))


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_login(db, settings, clock, certificate, monkeypatch, security):  # type: ignore[no-untyped-def]
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts only this test CA
    context = _server_context(cert, key)
    if security == "starttls":
        server = SmtpServer(tls_context=context, require_starttls=True, authenticator=_authenticator)
    else:
        # aiosmtpd only counts STARTTLS as "TLS" for AUTH; here the whole session is TLS.
        server = SmtpServer(ssl_context=context, authenticator=_authenticator, auth_require_tls=False)
    server.start()
    try:
        cfg = settings.model_copy(
            update={
                "mail_transport": "smtp",
                "smtp_host": "127.0.0.1",
                "smtp_port": server.port,
                "smtp_security": security,
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
        assert deliver_pending(db, cfg, clock, worker_id="w").sent == [row.id]
        assert server.handler.outbox_ids() == [row.id]

        # Without TLS the server refuses to go on: transient (configuration), not a lost email.
        plain = cfg.model_copy(update={"smtp_security": "none"})
        with db.transaction() as s:
            [again] = enqueue(
                s, event="reminder", document=s.get(Document, doc_id), at=clock.now(), settings=cfg
            )
        assert deliver_pending(db, plain, clock, worker_id="w").retried == [again.id]
    finally:
        server.stop()
