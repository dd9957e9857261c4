"""Every request is attributed to its channel before any route runs: ``web`` under the pages'
prefix, ``api`` elsewhere (workflow/kernel/attribution.py). The credential is filled in once the
request is authenticated: the API token's id by :func:`workflow.entrypoints.api.deps.caller`,
a hash of the session by the pages. A pure ASGI middleware, so the attribution is in the
context every route, dependency and worker thread of the request copies.
"""

from __future__ import annotations

from typing import Any

from workflow.kernel import attribution
from workflow.kernel.clock import Clock, SystemClock


class AttributionMiddleware:
    def __init__(self, app: Any, clock: Clock, web_prefix: str = "/web") -> None:
        self.app = app
        self.web_prefix = web_prefix
        # An app serving on a clock set by hand (tests, drills) is under a clock override.
        self.clock_override = not isinstance(clock, SystemClock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        channel = "web" if path == self.web_prefix or path.startswith(self.web_prefix + "/") else "api"
        with attribution.acting(
            channel, clock_override=self.clock_override or attribution.clock_overridden()
        ):
            await self.app(scope, receive, send)
