"""The one read a document command makes (issue 20): the document, its package collections,
the users and units they name, the acting user, its round's editors, the chain head and the
calendar's version, in a single statement.

The collections and users travel as JSON arrays (``json_agg`` on PostgreSQL,
``json_group_array`` on SQLite) and are turned back into ORM objects that join the session as
if a query had loaded them (``make_transient_to_detached``): the commands' rules keep working
on ``Document``, ``Signature``, ``User`` …, the unit of work still writes the document with its
version check, and a later ``session.get`` of any of these rows (recipients, email context,
the package hash) is answered from the identity map instead of the database. Before this read
the command path made seven to nine SELECTs per command (issue 20's profile).

The chain head is read here on SQLite only, where ``BEGIN IMMEDIATE`` admits one writer. On
PostgreSQL the events are appended as before: the chain's advisory lock after the document's
versioned UPDATE, then the head (a head read before that lock may be moved by a refusal or a
delivery on the same chain; and taking the lock before the UPDATE would invert the order the
sweep takes the two locks in, and deadlock with it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Dialect,
    Integer,
    String,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    true,
    union,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, manager_of_class, set_committed_value
from sqlalchemy.types import TypeDecorator

from states.snapshot import ActorSnapshot
from workflow.kernel import audit
from workflow.kernel.audit_hashing import GENESIS, active_key
from workflow.kernel.calendar.store import seed_version, version_read
from workflow.kernel.models import (
    AuditEvent,
    AuditHead,
    Document,
    DocumentEditor,
    Material,
    Posting,
    Signature,
    Signer,
    Unit,
    User,
    UTCDateTime,
)
from workflow.kernel.snapshots import actor_snapshot

_COLLECTIONS: dict[str, type[Any]] = {
    "materials": Material,
    "signers": Signer,
    "signatures": Signature,
    "postings": Posting,
}


@dataclass
class Loaded:
    """What the read found. The ORM objects are in the session; holding them here keeps them
    in its (weak) identity map for the whole transaction."""

    doc: Document
    users: dict[int, User]
    units: dict[int, Unit]
    editors: frozenset[str]
    heads: audit.Heads
    actor: User | None


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _json_rows(postgresql: bool, table: Table, where: ColumnElement[bool]) -> Any:
    """Every column of ``table``'s rows matching ``where``, as one JSON array.

    PostgreSQL turns the whole row into an object (``json_agg(materials)``): naming each
    column made the read longer than psycopg's 4 KiB limit for caching a statement's parsing,
    which it then did again on every command."""
    if postgresql:
        agg = func.json_agg(table.table_valued())
    else:
        pairs: list[Any] = []
        for column in table.c:
            pairs += [literal_column(f"'{column.name}'"), column]
        agg = func.json_group_array(func.json_object(*pairs))
    return select(agg).where(where).scalar_subquery()


def _decoded(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


def _instant(value: Any) -> datetime:
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


_SHAPES: dict[type[Any], tuple[frozenset[str], frozenset[str], dict[str, Any], Any]] = {}


def _shape(model: type[Any]) -> tuple[frozenset[str], frozenset[str], dict[str, Any], Any]:
    """The model's instant and boolean columns (which JSON hands back as text and 0/1), and
    any other column whose type converts what the database stores (a ``TypeDecorator``: the
    JSON path bypasses the result processing a query would apply, so it is applied here)."""
    found = _SHAPES.get(model)
    if found is None:
        table = _table(model)
        instants = frozenset(c.name for c in table.c if isinstance(c.type, UTCDateTime))
        flags = frozenset(c.name for c in table.c if isinstance(c.type, Boolean))
        decorated = {
            c.name: c.type
            for c in table.c
            if isinstance(c.type, TypeDecorator) and not isinstance(c.type, UTCDateTime)
        }
        found = _SHAPES[model] = (instants, flags, decorated, manager_of_class(model))
    return found


def _build(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> list[Any]:
    """ORM objects for ``rows`` (JSON objects of every column), persistent in ``session`` as
    if loaded by a query."""
    instants, flags, decorated, manager = _shape(model)
    dialect = session.get_bind().dialect
    mapper = manager.mapper
    keys = [c.name for c in mapper.primary_key]
    out = []
    for row in rows:
        for name in instants:
            if row.get(name) is not None:
                row[name] = _instant(row[name])
        for name in flags:
            if row.get(name) is not None:
                row[name] = bool(row[name])
        for name, type_ in decorated.items():
            row[name] = type_.process_result_value(row.get(name), dialect)
        # As the ORM's own loading does: a bare instance with its committed values, no
        # instrumented __init__ (setting each attribute through it was a fifth of a command).
        # It joins the identity map as the ORM's loading joins it (orm/loading.py), without
        # Session.add's cascade walk: nothing of it is pending, there is nothing to cascade.
        obj = manager.new_instance()
        obj.__dict__.update(row)
        state = instance_state(obj)
        key = mapper.identity_key_from_primary_key([row[c] for c in keys])
        state.key, state.session_id = key, session.hash_key
        session.identity_map._add_unpresent(state, key)
        out.append(obj)
    return out


_NAMES: dict[str, tuple[str, ...]] = {}
"""The read's column names by its SQL (a driver builds its description anew on each call)."""


def _statement(
    dialect: Dialect, with_login: bool, unkeyed: bool
) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
    """The read for this dialect and shape, compiled on first use (see :func:`_compile`)."""
    key = (dialect.name, dialect.driver, dialect.paramstyle, with_login, unkeyed)
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = _compile(dialect, with_login, unkeyed)
    return found


