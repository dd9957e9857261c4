"""Uvicorn's HTTP protocol with ``TCP_NODELAY`` set on every accepted connection.

``santongbu serve --workers N`` lets uvicorn bind the listening socket before it starts the
worker processes, and uvicorn makes that socket as ``socket.socket(family=…)``: protocol 0, not
``IPPROTO_TCP``. The standard asyncio loop sets ``TCP_NODELAY`` only on transports whose socket
says it is TCP, so every accepted connection kept Nagle's algorithm on, and a response written
in two pieces (headers, then body: uvicorn's h11 protocol does that) waited for the client's
delayed ACK: about 40 ms on every request on Linux (issue 20: GET /me 48 ms with two processes
against 1.7 ms with one). uvloop sets the option itself; this class sets it whatever the loop,
so a server without uvloop (``uvicorn`` without ``[standard]``, or a platform uvloop does not
build on) does not pay it either.

It is the protocol uvicorn would pick itself (``auto``: httptools when installed, h11
otherwise), with one more system call per connection, not per request.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

# For uvicorn's ``http=`` option, also in the worker processes it spawns (an import string).
IMPORT_STRING = "workflow.entrypoints.api.http_protocol:NoDelayHTTPProtocol"


def set_nodelay(transport: asyncio.BaseTransport) -> bool:
    """Turn Nagle's algorithm off on a TCP transport's socket; False if it is not TCP or cannot."""
    sock: Any = transport.get_extra_info("socket")
    if sock is None or getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError, NotImplementedError):  # a closed socket; a loop's pseudo-socket
        return False
    return True


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """Uvicorn's automatic HTTP protocol, with ``TCP_NODELAY`` on the connection's socket."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        set_nodelay(transport)
        super().connection_made(transport)
