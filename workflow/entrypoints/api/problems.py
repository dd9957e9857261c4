"""Every error of the HTTP API as an RFC 9457 problem document, in Chinese or English.

``type`` is a stable URN per kind of problem (``urn:santongbu:problem:refused``); ``title``
names the kind; ``detail`` is the whole sentence a clerk reads; ``reasons`` carries each reason
as a code (for programs), its parameters and its sentence, and a 422 names the ``field``.

The language is Chinese unless ``Accept-Language`` prefers English (docs/design.md: Chinese first).

A user's mistake is never a 500: invalid JSON, wrong types, out-of-range numbers, unknown
enum values and bodies too large are caught before they reach a service; a database that is
down or busy is a 503. Anything else is a bug: it is logged with its traceback and answered
with a 500 problem that says nothing about the internals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from states.i18n import _
from states.reasons import Reason
from workflow.entrypoints.api import messages
from workflow.kernel.errors import SantongbuError

log = logging.getLogger("santongbu.api")

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:santongbu:problem:"
LANGUAGES = ("zh", "en")


class ProblemReason(BaseModel):
    """One reason: ``code`` for programs, ``message`` for people."""

    code: str = Field(description="Stable code, e.g. not_member, unsigned, invalid.")
    message: str = Field(description="The reason as a sentence in the response's language.")
    field: str | None = Field(default=None, description="The input field at fault (422).")
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters of the sentence.")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="urn:santongbu:problem:<kind>")
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, description="The path of the request.")
    field: str | None = Field(default=None, description="For 422: the first field at fault.")
    reasons: list[ProblemReason] = Field(default_factory=list)


# ---------------------------------------------------------------------------- API errors
class Unauthenticated(SantongbuError):
    """No token, an unknown token or a revoked one."""

    code = "unauthenticated"
    http_status = 401


class TooLarge(SantongbuError):
    code = "too_large"
    http_status = 413


class Unavailable(SantongbuError):
    code = "unavailable"
    http_status = 503


# ---------------------------------------------------------------------------- language
def negotiate(header: str | None, default: str = "zh") -> str:
    """The first of zh/en the client prefers by ``Accept-Language`` (q-values honoured)."""
    if not header:
        return default
    best: tuple[float, int, str] | None = None
    for index, item in enumerate(header.split(",")[:20]):
        parts = item.strip().split(";")
        tag = parts[0].strip().lower()
        q = 1.0
        for param in parts[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if not (0.0 < q <= 1.0):
            continue
        primary = tag.split("-")[0]
        lang = default if tag == "*" else primary if primary in LANGUAGES else None
        if lang and (best is None or (q, -index) > (best[0], -best[1])):
            best = (q, index, lang)
    return best[2] if best else default


def request_language(request: Request) -> str:
    settings = getattr(request.app.state, "settings", None)
    default = getattr(settings, "language", "zh")
    return negotiate(request.headers.get("accept-language"), default)


# ---------------------------------------------------------------------------- rendering
def _reason_dict(reason: Reason, lang: str) -> dict[str, Any]:
    params = {
        k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
        for k, v in dict(reason.params).items()
    }
    field = params.get("field") if isinstance(params.get("field"), str) else None
    return {"code": reason.code, "message": messages.text(reason, lang), "field": field, "params": params}


def problem(
    request: Request, status: int, kind: str, reasons: Sequence[Reason], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem response for ``reasons`` in the request's language."""
    lang = request_language(request)
    items = [_reason_dict(r, lang) for r in reasons]
    body = {
        "type": TYPE_PREFIX + kind,
        "title": messages.title(kind, lang),
        "status": status,
        "detail": messages.render(list(reasons), lang) or messages.title(kind, lang),
        "instance": request.url.path,
        "field": next((i["field"] for i in items if i["field"]), None),
        "reasons": items,
    }
    return JSONResponse(
        body, status_code=status, media_type=MEDIA_TYPE, headers={"Content-Language": lang, **(headers or {})}
    )


