"""A cap on request bodies, so that one request cannot fill the server's memory.

A ``Content-Length`` above the cap is answered at once with 413; a chunked body is counted
as it arrives and stopped with 413 when it passes the cap.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from states.reasons import Reason
from workflow.entrypoints.api.problems import TooLarge, problem

DEFAULT_LIMIT = 2 * 1024 * 1024


class BodyLimit:
    """Pure ASGI middleware (it must see the body before any route reads it)."""

    def __init__(self, app: ASGIApp, limit: int = DEFAULT_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0  # the HTTP server refuses a malformed length itself
                if declared > self.limit:
                    response = problem(
                        Request(scope), 413, "too_large", [Reason("too_large", {"limit": self.limit})]
                    )
                    await response(scope, receive, send)
                    return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise TooLarge(Reason("too_large", {"limit": self.limit}))
            return message

        await self.app(scope, counted, send)
