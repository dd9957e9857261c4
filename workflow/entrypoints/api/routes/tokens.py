"""API tokens: list (administrators every token, anyone else their own), create (the secret is in
this one answer) and revoke (administrators); the token service applies and audits the rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from workflow.entrypoints.api.deps import CallerDep, ServicesDep
from workflow.entrypoints.api.problems import responses
from workflow.entrypoints.api.schemas import MAX_ID, Code, TokenCreated, TokenIn, TokenOut

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("", response_model=list[TokenOut], responses=responses(401, 403, 422, 503))
def list_tokens(
    who: CallerDep,
    svc: ServicesDep,
    login: Annotated[Code | None, Query(description="Only this user's tokens.")] = None,
) -> list[dict[str, Any]]:
    """Every token, newest first: id, owner, name, prefix, revoked, expiry, last use. Never the secret.
    Administrators list every token; anyone else only their own (`?login=` their login)."""
    return svc.tokens.list(who.principal, login)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    responses=responses(401, 403, 404, 413, 422, 503),
)
def create_token(body: TokenIn, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """Create a token for a user. The answer holds the secret; it cannot be shown again."""
    lifetime = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    secret, view = svc.tokens.create(who.login, body.login, body.name, lifetime)
    return {**view, "token": secret}


@router.delete("/{token_id}", response_model=TokenOut, responses=responses(401, 403, 404, 422, 503))
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)], who: CallerDep, svc: ServicesDep
) -> dict[str, Any]:
    """Revoke a token for good; it stops working at once."""
    return svc.tokens.revoke(who.login, token_id)
