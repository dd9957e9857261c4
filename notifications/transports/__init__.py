"""Transports deliver one built message; they tell a transient failure from a permanent one.

Transient (the mail server is down, slow, or says 4xx): the row is retried with backoff.
Permanent (5xx for this message or its recipients, an address that is not one): the row fails
at once, so a bad address never causes a retry storm.
"""

from __future__ import annotations

from notifications.transports.base import DeliveryError, PermanentError, Sent, TransientError, Transport
from notifications.transports.folder import FolderTransport
from notifications.transports.smtp import SmtpTransport
from workflow.kernel.settings import Settings

__all__ = ["DeliveryError", "PermanentError", "Sent", "TransientError", "Transport", "transport_for"]


def transport_for(settings: Settings) -> Transport:
    """The transport named by ``settings.mail_transport``."""
    if settings.mail_transport == "smtp":
        return SmtpTransport(settings)
    return FolderTransport(settings)
