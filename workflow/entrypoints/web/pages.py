"""What every page shares: who is asking, in which language, the CSRF check, rendering, and
turning errors into pages.

A request's :class:`Page` is built from its session cookie: an anonymous visitor gets a fresh
cookie (with a CSRF token for the sign-in form); a signed-in user's server-side session is looked
up on every request, so sign-out, a deactivation, a changed password or an administrator's "end
sessions" ends it at once, in every server process. Routes use
:class:`PageRoute`, which renders a refused action, a forbidden page or a forged form as an
HTML page (not the API's JSON problem), in the user's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import UploadFile

from workflow.bootstrap import Services
from workflow.entrypoints.web.i18n import LANGS, labels_for, t
from workflow.entrypoints.web.security import (
    LANG_COOKIE,
    SESSION_COOKIE,
    SecretKeyMissing,
    SessionCodec,
    SessionData,
    csrf_ok,
    new_session,
)
from workflow.kernel import attribution
from workflow.kernel.clock import Clock
from workflow.kernel.errors import SantongbuError
from workflow.kernel.settings import Settings
from workflow.services.accounts import Accounts, WebUser
from workflow.services.dashboard import Dashboard
from workflow.services.documents import Workflow
from workflow.services.reports import Reports

log = logging.getLogger("santongbu.web")

PREFIX = "/web"
TEMPLATES = Path(__file__).parent / "templates"
MAX_FIELDS = 200
# What the browser may load and where forms may go: only this site; no inline script.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass
class WebState:
    """What the pages hold: the services (the same ones the API's routes call, built by
    :func:`workflow.bootstrap.bootstrap`), the cookie codec and the templates; set up once by
    :func:`workflow.entrypoints.web.install`."""

    services: Services
    codec: SessionCodec | None
    env: Environment
    key_problem: str | None = None

    # The services the pages call most, by name (the rest: ``web.services.…``).
    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def workflow(self) -> Workflow:
        return self.services.workflow

    @property
    def reports(self) -> Reports:
        return self.services.reports

    @property
    def accounts(self) -> Accounts:
        return self.services.accounts

    @property
    def dashboard(self) -> Dashboard:
        return self.services.dashboard


@lru_cache(maxsize=4)
def make_env(tz: str) -> Environment:
    """Jinja2 with autoescaping on for every template (HTML and SVG alike); instants are
    shown as wall-clock time in the working zone. Shared by every app of the process (its
    compiled templates are reused; rendering is thread-safe)."""
    from states.deadline import zone

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(zone(tz)).strftime(fmt) if value is not None else ""

    def is_link(value: Any) -> bool:
        return isinstance(value, str) and value.lower().startswith(("http://", "https://"))

    env.filters["local"] = local
    env.tests["link"] = is_link
    return env


def state(request: Request) -> WebState:
    return request.app.state.web


class SignInRequired(Exception):
    """The page needs a signed-in user; answered with a redirect to the sign-in page."""


class CsrfFailed(Exception):
    """A form arrived without this session's CSRF token; nothing was done."""


@dataclass
class Page:
    """One request as the pages see it."""

    request: Request
    web: WebState
    lang: str
    session: SessionData
    user: WebUser | None
    set_session: bool = False
    set_lang: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def login(self) -> str:
        if self.user is None:
            raise SignInRequired()
        return self.user.login

    @property
    def session_ref(self) -> str | None:
        """The signed-in session's reference (``ws:`` and a prefix of its digest), for the audit
        trail's attribution; ``None`` for an anonymous visitor."""
        return self.user.session_ref if self.user is not None else None


def client_address(request: Request) -> str | None:
    """The client's address (a trusted proxy's X-Forwarded-For already applied by the app)."""
    return request.client.host if request.client else None


def _language(request: Request, default: str) -> tuple[str, bool]:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked, True
    cookie = request.cookies.get(LANG_COOKIE)
    return (cookie if cookie in LANGS else default), False


def page_for(request: Request) -> Page:
    """The :class:`Page` of this request (built once, kept on ``request.state``)."""
    cached = getattr(request.state, "page", None)
    if cached is not None:
        return cached
    web = state(request)
    lang, set_lang = _language(request, web.settings.language)
    if web.codec is None:
        raise SecretKeyMissing(web.key_problem or "no secret key")
    session = web.codec.loads(request.cookies.get(SESSION_COOKIE))
    user = None
    fresh = session is None
    if session is not None and session.signed_in:
        user = web.accounts.session_user(session.sid)
        if user is None:  # signed out, ended, expired, idle, or the user was deactivated
            session, fresh = None, True
    if session is None:
        session = new_session()
    by = attribution.current()
    if by.channel == "web":  # every event of this request names its session (hashed)
        by.credential = attribution.session_credential(session.sid)
    page = Page(request, web, lang, session, user, set_session=fresh, set_lang=set_lang)
    request.state.page = page
    request.state.session_ref = page.session_ref  # for the audit trail's attribution
    return page


def signed_in(request: Request) -> Page:
    """Dependency: the page of a signed-in user (else a redirect to sign in)."""
    page = page_for(request)
    if page.user is None:
        raise SignInRequired()
    return page


