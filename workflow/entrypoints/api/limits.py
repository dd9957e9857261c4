"""A cap on request bodies, so that one request cannot fill the server's memory.

A ``Content-Length`` above the cap is answered at once with 413. A body without one (chunked)
is read here first, counted as it arrives, and answered with 413 as soon as it passes the cap;
under the cap it is handed to the application as it came. (Stopping it from inside the route's
own read, as before, surfaced as FastAPI's "error parsing the body", a 422.)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from states.reasons import Reason
from workflow.entrypoints.api.problems import problem

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
                await self.app(scope, receive, send)  # the server stops at the declared length
                return
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away
            received += len(message.get("body", b""))
            if received > self.limit:
                response = problem(
                    Request(scope), 413, "too_large", [Reason("too_large", {"limit": self.limit})]
                )
                await response(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
