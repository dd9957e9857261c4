"""The command path's writes (issue 20): the document's versioned UPDATE, a new row of one of
its collections, removals, the editor, voided signatures — each one statement, built once, the
objects kept as if loaded (:mod:`.loading`) so that the rules after a write see it and the
session's flush has nothing left to send. Statements without a list parameter go to the
driver's cursor (:mod:`workflow.kernel.rawexec`).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from workflow.kernel import rawexec
from workflow.kernel.models import Document, DocumentEditor, Signature
from workflow.services.documents.loading import _COLLECTIONS, _shape, _table

_DOCUMENT_COLUMNS = frozenset(c.name for c in _table(Document).c)


@functools.lru_cache(maxsize=256)
def _update_of(columns: tuple[str, ...]) -> Any:
    """``UPDATE documents SET <columns>, version WHERE id AND version`` with bound parameters,
    built once per set of columns (building it cost more than sending it)."""
    table = _table(Document)
    return (
        update(table)
        .where(table.c.id == bindparam("_id"), table.c.version == bindparam("_seen"))
        .values({c: bindparam(c, type_=table.c[c].type) for c in (*columns, "version")})
    )


def write_document(session: Session, doc: Document) -> None:
    """The document's changes as one Core UPDATE, compared on the version it was read at
    (:class:`StaleDataError` if another transaction moved it), instead of the unit of work's
    flush of it (a fifth of a publish). Its new version goes on the object, whose column
    changes count as written; the session still flushes what else the body added or changed
    (a signature, a posting, voided signatures)."""
    state = inspect(doc)
    changed = [key for key in state.committed_state if key in _DOCUMENT_COLUMNS]
    seen = doc.version
    values = {key: state.dict[key] for key in changed}
    values["version"] = seen + 1
    values["_id"], values["_seen"] = doc.id, seen
    count, _ = rawexec.execute(session, _update_of(tuple(sorted(changed))), values)
    if count != 1:
        raise StaleDataError(f"document {doc.id} changed since version {seen}")
    for key in changed:
        del state.committed_state[key]
    state.dict["version"] = seen + 1
    if not state.committed_state:  # nothing left for the flush: the document is clean
        state._commit_all(state.dict, session.identity_map)


_INSERTS = {name: insert(_table(m)).returning(_table(m).c.id) for name, m in _COLLECTIONS.items()}


def add_to(session: Session, doc: Document, name: str, values: dict[str, Any]) -> Any:
    """A new row of ``doc``'s collection ``name`` (materials, signers, signatures, postings):
    one Core ``INSERT … RETURNING id``, and the object joins the collection and the session
    as if loaded, so the rules after it (the package hash, the snapshot) see it and the
    session's flush has nothing of it to write (the unit of work's flush of one pending row
    was most of a sign or an attach)."""
    model = _COLLECTIONS[name]
    table = _table(model)
    row = {"document_id": doc.id, **values}
    row["id"] = rawexec.execute(session, _INSERTS[name], row, returning=("id",))[1][0].id
    for column in table.c:  # what the INSERT filled in from the columns' own defaults
        if column.name not in row:
            default = column.default
            row[column.name] = default.arg if default is not None and default.is_scalar else None  # type: ignore[attr-defined]
    manager = _shape(model)[3]
    obj = manager.new_instance()
    obj.__dict__.update(row)
    state = instance_state(obj)
    key = manager.mapper.identity_key_from_primary_key([row["id"]])
    state.key, state.session_id = key, session.hash_key
    session.identity_map._add_unpresent(state, key)
    set_committed_value(obj, "document", doc)
    set_committed_value(doc, name, [*getattr(doc, name), obj])
    return obj


_DELETES = {
    name: delete(_table(m)).where(_table(m).c.id.in_(bindparam("ids", expanding=True)))
    for name, m in _COLLECTIONS.items()
}


def remove_from(session: Session, doc: Document, name: str, gone: list[Any]) -> None:
    """Delete ``gone`` (rows of ``doc``'s collection ``name``) with one Core ``DELETE``, and
    take them out of the collection as loaded."""
    if not gone:
        return
    ids = {o.id for o in gone}
    session.connection().execute(_DELETES[name], {"ids": sorted(ids)})
    set_committed_value(doc, name, [o for o in getattr(doc, name) if o.id not in ids])
    for obj in gone:
        session.expunge(obj)


@functools.lru_cache(maxsize=4)
def _editor_upsert(dialect: str) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    table = _table(DocumentEditor)
    stmt: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.document_id, table.c.user_id],
        set_={"last_changed_at": stmt.excluded.last_changed_at, "round": stmt.excluded.round},
    )


def record_editor(session: Session, doc: Document, user_id: int, at: datetime) -> None:
    """Note that ``user_id`` changed the package now, in the document's current round: one
    upsert of the editor row (an UPDATE and, for a new editor, an INSERT before)."""
    rawexec.execute(
        session,
        _editor_upsert(session.get_bind().dialect.name),
        {"document_id": doc.id, "user_id": user_id, "last_changed_at": at, "round": doc.signoff_round or 0},
    )


_SIGNATURES = _table(Signature)
_VOID = (
    update(_SIGNATURES)
    .where(_SIGNATURES.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        voided_at=bindparam("at", type_=_SIGNATURES.c.voided_at.type),
        void_reason=bindparam("why", type_=_SIGNATURES.c.void_reason.type),
    )
)


def void_signatures(session: Session, ids: list[int], why: str, at: datetime) -> None:
    """Void the signatures ``ids`` (already marked on their objects): one Core UPDATE."""
    session.connection().execute(_VOID, {"ids": ids, "at": at, "why": why})
