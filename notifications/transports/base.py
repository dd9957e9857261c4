"""What every transport shares: the errors that tell a transient failure from a permanent one,
what a send returns, and the protocol a transport follows.

Kept apart from the package's ``__init__`` (which picks a transport by the settings) so the
transports import these without importing the package that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from typing import Protocol

from pydantic import SecretStr


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


@dataclass(frozen=True)
class RobotMessage:
    """A message for a unit's group robot (WeCom or DingTalk), built when its outbox row is
    claimed: the unit's webhook and secret are read then, so a changed webhook applies to rows
    still waiting. The credentials are :class:`SecretStr`, so a ``repr`` or a log line never
    shows them."""

    channel: str
    unit: str
    """The unit's code (for error details; the credentials are never put in one)."""
    title: str
    markdown: str
    webhook: SecretStr
    secret: SecretStr | None = None


class Transport(Protocol):
    name: str

    def send(self, outbox_id: int, message: Message, recipients: list[str]) -> Sent: ...

    def close(self) -> None: ...
