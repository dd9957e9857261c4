"""Security headers on every response, and the client as a trusted reverse proxy reports it.

* **Trusted proxies** (``SANTONGBU_TRUSTED_PROXIES``, comma-separated addresses): only a request
  that arrives *from* one of them has its ``X-Forwarded-For`` (the client's address, which the
  sign-in throttle counts by) and ``X-Forwarded-Proto`` (HTTPS) believed; uvicorn's own
  :class:`~uvicorn.middleware.proxy_headers.ProxyHeadersMiddleware` does the parsing. Without
  the setting, nobody's forwarded headers are believed, so a client cannot pick its own address.
* **Headers** (ASVS V14.4): ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  same-origin``, ``X-Frame-Options: DENY`` and a Content-Security-Policy on every response
  (pages and the docs page set their own, stricter for pages; JSON answers get ``default-src
  'none'``); ``Strict-Transport-Security`` when the request came over HTTPS, directly or through
  a trusted proxy.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=31536000; includeSubDomains"
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers a response does not set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", API_CSP)
                if https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, with_headers)
