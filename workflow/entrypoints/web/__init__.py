"""The pages people use every day (clerks, signers, supervisors), served by the API's app.

Server-rendered Jinja2 templates over the same services as the CLI and the HTTP API, with
password sign-in for people (API tokens stay for systems). ``install`` adds them to the app
that :func:`workflow.entrypoints.api.create_app` builds, under ``/web`` (and ``/`` redirects there).
"""
from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.services.reports import Reports
from workflow.services.documents import Workflow
from workflow.kernel.settings import Settings
from workflow.entrypoints.web.accounts import Accounts
from workflow.entrypoints.web.pages import PREFIX, WebState, make_env
from workflow.entrypoints.web.security import DEFAULT_SESSION_SECONDS, SecretKeyMissing, SessionCodec, secret_key

log = logging.getLogger("santongbu.web")
STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, db: Database, clock: Clock, settings: Settings, *,
            secret: str | None = None, session_seconds: int = DEFAULT_SESSION_SECONDS) -> None:
    """Add the pages to ``app``.

    ``secret`` signs session cookies; without it the key is read from the settings or
    ``SANTONGBU_SECRET_KEY``. If there is none, the API keeps working and the pages answer
    503 with the fix, rather than sign sessions with a key anyone could know.
    """
    from workflow.entrypoints.web.routes import (
        actions,
        auth,
        corrections,
        documents,
        supervision,
    )

    if getattr(app.state, "web", None) is not None:
        return  # already installed (create_app installs the pages; a test may ask again)
    codec, problem = None, None
    try:
        codec = SessionCodec(secret_key(settings, secret), max_age=session_seconds)
    except SecretKeyMissing as exc:
        problem = str(exc)
        log.warning("web pages disabled: %s", exc)
    app.state.web = WebState(db=db, clock=clock, settings=settings, workflow=Workflow(db, clock, settings),
                             reports=Reports(db, clock, settings), accounts=Accounts(db, clock),
                             codec=codec, env=make_env(settings.timezone), key_problem=problem)
    for module in (auth, documents, actions, corrections, supervision):
        app.include_router(module.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="web_static")
    if not any(getattr(r, "path", None) == "/" for r in app.router.routes):
        app.add_api_route("/", lambda: RedirectResponse(f"{PREFIX}/", status_code=307),
                          include_in_schema=False, name="root_to_pages")


__all__ = ["install"]