async def checked_form(request: Request) -> dict[str, str]:
    """Dependency for every POST: the form's fields, after the CSRF token matched.

    Only text fields are accepted (no uploads); each value is a string (the last one wins,
    except where a route asks for a list with :func:`form_list`).
    """
    page = page_for(request)
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    if not csrf_ok(page.session, str(form.get("csrf_token") or "")):
        log.warning("web: form without a valid CSRF token refused on %s", request.url.path)
        page.web.accounts.form_refused(client_address(request), request.url.path, page.user)
        raise CsrfFailed()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    values["__lists__"] = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}  # type: ignore[assignment]
    return values


async def checked_upload(request: Request) -> dict[str, Any]:
    """Dependency for the one form that carries a file (``multipart/form-data``): its text
    fields and, under ``__file__``, the file part (``None`` if none came), after the CSRF token
    matched.

    Starlette spools the file part to a temporary file as it arrives (in memory only up to
    1 MiB), so the upload is never whole in memory; the service then streams it from there into
    the blob store, within the size limit. One file at most; a forged form touches nothing.
    """
    page = page_for(request)
    form = await request.form(max_files=1, max_fields=MAX_FIELDS)
    if not csrf_ok(page.session, str(form.get("csrf_token") or "")):
        log.warning("web: upload without a valid CSRF token refused on %s", request.url.path)
        page.web.accounts.form_refused(client_address(request), request.url.path, page.user)
        raise CsrfFailed()
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get("file")
    values["__file__"] = upload if isinstance(upload, UploadFile) and upload.filename else None
    return values


def form_list(form: Mapping[str, Any], key: str) -> list[str]:
    return list(form.get("__lists__", {}).get(key, []))


SignedIn = Depends(signed_in)
Form = Depends(checked_form)
Upload = Depends(checked_upload)


def safe_next(value: str | None, default: str = PREFIX + "/") -> str:
    """Only a path on this site's pages: never an absolute URL (no open redirect)."""
    if not value or not value.startswith(PREFIX + "/") or "//" in value or "\\" in value or "\n" in value:
        return default
    return value


def _finish(page: Page, response: Response) -> Response:
    """Cookies (session, language) and security headers on every page response."""
    web = page.web
    if page.set_session and web.codec is not None:
        response.set_cookie(
            SESSION_COOKIE,
            web.codec.dumps(page.session),
            max_age=web.codec.max_age,
            path="/",
            secure=True,
            httponly=True,
            samesite="lax",
        )
    if page.set_lang:
        response.set_cookie(
            LANG_COOKIE,
            page.lang,
            max_age=365 * 24 * 3600,
            path="/",
            secure=True,
            httponly=True,
            samesite="lax",
        )
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Content-Language"] = page.lang
    return response


def render(page: Page, template: str, status_code: int = 200, **context: Any) -> Response:
    """A template rendered for this page's user and language."""
    request = page.request
    here = context.pop("here", None) or (request.url.path if request.method == "GET" else PREFIX + "/")
    html = page.web.env.get_template(template).render(
        lang=page.lang,
        user=page.user,
        csrf=page.session.csrf,
        here=here,
        prefix=PREFIX,
        now=page.web.clock.now(),
        tz=page.web.settings.timezone,
        quote=quote,
        **labels_for(page.lang),
        **context,
    )
    return _finish(page, HTMLResponse(html, status_code=status_code))


def redirect(page: Page, url: str) -> Response:
    """303 See Other: a POST that worked is followed by a GET (reload never repeats it)."""
    return _finish(page, RedirectResponse(url, status_code=303))


def error_page(page: Page, status_code: int, message: str, *, detail: str | None = None) -> Response:
    return render(page, "error.html", status_code, message=message, detail=detail, here=PREFIX + "/")


def _plain(status_code: int, text: str) -> Response:
    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8><title>Santongbu</title><p>{text}</p>",
        status_code=status_code,
        headers=SECURITY_HEADERS,
    )


class PageRoute(APIRoute):
    """An API route whose errors are pages: sign-in redirects, 403/404/409/422 pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except SecretKeyMissing as exc:
                log.error("web: %s", exc)
                lang = request.cookies.get(LANG_COOKIE) or state(request).settings.language
                return _plain(503, t("err.secret", lang if lang in LANGS else "zh"))
            except SignInRequired:
                page = page_for(request)
                target = request.url.path if request.method == "GET" else PREFIX + "/"
                return redirect(page, f"{PREFIX}/login?next={quote(target)}")
            except CsrfFailed:
                return error_page(page_for(request), 403, t("err.csrf", page_for(request).lang))
            except SantongbuError as exc:
                page = page_for(request)
                generic = {403: "err.403", 404: "err.404"}.get(exc.http_status, "err.title")
                return error_page(page, exc.http_status, t(generic, page.lang), detail=exc.message(page.lang))
            except RequestValidationError as exc:
                page = page_for(request)
                where = {str(e.get("loc", ("",))[0]) for e in exc.errors()}
                if where == {"path"}:  # /web/documents/abc: there is no such page
                    return error_page(page, 404, t("err.404", page.lang))
                return error_page(page, 422, t("err.invalid", page.lang))

        return handler
