"""Reading a directory file: parse TOML, JSON or CSV into validated unit and user specs.

Split from :mod:`workflow.services.directory` so that the service keeps only the audited
changes; everything here is pure validation that runs before anything is written, which is
what makes an import all-or-nothing. The field validators live here too because the
directory's own add/update commands check fields the same way.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from states.i18n import _
from states.reasons import Reason
from states.snapshot import RESERVED_LOGINS
from states.text import text_problem
from workflow.kernel.errors import InvalidInput
from workflow.kernel.models import ROLES, UNIT_KINDS

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _invalid(field: str, problem: str) -> InvalidInput:
    return InvalidInput(Reason("invalid", {"field": field, "problem": problem}))


def _code(field: str, value: Any) -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise _invalid(field, _("1–64 letters, digits, '.', '_' or '-', starting with a letter or digit"))
    return value


def _line(field: str, value: Any, limit: int = 200, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(field, _("required"))
        return None
    if not isinstance(value, str) or len(value) > limit or text_problem(value, one_line=True):
        raise _invalid(
            field, _("one line of at most {limit} characters, without control characters", limit=limit)
        )
    return value.strip()


def _address(field: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    from notifications.addresses import validate_address

    try:
        return validate_address(str(value))
    except InvalidInput as exc:
        raise _invalid(field, exc.reasons[0].params.get("problem", "not a valid email address")) from None


def _roles(value: Any) -> str:
    items = value if isinstance(value, (list, tuple)) else str(value or "member").replace(";", ",").split(",")
    roles = sorted({r.strip() for r in items if str(r).strip()} | {"member"})
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise _invalid(
            "roles", _("unknown role(s) {p0}; known: {p1}", p0=", ".join(unknown), p1=", ".join(ROLES))
        )
    return ",".join(roles)


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: str = "drafting"
    mailbox: str | None = None
    head: str | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> UnitSpec:
        kind = data.get("kind") or "drafting"
        if kind not in UNIT_KINDS:
            raise _invalid("kind", _("must be one of {p0}", p0=", ".join(UNIT_KINDS)))
        head = data.get("head") or data.get("head_login")
        return cls(
            code=_code("code", data.get("code")),
            name=_line("name", data.get("name")) or "",
            kind=kind,
            mailbox=_address("mailbox", data.get("mailbox")),
            head=_code("head", head) if head else None,
        )


@dataclass(frozen=True)
class UserSpec:
    login: str
    name: str
    unit: str
    email: str | None = None
    roles: str = "member"

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> UserSpec:
        login = _code("login", data.get("login"))
        if login.lower() in RESERVED_LOGINS:
            raise _invalid(
                "login",
                _(
                    "'{login}' is reserved ({p1}): the engine's own names cannot be people's",
                    login=login,
                    p1=", ".join(sorted(RESERVED_LOGINS)),
                ),
            )
        return cls(
            login=login,
            name=_line("name", data.get("name")) or "",
            unit=_code("unit", data.get("unit")),
            email=_address("email", data.get("email")),
            roles=_roles(data.get("roles")),
        )


def _located(where: str, exc: InvalidInput) -> InvalidInput:
    reason = exc.reasons[0]
    params = dict(reason.params)
    params["field"] = f"{where}: {params.get('field', '')}"
    return InvalidInput(Reason(reason.code, params))


def read_directory_file(path: Path) -> tuple[list[UnitSpec], list[UserSpec]]:
    """Parse and validate a whole file before anything is written; errors name the row."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _invalid(str(path), exc.strerror or "cannot be read") from None
    text = raw.decode("utf-8-sig", errors="strict") if raw else ""
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Mapping[str, Any] = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix == ".csv":
            data = _csv_directory(text)
        else:
            raise _invalid(str(path), _("use a .toml, .json or .csv file"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(path.name, str(exc)) from None
    if not isinstance(data, Mapping):
        raise _invalid(path.name, _("expected tables 'units' and 'users'"))
    units, users = [], []
    for i, row in enumerate(_rows(data, "units"), 1):
        try:
            units.append(UnitSpec.parse(row))
        except InvalidInput as exc:
            raise _located(f"{path.name} units #{i}", exc) from None
    for i, row in enumerate(_rows(data, "users"), 1):
        try:
            users.append(UserSpec.parse(row))
        except InvalidInput as exc:
            raise _located(f"{path.name} users #{i}", exc) from None
    if not units and not users:
        raise _invalid(path.name, _("no units and no users found"))
    return units, users


def _rows(data: Mapping[str, Any], key: str) -> Iterable[Mapping[str, Any]]:
    rows = data.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise _invalid(key, _("must be a list of tables"))
    return rows


def _csv_directory(text: str) -> dict[str, list[dict[str, Any]]]:
    """A CSV of units (header has 'code') or of users (header has 'login'), as Excel saves it."""
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or [])
    rows = [{k: (v or None) for k, v in row.items()} for row in reader]
    if "login" in header:
        return {"users": rows}
    if "code" in header:
        return {"units": rows}
    raise _invalid("csv", _("the header must name 'code' (units) or 'login' (users)"))
