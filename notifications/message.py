"""Turning an outbox row into an RFC 5322 message that cannot be tricked into extra headers.

Defence in depth against header injection: subjects and display names are squeezed onto one
line when queued (:func:`notifications.addresses.clean_text`) and again here, and a header
value that still holds a line break is refused; every address is checked with
:class:`email.headerregistry.Address`, which refuses anything that is not one address; display
names are always written as quoted strings or RFC 2047 encoded words (so a name can never be
read as an address or a header); and the transports take the envelope recipients from the
row, never from the headers.

Text parts are UTF-8 sent as ``8bit`` — an ``.eml`` file read with ``less`` shows the Chinese
as it is, not base64 — or as quoted-printable where a line would exceed what 8bit allows (998
octets); the SMTP transport re-encodes 8bit parts as quoted-printable for a server without
8BITMIME (:func:`notifications.transports.smtp.seven_bit`). The ``Date:`` header is the row's creation instant in the working
time zone (``+0800``). Subject and bodies come from :mod:`notifications.content` (rendered from
the row's frozen facts).

Built with the ``email`` package's classic (``compat32``) API and CRLF line ends. The modern
API (``policy.SMTP``) parses and re-folds every header on every message, which took about
14 ms of CPU per email and capped delivery at ~70 emails/s per process (bench_delivery); it also
folded long lists of non-ASCII names wrongly before cpython#100884 was fixed. Encoding each
display name ourselves avoids both; address checks are memoised (a bureau mails the same few
hundred addresses over and over).
"""

from __future__ import annotations

import email.policy
import hashlib
from email import charset as _charset
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from zoneinfo import ZoneInfo

from notifications.addresses import clean_text
from notifications.content import Content
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.settings import Settings

# mangle_from_ off: a body line starting "From " is sent as written (8bit bodies are not encoded).
POLICY = email.policy.compat32.clone(linesep="\r\n", max_line_length=78, mangle_from_=False)
MAX_8BIT_LINE = 998
"""RFC 5322's limit on a line, in octets without CRLF: a part with a longer line goes quoted-printable."""


class BadMessage(ValueError):
    """The row cannot become a valid message (e.g. an address that is not one); permanent."""


@lru_cache(maxsize=8192)
def _checked(addr: str) -> str:
    """``addr`` if it is exactly one plain address (memoised)."""
    try:
        parsed = Address(addr_spec=addr)
    except (ValueError, IndexError, TypeError) as exc:  # headerregistry's parse errors
        raise BadMessage(f"not a single valid address: {addr!r} ({exc})") from exc
    if parsed.addr_spec != addr or any(c in addr for c in '\r\n,<>"'):
        raise BadMessage(f"not a single valid address: {addr!r}")
    if not addr.isascii():
        raise BadMessage(f"an internationalised address (SMTPUTF8) cannot be sent: {addr!r}")
    return addr


def _mailbox(name: str | None, addr: str) -> str:
    """``"name" <addr>``, the name quoted or RFC 2047-encoded, never able to become syntax."""
    return formataddr((clean_text(name, limit=200), _checked(addr)), charset="utf-8")


def sender(settings: Settings) -> tuple[str, str]:
    """``settings.mail_from`` as (header value, address); accepts ``name <addr>`` or an address."""
    name, addr = parseaddr(settings.mail_from)
    if not addr or "@" not in addr:
        raise BadMessage(f"mail_from is not an address: {settings.mail_from!r}")
    return _mailbox(name or "三同步 Santongbu", addr), addr


def _set(msg: Message, name: str, value: str | Header) -> None:
    if isinstance(value, str) and ("\r" in value or "\n" in value):
        raise BadMessage(f"{name} would span lines")
    msg[name] = value  # type: ignore[assignment]  # compat32 takes a Header too


def _utf8(body_encoding: int | None) -> _charset.Charset:
    """UTF-8 with the given body encoding (a fresh object: the registry's default is base64)."""
    cs = _charset.Charset("utf-8")
    cs.body_encoding = body_encoding  # type: ignore[assignment]  # None is 8bit (typeshed says int)
    return cs


def _part(text: str, subtype: str) -> MIMENonMultipart:
    long_line = any(len(line.encode("utf-8")) > MAX_8BIT_LINE for line in text.splitlines())
    part = MIMENonMultipart("text", subtype, policy=POLICY, charset="utf-8")
    part.set_payload(text, _utf8(_charset.QP if long_line else None))
    return part


def build_message(row: OutboxMessage, content: Content, settings: Settings) -> Message:
    """The message for ``row``: same bytes on every attempt (Date and Message-ID come from the
    row, the text from its frozen facts), so a resend is recognisably the same email."""
    to = [_mailbox(r.get("name"), r["address"]) for r in row.to_list]
    cc = [_mailbox(r.get("name"), r["address"]) for r in row.cc_list]
    if not to and not cc:
        raise BadMessage("the message has no recipient")
    # The boundary is derived from the bodies, not random, so every attempt is the same bytes;
    # "=_" cannot occur in quoted-printable, and an 8bit body does not contain its own hash.
    digest = hashlib.sha256(f"{content.text}\0{content.html}".encode()).hexdigest()[:40]
    msg = MIMEMultipart("alternative", policy=POLICY, boundary=f"=_santongbu_{digest}")
    _set(msg, "From", sender(settings)[0])
    if to:
        _set(msg, "To", ", ".join(to))
    if cc:
        _set(msg, "Cc", ", ".join(cc))
    _set(msg, "Subject", Header(clean_text(content.subject, limit=400), "utf-8"))
    _set(msg, "Date", format_datetime(row.created_at.astimezone(ZoneInfo(settings.timezone))))
    _set(msg, "Message-ID", clean_text(content.message_id, limit=250))
    _set(msg, "Auto-Submitted", "auto-generated")  # RFC 3834: no vacation replies to robots
    _set(msg, "X-Santongbu-Outbox-Id", str(row.id))
    _set(msg, "X-Santongbu-Event", clean_text(row.event, limit=40))
    if row.document_id is not None:
        _set(msg, "X-Santongbu-Document-Id", str(row.document_id))
    _set(msg, "Content-Language", "zh-CN" if row.language == "zh" else "en")
    msg.attach(_part(content.text, "plain"))
    msg.attach(_part(content.html, "html"))
    return msg
