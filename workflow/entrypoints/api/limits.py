"""A cap on request bodies, so that one request cannot fill the server's memory.

A ``Content-Length`` above the cap is answered at once with 413; a chunked body is counted
as it arrives and stopped with 413 when it passes the cap. Upload routes, which stream their
body to disk rather than hold it, have caps of their own (:data:`UPLOADS`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from states.reasons import Reason
from workflow.entrypoints.api.problems import TooLarge, problem

DEFAULT_LIMIT = 2 * 1024 * 1024
MULTIPART_SLACK = 64 * 1024  # the form's boundaries and headers around the file
UPLOADS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^/documents/import$"), 20 * 1024 * 1024 + MULTIPART_SLACK),
)
"""(path, cap) of the routes that take a file; the route checks the file's own limit."""


FILE_PATHS = (r"^/documents/[0-9]+/materials/file$", r"^/documents/[0-9]+/materials/[0-9]+/file$")
"""The material file upload routes (:mod:`workflow.entrypoints.api.routes.files`)."""


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

    def limit_for(self, scope: Scope) -> int:
        if scope.get("method") in ("POST", "PUT"):
            path = scope.get("path", "")
            for pattern, cap in self.uploads:
                if pattern.match(path):
                    return cap
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
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
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge(Reason("too_large", {"limit": limit}))
            return message

        await self.app(scope, counted, send)
