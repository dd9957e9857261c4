"""What routes are handed: the services, the authenticated caller, role checks, If-Match.

Every route but ``/health`` depends on :func:`caller`. Most routes leave the rules to the
service they call (documents, directory changes, tokens, calendar loads, the outbox, reports),
which applies and audits them in the same way for the CLI and the API (the token, user and
unit lists too): no route checks a role itself.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow.bootstrap import Services
from workflow.entrypoints.api import messages
from workflow.entrypoints.api.problems import Unauthenticated, request_language
from workflow.entrypoints.api.schemas import MAX_ID
from workflow.kernel import attribution
from workflow.kernel.errors import Forbidden, InvalidInput
from workflow.services.tokens import Caller

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A per-user API token: `Authorization: Bearer stb_…` (see `santongbu token create`).",
)


async def services(request: Request) -> Services:
    """(``async`` only so that FastAPI calls it in the event loop instead of a worker thread.)"""
    return request.app.state.services


def refuse(svc: Services, actor: ActorSnapshot, action: str, reasons: list[Reason]) -> Forbidden:
    """Audit a refusal (in a transaction of its own) and return the error to raise."""
    error = Forbidden(reasons)
    svc.workflow.audit_refusal(actor=actor, action=action, document_id=None, state=None, error=error)
    return error


def caller(
    request: Request,
    svc: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The user behind the request's token; 401 without a valid one, 403 for a deactivated user."""
    if credentials is None:
        raise Unauthenticated(Reason("unauthenticated"))
    found = svc.tokens.check(credentials.credentials, request.client.host if request.client else None)
    if found is None:
        raise Unauthenticated(Reason("token_invalid"))
    by = attribution.current()
    if by.channel == "api":  # every event of this request names the token it came with
        by.credential = f"token:{found.token_id}"
    request.state.credential = f"token:{found.token_id}"  # for the audit trail's attribution
    if not found.actor.active:
        route = request.scope.get("route")
        raise refuse(
            svc, found.actor, getattr(route, "name", "api"), [Reason("inactive_user", {"login": found.login})]
        )
    return found


CallerDep = Annotated[Caller, Depends(caller)]
ServicesDep = Annotated[Services, Depends(services)]


_VERSION = re.compile(r'^(?:W/)?"?([0-9]{1,10})"?$')


async def if_match(
    request: Request,
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=20,
            description='The version you read (`"3"` as sent in ETag, or plain `3`); the change is refused '
            "with 409 if the document changed since.",
        ),
    ] = None,
) -> int | None:
    """``If-Match`` as the expected document version (``None`` if absent)."""
    if value is None:
        return None
    found = _VERSION.match(value.strip())
    number = int(found.group(1)) if found else 0
    if not 1 <= number <= MAX_ID:
        lang = request_language(request)
        problem = messages.own("bad_version", None, lang)
        raise InvalidInput(Reason("invalid", {"field": "If-Match", "problem": problem, "in": "header"}))
    return number


IfMatch = Annotated[int | None, Depends(if_match)]
