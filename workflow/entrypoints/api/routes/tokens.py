"""API tokens, for administrators: list, create (the secret is in this one answer), revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from workflow.entrypoints.api.deps import CallerDep, ServicesDep, require_admin
from workflow.entrypoints.api.problems import responses
from workflow.entrypoints.api.schemas import MAX_ID, Code, TokenCreated, TokenIn, TokenOut
from workflow.services.tokens import Caller

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("", response_model=list[TokenOut], responses=responses(401, 403, 422, 503))
def list_tokens(
    who: Annotated[Caller, Depends(require_admin("token_list"))],
    svc: ServicesDep,
    login: Annotated[Code | None, Query(description="Only this user's tokens.")] = None,
) -> list[dict[str, Any]]:
    """Every token, newest first: id, owner, name, prefix, revoked or not. Never the secret."""
    return svc.tokens.list(login)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    responses=responses(401, 403, 404, 413, 422, 503),
)
def create_token(body: TokenIn, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """Create a token for a user. The answer holds the secret; it cannot be shown again."""
    secret, view = svc.tokens.create(who.login, body.login, body.name)
    return {**view, "token": secret}


@router.delete("/{token_id}", response_model=TokenOut, responses=responses(401, 403, 404, 422, 503))
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)], who: CallerDep, svc: ServicesDep
) -> dict[str, Any]:
    """Revoke a token for good; it stops working at once."""
    return svc.tokens.revoke(who.login, token_id)
