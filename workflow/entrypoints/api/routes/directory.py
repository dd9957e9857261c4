"""The caller, units and users.

Anyone signed in may see who they are and the list of units (a clerk needs unit codes);
the list of users, with their addresses, is for administrators, supervisors and auditors;
changes are for administrators only. The directory service checks and audits all of these
itself, with the same rules for the CLI (``unit list``, ``user list``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from workflow.entrypoints.api.deps import CallerDep, ServicesDep
from workflow.entrypoints.api.problems import responses
from workflow.entrypoints.api.schemas import CODE_PATTERN, Code, Me, UnitIn, UserIn, UserOut, UserPatch
from workflow.entrypoints.api.schemas_units import MembershipOut, UnitOut, UnitPatch

router = APIRouter(tags=["directory"])

Login = Annotated[str, Path(pattern=CODE_PATTERN, description="The user's login.")]
UnitCode = Annotated[str, Path(pattern=CODE_PATTERN, description="The unit's code.")]


@router.get("/me", response_model=Me, responses=responses(401, 403, 503))
def me(who: CallerDep) -> dict[str, Any]:
    """Who the token belongs to: login, unit and roles."""
    return {
        "login": who.login,
        "name": who.name,
        "unit": who.unit,
        "roles": who.roles,
        "token_id": who.token_id,
    }


@router.get("/units", response_model=list[UnitOut], responses=responses(401, 403, 503))
def list_units(who: CallerDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """Every unit: drafting units, supervising units, leadership."""
    return svc.directory.list_units(who.principal)


@router.post(
    "/units",
    status_code=status.HTTP_201_CREATED,
    response_model=UnitOut,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
def add_unit(body: UnitIn, who: CallerDep, svc: ServicesDep, response: Response) -> dict[str, Any]:
    """Add a unit (administrators)."""
    view = svc.directory.add_unit(who.login, body.model_dump())
    response.headers["Location"] = "/units"
    return view


@router.patch("/units/{code}", response_model=UnitOut, responses=responses(401, 403, 404, 409, 413, 422, 503))
def change_unit(code: UnitCode, body: UnitPatch, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """Change a unit's name, mailbox, head, kind or group robots (administrators). The next
    email and robot message go to the unit as it is now."""
    return svc.directory.update_unit(who.login, code, body.model_dump(exclude_unset=True))


@router.get("/users", response_model=list[UserOut], responses=responses(401, 403, 422, 503))
def list_users(
    who: CallerDep,
    svc: ServicesDep,
    unit: Annotated[Code | None, Query(description="Only this unit's users.")] = None,
) -> list[dict[str, Any]]:
    """Every user, or one unit's (administrators, supervisors, auditors, leaders)."""
    return svc.directory.list_users(who.principal, unit)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
def add_user(body: UserIn, who: CallerDep, svc: ServicesDep, response: Response) -> dict[str, Any]:
    """Add a user (administrators)."""
    view = svc.directory.add_user(who.login, body.model_dump())
    response.headers["Location"] = f"/users/{view['login']}"
    return view


@router.patch(
    "/users/{login}", response_model=UserOut, responses=responses(401, 403, 404, 409, 413, 422, 503)
)
def change_user(login: Login, body: UserPatch, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """Change a user's roles, email, name, unit or active flag (administrators)."""
    return svc.directory.update_user(who.login, login, body.model_dump(exclude_unset=True))


@router.get(
    "/users/{login}/history", response_model=list[MembershipOut], responses=responses(401, 403, 404, 422, 503)
)
def user_history(login: Login, who: CallerDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """The units a user belonged to, oldest first (administrators, supervisors, auditors, leaders)."""
    return svc.directory.user_history(who.login, login)
