"""The FastAPI application: ``create_app(services=…)``, or ``create_app(db, clock, settings)``.

Everything a request needs comes from the composition root (:func:`workflow.bootstrap.bootstrap`)
and is handed in, never read from globals, so a test can serve the app with a
:class:`~workflow.kernel.clock.FixedClock` and its own database.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from workflow.bootstrap import Services, bootstrap
from workflow.entrypoints.api import docs, problems
from workflow.entrypoints.api.attribution import AttributionMiddleware
from workflow.entrypoints.api.headers import SecurityHeaders
from workflow.entrypoints.api.limits import BodyLimit, request_limit, upload_caps
from workflow.entrypoints.api.routes import (
    calendar,
    directory,
    documents,
    files,
    health,
    imports,
    outbox,
    reports,
    tokens,
)
from workflow.entrypoints.api.times import LocalTimesJSON
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings

DESCRIPTION = """\
Santongbu (三同步) carries every policy document through draft → interpretation plan → joint
sign-off → publication → interpretation posting, and enforces the 3-working-day deadline.

Authenticate with a per-user token (`Authorization: Bearer stb_…`, created by an administrator
with `santongbu token create`). Errors are RFC 9457 problem documents
(`application/problem+json`), in Chinese unless `Accept-Language: en`. Commands answer with the
document's new `version` (also as `ETag`); send it back as `If-Match` to refuse a change made on
a stale read (409).
"""

TAGS = [
    {"name": "documents", "description": "Policy documents through their lifecycle."},
    {"name": "calendar", "description": "Deadline calculator and holiday schedules."},
    {"name": "directory", "description": "The caller, units and users."},
    {
        "name": "reports",
        "description": "Reports and audit-trail queries (supervisors, auditors, administrators).",
    },
    {
        "name": "outbox",
        "description": "The email outbox (read: administrators, auditors, supervisors, leaders; "
        "retry: administrators).",
    },
    {"name": "tokens", "description": "API tokens (administrators)."},
    {"name": "health", "description": "Liveness of the database and the broker."},
]


# Every router of the API, in the order they are served (tests walk this to check each route).
ROUTERS = tuple(
    m.router for m in (imports, files, documents, directory, calendar, reports, outbox, tokens, health)
)


def _version() -> str:
    try:
        return metadata.version("santongbu")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0.0.0"


def create_app(
    db: Database | None = None,
    clock: Clock | None = None,
    settings: Settings | None = None,
    *,
    services: Services | None = None,
) -> FastAPI:
    """The API over ``services``; given ``db``, ``clock`` and ``settings`` instead, over the
    services :func:`~workflow.bootstrap.bootstrap` builds from them."""
    services = services or bootstrap(settings, db=db, clock=clock)
    app = FastAPI(
        title="Santongbu API",
        version=_version(),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
        default_response_class=LocalTimesJSON,
    )
    app.state.settings = services.settings
    app.state.services = services
    problems.install(app)
    settings = services.settings
    app.add_middleware(
        BodyLimit,
        limit=request_limit(settings.max_text_bytes),
        uploads=upload_caps(max(settings.upload_max_bytes, settings.upload_max_video_bytes)),
    )
    app.add_middleware(AttributionMiddleware, clock=services.clock)  # channel api or web on every event
    app.add_middleware(SecurityHeaders)
    proxies = services.settings.trusted_proxy_list
    if proxies:  # outermost: everything inside sees the client and the scheme the proxy reports
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    for router in ROUTERS:
        app.include_router(router)
    docs.install(app, services.settings.api_docs)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document, with problem responses under ``application/problem+json``."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                json_body = content.get("application/json", {})
                if json_body.get("schema", {}).get("$ref", "").endswith("/Problem"):
                    content[problems.MEDIA_TYPE] = content.pop("application/json")
    app.openapi_schema = schema
    return schema
