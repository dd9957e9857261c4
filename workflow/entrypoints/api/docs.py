"""The browsable API documentation at ``/docs``: Swagger UI from the installed package, under the
pages' Content-Security-Policy, or nothing at all (``SANTONGBU_API_DOCS=false``).

FastAPI's own ``/docs`` loads Swagger UI from a public CDN without integrity checks and starts it
with an inline script, on the same origin as the pages (issue 17). Here the Swagger UI files come
from the ``fastapi-offline`` package (Swagger UI 5, which reads the OpenAPI 3.1 that FastAPI
writes), are served from this site under ``/docs/assets``, and are started by a script file of
our own, so the page carries the same policy as the pages: scripts, styles and connections from
this site only, no inline script, no framing. ``/openapi.json`` stays available either way: it is
the contract programs read (and ``docs/openapi.json`` is its copy).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# The same policy as the pages (workflow/entrypoints/web/pages.py: CSP).
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def swagger_assets() -> Path:
    """Where the installed package keeps Swagger UI's files."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def page(title: str, openapi_url: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/docs/assets/swagger-ui.css">'
        '<link rel="icon" href="/docs/assets/favicon.png"></head>\n<body>'
        f'<div id="swagger-ui" data-openapi="{escape(openapi_url)}"></div>'
        '<script src="/docs/assets/swagger-ui-bundle.js"></script>'
        '<script src="/docs/swagger-init.js"></script>'
        "</body></html>\n"
    )


def install(app: FastAPI, enabled: bool) -> None:
    """Serve ``/docs`` (and its assets) if ``enabled``."""
    if not enabled:
        return
    headers = {"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-store"}
    html = page(app.title, app.openapi_url or "/openapi.json")
    app.mount("/docs/assets", StaticFiles(directory=swagger_assets()), name="docs_assets")

    @app.get("/docs", include_in_schema=False, name="api_docs")
    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)

    @app.get("/docs/swagger-init.js", include_in_schema=False, name="api_docs_init")
    async def init() -> FileResponse:
        return FileResponse(STATIC / "swagger-init.js", media_type="text/javascript")
