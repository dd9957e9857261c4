"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from workflow.entrypoints.web.pages import (
    PREFIX,
    Form,
    Page,
    PageRoute,
    page_for,
    redirect,
    render,
    safe_next,
)
from workflow.entrypoints.web.security import SESSION_COOKIE, new_session

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _https_warning(request: Request) -> bool:
    """The session cookie is Secure: over plain HTTP only a loopback address keeps it."""
    host = (request.url.hostname or "").lower()
    return request.url.scheme != "https" and host not in LOOPBACK


@router.get("/", name="web_home")
def home(request: Request) -> Response:
    """Where a user lands: supervisors on the dashboard, everyone else on their unit's list."""
    page = page_for(request)
    if page.user is None:
        return redirect(page, f"{PREFIX}/login")
    return redirect(page, f"{PREFIX}/dashboard" if page.user.may_audit else f"{PREFIX}/documents")


@router.get("/login", name="web_login")
def login_form(request: Request) -> Response:
    page = page_for(request)
    return render(
        page,
        "login.html",
        next=safe_next(request.query_params.get("next")),
        failed=False,
        https_warning=_https_warning(request),
        signed_out=request.query_params.get("bye") == "1",
    )


@router.post("/login", name="web_sign_in")
def sign_in(request: Request, form: dict = Form) -> Response:
    page = page_for(request)
    login = (form.get("login") or "").strip()[:64]
    found = page.web.accounts.sign_in(login, form.get("password") or "")
    target = safe_next(form.get("next"))
    if found is None:
        return render(
            page,
            "login.html",
            401,
            next=target,
            failed=True,
            login=login,
            https_warning=_https_warning(request),
            signed_out=False,
        )
    user, stored = found
    page.session = new_session(user.login, stored)  # a new id and token: no session fixation
    page.user, page.set_session = user, True
    return redirect(page, target)


@router.post("/logout", name="web_sign_out")
def sign_out(request: Request, form: dict = Form) -> Response:
    page: Page = page_for(request)
    if page.user is not None:
        page.web.accounts.sign_out(page.user)
    page.session, page.user, page.set_session = new_session(), None, False
    response = redirect(page, f"{PREFIX}/login?bye=1")
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


@router.get("/lang/{code}", name="web_language")
def language(request: Request, code: str) -> Response:
    """Switch the language (a cookie) and go back to the page the user was on."""
    page = page_for(request)
    if code in ("zh", "en"):
        page.lang, page.set_lang = code, True
    return redirect(page, safe_next(request.query_params.get("next")))
