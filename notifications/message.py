"""Turning an outbox row into an RFC 5322 message that cannot be tricked into extra headers.

Defence in depth against header injection: subjects and display names are squeezed onto one
line when queued (:func:`notifications.addresses.clean_text`) and again here; addresses are built
with :class:`email.headerregistry.Address`, which refuses anything that is not one address; the
``email.policy.SMTP`` policy refuses to store a header value containing a line break; and the
transports take the envelope recipients from the row, never from the headers.
"""

from __future__ import annotations

import email.policy
from email import message_from_string
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from notifications.addresses import clean_text
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.settings import Settings


class BadMessage(ValueError):
    """The row cannot become a valid message (e.g. an address that is not one); permanent."""


def sender(settings: Settings) -> Address:
    """``settings.mail_from`` as an Address; accepts ``name <addr>`` or a bare address."""
    name, addr = parseaddr(settings.mail_from)
    if not addr or "@" not in addr:
        raise BadMessage(f"mail_from is not an address: {settings.mail_from!r}")
    return _address(name or "三同步 Santongbu", addr)


def _address(name: str | None, addr: str) -> Address:
    try:
        return Address(display_name=clean_text(name, limit=200), addr_spec=addr)
    except (ValueError, IndexError, TypeError) as exc:  # headerregistry's parse errors
        raise BadMessage(f"not a single valid address: {addr!r} ({exc})") from exc


def _round_trips(msg: EmailMessage, name: str, expected: list[Address]) -> bool:
    """Does the header, as it will be written, read back as exactly these addresses?"""
    folded = msg.policy.fold(name, msg[name])
    parsed = message_from_string(folded + "\r\n", policy=email.policy.default)[name]
    got = [(a.display_name, a.addr_spec) for a in parsed.addresses]
    return not parsed.defects and got == [(a.display_name, a.addr_spec) for a in expected]


def _set_addresses(msg: EmailMessage, name: str, addresses: list[Address]) -> None:
    """Set an address header, keeping display names only if they survive folding.

    Python releases from before the 2024 fix of cpython#100884 (3.11.7 is one) can fold a
    long list of non-ASCII display names into a broken header: the separating comma gets
    encoded, and recipients would see one garbled address. If the folded header does not read
    back as the same list, the names are dropped from that header; plain addresses always
    fold correctly.
    """
    msg[name] = addresses
    if not _round_trips(msg, name, addresses):
        del msg[name]
        msg[name] = [Address(addr_spec=a.addr_spec) for a in addresses]


def build_message(row: OutboxMessage, settings: Settings) -> EmailMessage:
    """The message for ``row``: same bytes on every attempt (Date and Message-ID come from the
    row), so a resend is recognisably the same email."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender(settings)
    to = [_address(r.get("name"), r["address"]) for r in row.to_list]
    cc = [_address(r.get("name"), r["address"]) for r in row.cc_list]
    if not to and not cc:
        raise BadMessage("the message has no recipient")
    if to:
        _set_addresses(msg, "To", to)
    if cc:
        _set_addresses(msg, "Cc", cc)
    msg["Subject"] = clean_text(row.subject, limit=400)
    msg["Date"] = format_datetime(row.created_at)
    if row.message_id:
        msg["Message-ID"] = clean_text(row.message_id, limit=250)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to robots
    msg["X-Santongbu-Outbox-Id"] = str(row.id)
    msg["X-Santongbu-Event"] = clean_text(row.event, limit=40)
    if row.document_id is not None:
        msg["X-Santongbu-Document-Id"] = str(row.document_id)
    msg.set_content(row.body_text, subtype="plain", charset="utf-8")
    msg.add_alternative(row.body_html, subtype="html", charset="utf-8")
    msg["Content-Language"] = "zh-CN" if row.language == "zh" else "en"  # after: set_content clears Content-*
    return msg
