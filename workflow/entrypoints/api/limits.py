"""A cap on request bodies, so that one request cannot fill the server's memory.

A ``Content-Length`` above the cap is answered at once with 413. A body without one (chunked)
is read here first, counted as it arrives, and answered with 413 as soon as it passes the cap;
under the cap it is handed to the application as it came. (Stopping it from inside the route's
own read, as before, surfaced as FastAPI's "error parsing the body", a 422.) Upload routes,
which stream their body to disk rather than hold it, have caps of their own (:data:`UPLOADS`):
their chunked body is not held here but counted as the route reads it, and stopped with 413
when it passes the cap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from states.reasons import Reason
from states.text import DEFAULT_MAX_TEXT_BYTES
from workflow.entrypoints.api.problems import TooLarge, problem

DEFAULT_LIMIT = 3 * DEFAULT_MAX_TEXT_BYTES + 64 * 1024


def request_limit(max_text_bytes: int) -> int:
    """The cap on a request body, from the one text limit (``SANTONGBU_MAX_TEXT_BYTES``): room
    for a text at the limit however it is encoded (a Chinese character is 3 bytes in UTF-8, up
    to 9 in a form, 6 as a JSON ``\\u`` escape), so that the service's own rule — the same
    for the CLI, the API and the pages — is what refuses it, with the field named."""
    return 3 * max_text_bytes + 64 * 1024


MULTIPART_SLACK = 64 * 1024  # the form's boundaries and headers around the file
UPLOADS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^/documents/import$"), 20 * 1024 * 1024 + MULTIPART_SLACK),
)
"""(path, cap) of the routes that take a file; the route checks the file's own limit."""


FILE_PATHS = (
    r"^/documents/[0-9]+/materials/file$",
    r"^/documents/[0-9]+/materials/[0-9]+/file$",
    r"^/web/documents/[0-9]+/materials$",
)
"""The material file upload routes (:mod:`workflow.entrypoints.api.routes.files`, and the
document page's material form, which may carry a file)."""


def upload_caps(largest_file: int) -> tuple[tuple[re.Pattern[str], int], ...]:
    """:data:`UPLOADS` and the material file routes, capped at the largest file the settings
    allow (the service checks each file's own limit as it streams it)."""
    return (*UPLOADS, *((re.compile(path), largest_file + MULTIPART_SLACK) for path in FILE_PATHS))


class BodyLimit:
    """Pure ASGI middleware (it must see the body before any route reads it)."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int = DEFAULT_LIMIT,
        uploads: Sequence[tuple[re.Pattern[str], int]] = UPLOADS,
    ) -> None:
        self.app = app
        self.limit = limit
        self.uploads = tuple(uploads)

    def upload_cap(self, scope: Scope) -> int | None:
        """The cap of an upload route, or ``None`` for every other route."""
        if scope.get("method") in ("POST", "PUT"):
            path = scope.get("path", "")
            for pattern, cap in self.uploads:
                if pattern.match(path):
                    return cap
        return None

    @staticmethod
    def counted(receive: Receive, limit: int) -> Receive:
        received = 0

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge(Reason("too_large", {"limit": limit}))
            return message

        return counting

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = self.upload_cap(scope)
        limit = self.limit if upload is None else upload
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0  # the HTTP server refuses a malformed length itself
                if declared > limit:
                    response = problem(
                        Request(scope), 413, "too_large", [Reason("too_large", {"limit": limit})]
                    )
                    await response(scope, receive, send)
                    return
                await self.app(scope, receive, send)  # the server stops at the declared length
                return
        if upload is not None:  # an upload route: too large to hold, counted as it streams
            await self.app(scope, self.counted(receive, limit), send)
            return
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away
            received += len(message.get("body", b""))
            if received > limit:
                response = problem(Request(scope), 413, "too_large", [Reason("too_large", {"limit": limit})])
                await response(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