def _field(loc: Sequence[Any]) -> tuple[str, str]:
    """FastAPI's error location as (where, field): ("body", "signers[0]"), ("header", "If-Match")."""
    where = str(loc[0]) if loc else "body"
    name = ""
    for part in loc[1:]:
        if isinstance(part, int):
            if where == "body" and not name:
                break  # a JSON syntax error's position, not a field
            name += f"[{part}]"
        else:
            name += ("." if name else "") + str(part)
    if where == "header":
        name = "-".join(p.capitalize() for p in name.split("-")) if name else name
    return where, name or where


def _validation_reasons(exc: RequestValidationError, lang: str) -> list[Reason]:
    reasons = []
    for error in exc.errors()[:20]:
        where, name = _field(error.get("loc", ()))
        ctx = {
            k: (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
            for k, v in (error.get("ctx") or {}).items()
            if k != "error"
        }
        sentence = messages.validation_problem(
            str(error.get("type", "")), str(error.get("msg", "")), ctx, lang
        )
        reasons.append(Reason("invalid", {"field": name, "problem": sentence, "in": where}))
    return reasons or [Reason("invalid", {"field": "body", "problem": _("invalid")})]


# ---------------------------------------------------------------------------- handlers
def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a problem document."""

    @app.exception_handler(SantongbuError)
    async def _santongbu(request: Request, exc: SantongbuError) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="santongbu"'} if exc.http_status == 401 else None
        if exc.http_status == 503:
            headers = {"Retry-After": "1"}
        if exc.http_status == 429:
            headers = {"Retry-After": str(getattr(exc, "retry_after", 1))}
        return problem(request, exc.http_status, exc.code, exc.reasons, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(request, 422, "invalid_input", _validation_reasons(exc, request_language(request)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 404:
            return problem(
                request, 404, "not_found", [Reason("no_such_route", {"path": request.url.path})], headers
            )
        if exc.status_code == 405:
            return problem(
                request,
                405,
                "method_not_allowed",
                [Reason("method_not_allowed", {"path": request.url.path, "method": request.method})],
                headers,
            )
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot even decode (not UTF-8, broken multipart):
            # the same mistake as invalid JSON, so the same 422.
            lang = request_language(request)
            sentence = messages.validation_problem(
                "json_invalid", "the body cannot be read as JSON (or UTF-8)", None, lang
            )
            return problem(
                request, 422, "invalid_input", [Reason("invalid", {"field": "body", "problem": sentence})]
            )
        kind = {401: "unauthenticated", 403: "forbidden", 413: "too_large", 422: "invalid_input"}.get(
            exc.status_code, "error"
        )
        return problem(
            request,
            exc.status_code,
            kind,
            [Reason("invalid", {"field": "request", "problem": str(exc.detail)})],
            headers,
        )

    @app.exception_handler(StaleDataError)
    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: Exception) -> JSONResponse:
        # A unique key or a version check lost a race with another request: nothing was written.
        return problem(request, 409, "concurrent_change", [Reason("changed_meanwhile")])

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: Exception) -> JSONResponse:
        # A value the database refuses (out of range, bad encoding) that slipped past the
        # request models: the caller's mistake, not the server's. Logged to be fixed upstream.
        log.warning(
            "database refused a value on %s %s: %s",
            request.method,
            request.url.path,
            type(exc.orig).__name__ if hasattr(exc, "orig") else type(exc).__name__,
        )
        return problem(
            request,
            422,
            "invalid_input",
            [
                Reason(
                    "invalid", {"field": "request", "problem": _("a value is out of range or not storable")}
                )
            ],
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem(request, 503, "unavailable", [Reason("unavailable")], {"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(request, 500, "internal_error", [Reason("internal_error")])


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem statuses a route can answer with."""
    descriptions = {
        401: "No token, or an unknown, revoked or expired one.",
        429: "Too many failed token checks from this address; wait for Retry-After seconds.",
        403: "The caller may not do this (docs/design.md §7); the refusal is audited.",
        404: "No such document, user, unit or token.",
        409: "Refused by the lifecycle (wrong state, a guard failed) or changed meanwhile (If-Match).",
        413: "Request body too large.",
        422: "Invalid input; `field` names it.",
        503: "The database is unavailable or busy.",
    }
    return {s: {"model": Problem, "description": descriptions.get(s, "Problem")} for s in statuses}
