"""Transports deliver one built message; they tell a transient failure from a permanent one.

Transient (the mail server is down, slow, or says 4xx): the row is retried with backoff.
Permanent (5xx for this message or its recipients, an address that is not one): the row fails
at once, so a bad address never causes a retry storm.

Emails go by the configured mail transport (``folder`` or ``smtp``); messages for a unit's
group robot go by the WeCom or DingTalk transport beside it (:class:`Channels`).
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import Message

from notifications.transports.base import (
    DeliveryError,
    PermanentError,
    RobotMessage,
    Sent,
    TransientError,
    Transport,
)
from notifications.transports.dingtalk import DingTalkTransport
from notifications.transports.folder import FolderTransport
from notifications.transports.smtp import SmtpTransport
from notifications.transports.wecom import WeComTransport
from workflow.kernel.clock import Clock, SystemClock
from workflow.kernel.settings import Settings

__all__ = [
    "Channels",
    "DeliveryError",
    "PermanentError",
    "RobotMessage",
    "Sent",
    "TransientError",
    "Transport",
    "transport_for",
]


class Channels:
    """The mail transport, with the group robots beside it: each message goes by its kind.

    Named after the mail transport, which is what a delivery report and an email's audit
    event call it; a robot row's events name the robot (``wecom``, ``dingtalk``).
    """

    def __init__(self, email: Transport, robots: Mapping[str, Transport]) -> None:
        self.email = email
        self.robots = dict(robots)
        self.name = email.name

    def send(self, outbox_id: int, message: Message | RobotMessage, recipients: list[str]) -> Sent:
        if isinstance(message, RobotMessage):
            robot = self.robots.get(message.channel)
            if robot is None:
                raise PermanentError(f"no transport for the {message.channel} channel")
            return robot.send(outbox_id, message, recipients)  # type: ignore[arg-type]
        return self.email.send(outbox_id, message, recipients)

    def close(self) -> None:
        for transport in (self.email, *self.robots.values()):
            transport.close()


def transport_for(settings: Settings, clock: Clock | None = None) -> Channels:
    """The mail transport named by ``settings.mail_transport``, with the WeCom and DingTalk
    robots; ``clock`` dates DingTalk's signatures (the system clock unless a test injects one)."""
    email: Transport = (
        SmtpTransport(settings) if settings.mail_transport == "smtp" else FolderTransport(settings)
    )
    robots: dict[str, Transport] = {
        "wecom": WeComTransport(settings),  # type: ignore[dict-item]
        "dingtalk": DingTalkTransport(settings, clock or SystemClock()),  # type: ignore[dict-item]
    }
    return Channels(email, robots)
