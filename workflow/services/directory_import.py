"""Reading a directory file: parse TOML, JSON or CSV into validated unit and user specs.

Split from :mod:`workflow.services.directory` so that the service keeps only the audited
changes; everything here is pure validation that runs before anything is written, which is
what makes an import all-or-nothing. The field validators live here too because the
directory's own add/update commands check fields the same way.
"""

from __future__ import annotations

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
from workflow.services.table_files import FileProblem, decode_text, read_grid, records

MAX_BYTES = 20 * 1024 * 1024
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


def _located(where: str, exc: InvalidInput) -> list[Reason]:
    located = []
    for reason in exc.reasons:
        params = dict(reason.params)
        params["field"] = f"{where}: {params.get('field', '')}"
        located.append(Reason(reason.code, params))
    return located


def read_directory_file(path: Path) -> tuple[list[UnitSpec], list[UserSpec]]:
    """Parse and validate a whole file before anything is written; every bad row is listed,
    each with its row (the line Excel shows for a CSV or workbook, the table's number in TOML
    and JSON)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".xlsx"):
            data: Mapping[str, Any] = _table_directory(path)
        elif suffix in (".toml", ".json"):
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise FileProblem(
                    _("cannot read {name}: {problem}", name=path.name, problem=exc.strerror or exc)
                ) from None
            text = decode_text(raw) if raw else ""
            data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
        else:
            raise FileProblem(_("use a .toml, .json, .csv or .xlsx file"))
    except FileProblem as exc:
        raise _invalid(path.name, exc.args[0]) from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(path.name, str(exc)) from None
    if not isinstance(data, Mapping):
        raise _invalid(path.name, _("expected tables 'units' and 'users'"))
    problems: list[Reason] = []
    units = [u for u in _parse_all(path.name, data, "units", UnitSpec.parse, problems) if u]
    users = [u for u in _parse_all(path.name, data, "users", UserSpec.parse, problems) if u]
    if problems:
        raise InvalidInput(problems)
    if not units and not users:
        raise _invalid(path.name, _("no units and no users found"))
    return units, users


def _parse_all(name: str, data: Mapping[str, Any], key: str, parse: Any, problems: list[Reason]) -> list[Any]:
    """Each row parsed; a bad row adds its problems and yields ``None``."""
    numbers = data.get(f"_{key}_rows")
    parsed = []
    for i, row in enumerate(_rows(data, key), 1):
        where = f"{name} row {numbers[i - 1]}" if numbers else f"{name} {key} #{i}"
        try:
            parsed.append(parse(row))
        except InvalidInput as exc:
            problems.extend(_located(where, exc))
            parsed.append(None)
    return parsed


def _rows(data: Mapping[str, Any], key: str) -> Iterable[Mapping[str, Any]]:
    rows = data.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise _invalid(key, _("must be a list of tables"))
    return rows


def _table_directory(path: Path) -> dict[str, Any]:
    """A CSV or workbook of units (header has 'code') or of users (header has 'login'), as
    Excel saves it; the row numbers go along so that problems name the row Excel shows."""
    grid = read_grid(path, max_bytes=MAX_BYTES)
    found = list(records(grid, path.name))
    header = {str(h).strip().lstrip("\ufeff") for h in grid[0] if h is not None}
    rows = [{k: _cell(v) for k, v in cells.items()} for _, cells in found]
    numbers = [n for n, _ in found]
    if "login" in header:
        return {"users": rows, "_users_rows": numbers}
    if "code" in header:
        return {"units": rows, "_units_rows": numbers}
    raise FileProblem(_("the header must name 'code' (units) or 'login' (users)"))


def _cell(value: Any) -> Any:
    """Blank cells are absent; a workbook's numbers are read as the text they show."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)