_STATEMENTS: dict[tuple[str, str, str, bool, bool], tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}


def _compile(
    dialect: Dialect, with_login: bool, unkeyed: bool
) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
    """The read, compiled once per dialect and shape: its SQL and, for a positional
    paramstyle, the order of its parameters (building and compiling it cost more than running
    it on SQLite)."""
    postgresql = dialect.name == "postgresql"
    d = _table(Document)
    doc_id, login = bindparam("doc_id", type_=Integer()), bindparam("login", type_=String())
    # Who the document names, and the actor: a union of primary keys, so that each table is
    # read by its index (an OR of the conditions made PostgreSQL scan the users table).
    named = d.alias("named")
    wanted = union(
        select(Signer.user_id.label("id")).where(Signer.document_id == doc_id),
        select(Signature.user_id).where(Signature.document_id == doc_id),
        select(named.c.interpreter_id).where(named.c.id == doc_id),
        select(named.c.created_by).where(named.c.id == doc_id),
        *([select(User.id).where(User.login == login)] if with_login else []),
    ).subquery("wanted")
    ids = User.id.in_(select(wanted.c.id))
    users_json = _json_rows(postgresql, _table(User), ids)
    units_json = _json_rows(
        postgresql,
        _table(Unit),
        Unit.id.in_(
            union(
                select(named.c.unit_id).where(named.c.id == doc_id),
                select(User.unit_id).where(ids),
            )
        ),
    )
    editors_json = (
        select(func.json_agg(User.login) if postgresql else func.json_group_array(User.login))
        .join(DocumentEditor, DocumentEditor.user_id == User.id)
        .where(DocumentEditor.document_id == doc_id, DocumentEditor.round >= d.c.signoff_round)
        .scalar_subquery()
    )
    calendar = version_read()
    columns: list[Any] = [
        *d.c,
        *(
            _json_rows(postgresql, _table(m), m.document_id == doc_id).label(n)
            for n, m in _COLLECTIONS.items()
        ),
        users_json.label("users_json"),
        units_json.label("units_json"),
        editors_json.label("editors_json"),
        *calendar.c,
    ]
    if not postgresql:
        chain = bindparam("chain", type_=String())
        columns += [
            select(AuditHead.seq).where(AuditHead.chain == chain).scalar_subquery().label("head_seq"),
            select(AuditHead.hash).where(AuditHead.chain == chain).scalar_subquery().label("head_hash"),
        ]
    if unkeyed:  # only a process without a key asks (see audit._refuse_unkeyed)
        newest = select(AuditEvent.key_id).order_by(AuditEvent.id.desc()).limit(1).scalar_subquery()
        columns.append(newest.label("newest_key_id"))
    stmt = select(*columns).select_from(d.join(calendar, true())).where(d.c.id == doc_id)
    compiled = stmt.compile(dialect=dialect)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    return str(compiled), order, dict(compiled.params)  # the constants among them (LIMIT 1)


def load(session: Session, doc_id: int, login: str | None) -> Loaded | None:
    """The document ``doc_id`` and all a command decides on (``None`` if there is none);
    ``login``, if given, is the actor to look up with it."""
    dialect = session.get_bind().dialect
    postgresql = dialect.name == "postgresql"
    chain = audit.chain_for(doc_id)
    sql, order, constants = _statement(dialect, login is not None, active_key() is None)
    values = {**constants, "doc_id": doc_id, "login": login, "chain": chain}
    params: Any = tuple(values[n] for n in order) if order is not None else values
    # Through the driver's cursor: SQLAlchemy's result object would rebuild its metadata for
    # these fifty columns on every call (a text statement's are not cached).
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql, params)
        found = cursor.fetchone()
        names = _NAMES.get(sql)
        if names is None:
            names = _NAMES[sql] = tuple(d[0] for d in cursor.description)
        row = dict(zip(names, found, strict=True)) if found else None
    finally:
        cursor.close()
    if row is None:
        return None
    last = row["calendar_loaded_at"]
    seed_version(
        session, row["calendar_years"], row["calendar_hashed"], _instant(last) if last is not None else None
    )
    (doc,) = _build(session, Document, [{c.name: row[c.name] for c in _table(Document).c}])
    for name, model in _COLLECTIONS.items():
        items = sorted(_build(session, model, _decoded(row[name])), key=lambda o: o.id)
        for item in items:
            set_committed_value(item, "document", doc)
        set_committed_value(doc, name, items)
    units = {u.id: u for u in _build(session, Unit, _decoded(row["units_json"]))}
    users = {u.id: u for u in _build(session, User, _decoded(row["users_json"]))}
    for user in users.values():
        set_committed_value(user, "unit", units.get(user.unit_id))
    actor = next((u for u in users.values() if u.login == login), None) if login is not None else None
    tips = (
        None
        if postgresql
        else {chain: (row["head_seq"], row["head_hash"]) if row["head_seq"] is not None else (0, GENESIS)}
    )
    return Loaded(
        doc=doc,
        users=users,
        units=units,
        editors=frozenset(str(login) for login in _decoded(row["editors_json"])),
        heads=audit.Heads(tips, row.get("newest_key_id")),
        actor=actor,
    )


def actor_of(loaded: Loaded) -> tuple[User, ActorSnapshot] | None:
    if loaded.actor is None:
        return None
    return loaded.actor, actor_snapshot(loaded.actor, loaded.units.get(loaded.actor.unit_id))
