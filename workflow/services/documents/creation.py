"""What ``create`` reads and writes, in SQLAlchemy Core (issue 20, item 1).

A new document needs one read — the acting user with their unit's code, the 文号's twin if
the number must be unique, the newest event's key in a process without an audit key — and
three writes: the document (``INSERT … RETURNING id``), its first editor, its first audit
event. The ORM path it replaces selected the user, then the twin, flushed the document through
the unit of work and read the (empty) chain head and the newest key apart: six statements
where four do. The rows are the same (tests/integration/test_command_rows.py).

A new document's chain has no head and no other writer: nothing can be appended to
``doc:<id>`` before this transaction commits the document it names (a command on it finds no
document), so the events start at the genesis without the chain's lock or a head read — and
if anything did, the database's trigger would refuse the event (migration 0008).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from states.snapshot import ActorSnapshot
from workflow.kernel.models import AuditEvent, Document, DocumentEditor, Unit, User
from workflow.kernel.models.directory import role_set


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


_DOCS, _USERS, _UNITS = _table(Document), _table(User), _table(Unit)
_LOGIN, _NUMBER = bindparam("login", type_=String()), bindparam("number", type_=String())
_TWIN = (
    select(_DOCS.c.id).where(_DOCS.c.doc_number == _NUMBER).order_by(_DOCS.c.id).limit(1).scalar_subquery()
)
_NEWEST_KEY = (
    select(_table(AuditEvent).c.key_id).order_by(_table(AuditEvent).c.id.desc()).limit(1).scalar_subquery()
)
_NOTHING = bindparam("nothing", None, type_=Integer())


def _read(with_user: bool, with_twin: bool, unkeyed: bool) -> Any:
    """The one read, for this shape (built once each: see :data:`_READS`)."""
    columns: list[Any] = [
        (_TWIN if with_twin else _NOTHING).label("twin"),
        (_NEWEST_KEY if unkeyed else _NOTHING).label("newest_key_id"),
    ]
    if not with_user:
        return select(*columns)
    user = [_USERS.c[c] for c in ("id", "login", "unit_id", "roles", "active", "name")]
    return (
        select(*user, _UNITS.c.code.label("unit_code"), *columns)
        .select_from(_USERS.outerjoin(_UNITS, _UNITS.c.id == _USERS.c.unit_id))
        .where(_USERS.c.login == _LOGIN)
    )


_READS = {(u, t, k): _read(u, t, k) for u in (True, False) for t in (True, False) for k in (True, False)}


@dataclass(frozen=True)
class Found:
    """What the read found: the actor (``None`` if no user has the login, or the caller
    authenticated them already), the lowest id of another document with the 文号, and the
    newest event's key (asked only without a key)."""

    user_id: int | None
    actor: ActorSnapshot | None
    twin: int | None
    newest_key_id: str | None


def read(session: Session, login: str | None, number: str | None, *, unkeyed: bool) -> Found:
    """``login``: the user to look up (``None`` when the interface handed one over);
    ``number``: the 文号 to find a twin of (``None``: no check)."""
    if login is None and number is None and not unkeyed:
        return Found(None, None, None, None)
    stmt = _READS[(login is not None, number is not None, unkeyed)]
    row = session.connection().execute(stmt, {"login": login, "number": number}).first()
    if row is None:  # no such user
        return Found(None, None, None, None)
    if login is None:
        return Found(None, None, row.twin, row.newest_key_id)
    actor = ActorSnapshot(
        login=row.login,
        unit_id=row.unit_id,
        unit_code=row.unit_code or "",
        roles=role_set(row.roles),
        active=row.active,
        name=row.name or "",
    )
    return Found(row.id, actor, row.twin, row.newest_key_id)


_INSERT_DOCUMENT = insert(_DOCS).returning(_DOCS.c.id)
_INSERT_EDITOR = insert(_table(DocumentEditor))


def write(session: Session, values: dict[str, Any], editor: int) -> int:
    """The document (the columns' own defaults fill in the rest, as the ORM's insert did) and
    its first editor; returns the new document's id."""
    conn = session.connection()
    doc_id: int = conn.execute(_INSERT_DOCUMENT, {**values, "version": 1}).scalar_one()
    conn.execute(
        _INSERT_EDITOR,
        {"document_id": doc_id, "user_id": editor, "last_changed_at": values["created_at"], "round": 0},
    )
    return doc_id
