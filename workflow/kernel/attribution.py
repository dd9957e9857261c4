"""Through which channel, with which credential, an action came in (docs/design.md §6).

Each entry point says who is calling before it calls a service, and the audit trail writes it
on every event (:mod:`workflow.kernel.audit`):

* ``cli`` — the operating-system user and host (``os:USER@HOST``); ``--as`` / ``SANTONGBU_USER``
  is the login acted as, the event's ``actor``;
* ``api`` — the API token's id (``token:<id>``);
* ``web`` — a hash of the signed-in session (``session:<hash>``), never the cookie itself;
* ``worker`` — the Celery worker (``worker:<hostname>``);
* ``system`` — anything else the engine does by itself (the default).

A process acting "as of" another instant (the CLI's ``--now``, the demo) is under a *clock
override*: every event it writes also records the real wall-clock instant (``wall_at``), so the
trail says which instants were set by hand.

The attribution lives in a :class:`contextvars.ContextVar`: a request handled in a worker
thread sees the attribution of its own request, never another's. :func:`acting` sets it for a
block; :func:`begin` for the rest of a process (a CLI invocation).
"""

from __future__ import annotations

import getpass
import hashlib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime

CHANNELS = ("cli", "api", "web", "worker", "system")


@dataclass
class Attribution:
    """The channel and credential of the actions under way. ``credential`` may be filled in
    after the request has been authenticated (the API's token, the page's session)."""

    channel: str = "system"
    credential: str | None = None
    clock_override: bool = False

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")


SYSTEM = Attribution()
_current: ContextVar[Attribution | None] = ContextVar("santongbu_attribution", default=None)
_process_override = False


def current() -> Attribution:
    return _current.get() or SYSTEM


def begin(
    channel: str, credential: str | None = None, *, clock_override: bool = False
) -> Token[Attribution | None]:
    """Attribute everything from now on in this context (e.g. a CLI invocation)."""
    return _current.set(Attribution(channel, credential, clock_override))


def end(token: Token[Attribution | None]) -> None:
    _current.reset(token)


@contextmanager
def acting(
    channel: str, credential: str | None = None, *, clock_override: bool = False
) -> Iterator[Attribution]:
    """Attribute what happens inside the block; yields the attribution (to fill in later)."""
    token = begin(channel, credential, clock_override=clock_override)
    try:
        yield current()
    finally:
        end(token)


def set_clock_override(on: bool) -> None:
    """The whole process acts on a clock set by hand (the CLI's ``--now``, the demo, a drill)."""
    global _process_override
    _process_override = on


def clock_overridden() -> bool:
    return _process_override or current().clock_override


def wall_clock() -> datetime:
    """The real instant, whatever clock the services were handed: recorded beside an
    overridden one."""
    return datetime.now(UTC)


def os_credential() -> str:
    """``os:USER@HOST`` of the process running the CLI."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"os:{user}@{socket.gethostname()}"[:200]


def session_credential(session_id: str) -> str:
    """A web session as the trail names it: a short hash, never the secret itself."""
    return "session:" + hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
