"""The pages people use every day (clerks, signers, supervisors), served by the API's app.

Server-rendered Jinja2 templates over the same services as the CLI and the HTTP API, with
password sign-in for people (API tokens stay for systems). ``install`` adds them to the app
that :func:`workflow.entrypoints.api.create_app` builds, under ``/web`` (and ``/`` redirects
there), over that app's services: one set of services per process, whichever interface asks.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from workflow.bootstrap import Services, bootstrap
from workflow.entrypoints.web.pages import PREFIX, WebState, make_env
from workflow.entrypoints.web.routes import actions, admin, auth, corrections, documents, search, supervision
from workflow.entrypoints.web.security import (
    DEFAULT_SESSION_SECONDS,
    SecretKeyMissing,
    SessionCodec,
    secret_key,
)
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings

log = logging.getLogger("santongbu.web")
STATIC = Path(__file__).parent / "static"


def _services(app: FastAPI, db: Database | None, clock: Clock | None, settings: Settings | None) -> Services:
    """The app's own services (what ``create_app`` built), unless the caller names others."""
    found: Services | None = getattr(app.state, "services", None)
    if found is not None and all(
        given is None or given is have
        for given, have in ((db, found.db), (clock, found.clock), (settings, found.settings))
    ):
        return found
    return bootstrap(settings, db=db, clock=clock)


def install(
    app: FastAPI,
    db: Database | None = None,
    clock: Clock | None = None,
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    secret: str | None = None,
    session_seconds: int | None = None,
) -> None:
    """Add the pages to ``app``, over ``services`` (by default the app's own, see ``_services``).

    ``secret`` signs session cookies; without it the key is read from the settings or
    ``SANTONGBU_SECRET_KEY``. If there is none, the API keeps working and the pages answer
    503 with the fix, rather than sign sessions with a key anyone could know.
    """
    if getattr(app.state, "web", None) is not None:
        return  # already installed (a test may ask again)
    services = services or _services(app, db, clock, settings)
    codec, problem = None, None
    try:
        seconds = session_seconds or int(services.settings.session_hours * 3600) or DEFAULT_SESSION_SECONDS
        codec = SessionCodec(secret_key(services.settings, secret), max_age=seconds)
    except SecretKeyMissing as exc:
        problem = str(exc)
        log.warning("web pages disabled: %s", exc)
    services.accounts.passwords.warm_up()
    app.state.web = WebState(
        services=services, codec=codec, env=make_env(services.settings.timezone), key_problem=problem
    )
    for module in (auth, documents, actions, corrections, supervision, admin, search):
        app.include_router(module.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="web_static")
    if not any(getattr(r, "path", None) == "/" for r in app.router.routes):
        app.add_api_route(
            "/",
            lambda: RedirectResponse(f"{PREFIX}/", status_code=307),
            include_in_schema=False,
            name="root_to_pages",
        )


__all__ = ["install"]
