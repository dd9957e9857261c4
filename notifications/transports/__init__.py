"""Transports deliver one built message; they tell a transient failure from a permanent one.

Transient (the mail server is down, slow, or says 4xx): the row is retried with backoff.
Permanent (5xx for this message or its recipients, an address that is not one): the row fails
at once, so a bad address never causes a retry storm.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from workflow.kernel.settings import Settings


class DeliveryError(Exception):
    """A failed send; ``permanent`` decides between retry and ``failed``."""

    permanent = False

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TransientError(DeliveryError):
    permanent = False


class PermanentError(DeliveryError):
    permanent = True


@dataclass
class Sent:
    """What the transport did: a one-line description and any recipients the server refused
    while accepting the others."""

    detail: str
    refused: dict[str, str] = field(default_factory=dict)


class Transport(Protocol):
    name: str

    def send(self, outbox_id: int, message: EmailMessage, recipients: list[str]) -> Sent: ...

    def close(self) -> None: ...


def transport_for(settings: Settings) -> Transport:
    """The transport named by ``settings.mail_transport``."""
    if settings.mail_transport == "smtp":
        from notifications.transports.smtp import SmtpTransport

        return SmtpTransport(settings)
    from notifications.transports.folder import FolderTransport

    return FolderTransport(settings)
