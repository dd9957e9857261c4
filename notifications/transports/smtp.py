"""SMTP delivery (production): plain, STARTTLS or implicit TLS, optional login.

One connection serves a whole delivery run and is reopened after any connection-level error.
Errors are classified so the outbox knows whether to wait and retry or give up:

* transient: connection refused or reset, timeouts, TLS or login problems (configuration that an
  operator fixes, after which the waiting mail goes out), and every 4xx reply;
* permanent: a 5xx reply about this message, its sender or all its recipients, and a message the
  server cannot take (e.g. an internationalised address without SMTPUTF8).

The password comes from settings as a SecretStr and is never logged or put in an error, and
never crosses the network in clear: a login without TLS to a server that is not on loopback is
refused when the transport is built (and when the settings are read), unless
``SANTONGBU_SMTP_ALLOW_PLAINTEXT_AUTH=true``. Certificates are always checked against the
system's CAs, or against ``SANTONGBU_SMTP_CA_FILE`` for a private CA.
"""

from __future__ import annotations

import copy
import smtplib
import socket
import ssl
from email import charset as _charset
from email.message import Message
from email.utils import parseaddr

from notifications.transports.base import DeliveryError, PermanentError, Sent, TransientError
from states.i18n import _
from workflow.kernel.settings import Settings, plaintext_login_problem


def _reply(code: int, text: bytes | str) -> str:
    body = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(body.split())}"


def classify(exc: BaseException) -> DeliveryError:
    """Map an exception raised while talking SMTP to a transient or permanent failure."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = {addr: _reply(code, text) for addr, (code, text) in exc.recipients.items()}
        detail = "all recipients refused: " + "; ".join(f"{a}: {r}" for a, r in replies.items())
        if all(code >= 500 for code, _ in exc.recipients.values()):
            return PermanentError(detail)
        return TransientError(detail)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return TransientError(f"login refused: {_reply(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, (smtplib.SMTPConnectError, smtplib.SMTPHeloError)):
        return TransientError(f"server refused the session: {_reply(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = _reply(exc.smtp_code, exc.smtp_error)
        if isinstance(exc, smtplib.SMTPSenderRefused):
            detail = f"sender refused: {detail}"
        return PermanentError(detail) if exc.smtp_code >= 500 else TransientError(detail)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentError(f"server cannot take this message: {exc}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientError(f"server disconnected: {exc}")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return TransientError("timed out talking to the mail server")
    if isinstance(exc, ssl.SSLError):
        return TransientError(f"TLS failed: {exc.reason or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return TransientError("connection refused by the mail server")
    if isinstance(exc, OSError):
        return TransientError(f"network error: {exc.strerror or exc}")
    if isinstance(exc, (UnicodeError, ValueError)):
        return PermanentError(f"message cannot be sent: {exc}")
    return TransientError(f"{type(exc).__name__}: {exc}")


def is_8bit(msg: Message) -> bool:
    return any(part.get("Content-Transfer-Encoding") == "8bit" for part in msg.walk())


def seven_bit(msg: Message) -> Message:
    """A copy of ``msg`` with its 8bit parts quoted-printable (for a server without 8BITMIME)."""
    out = copy.deepcopy(msg)
    for part in out.walk():
        if part.get("Content-Transfer-Encoding") == "8bit":
            text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")  # type: ignore[union-attr]
            del part["Content-Transfer-Encoding"]
            qp = _charset.Charset(part.get_content_charset() or "utf-8")
            qp.body_encoding = _charset.QP
            part.set_payload(text, qp)
    return out


class SmtpConfigurationError(ValueError):
    """The SMTP settings would be unsafe (a password in clear); refused before connecting."""


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        problem = plaintext_login_problem(settings)
        if problem:
            raise SmtpConfigurationError(problem)
        self.settings = settings
        self._conn: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=str(s.smtp_ca_file) if s.smtp_ca_file else None)
        conn: smtplib.SMTP
        if s.smtp_security == "tls":
            conn = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds, context=context)
        else:
            conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        try:
            conn.ehlo()
            if s.smtp_security == "starttls":
                if not conn.has_extn("starttls"):
                    raise TransientError(f"{self.where} does not offer STARTTLS (smtp_security=starttls)")
                conn.starttls(context=context)
                conn.ehlo()
            if s.smtp_username:
                secret = s.smtp_password
                password = secret.get_secret_value() if secret is not None else ""
                conn.login(s.smtp_username, password)
        except BaseException:
            _quietly_close(conn)
            raise
        return conn

    def send(self, outbox_id: int, message: Message, recipients: list[str]) -> Sent:
        sender = parseaddr(str(message["From"]))[1]
        if self._conn is None:
            try:
                self._conn = self._open()
            except Exception as exc:
                # Whatever goes wrong before MAIL FROM (refused, TLS, no AUTH, bad login) is
                # about the server or our configuration, never this message: retry later.
                error = classify(exc)
                raise (error if not error.permanent else TransientError(error.detail)) from exc
        options: list[str] = []
        if is_8bit(message):
            # Text parts go 8bit (readable as stored); a server without 8BITMIME gets them
            # quoted-printable instead, which every server takes.
            if self._conn.has_extn("8bitmime"):
                options = ["BODY=8BITMIME"]
            else:
                message = seven_bit(message)
        try:
            refused = self._conn.send_message(
                message, from_addr=sender, to_addrs=recipients, mail_options=options
            )
        except smtplib.SMTPResponseException as exc:
            # A reply about this message leaves the session usable (smtplib sent RSET);
            # anything about the session itself does not.
            if isinstance(
                exc, (smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError)
            ) or exc.smtp_code in (421,):
                self.close()
            raise classify(exc) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise classify(exc) from exc
        except Exception as exc:
            self.close()
            raise classify(exc) from exc
        return Sent(
            detail=_("accepted by {where}", where=self.where),
            refused={a: _reply(c, t) for a, (c, t) in (refused or {}).items()},
        )

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _quietly_close(conn)


def _quietly_close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except Exception:
        try:
            conn.close()
        except Exception:
            pass
