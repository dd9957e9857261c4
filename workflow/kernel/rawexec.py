"""The command path's few write statements, compiled once and sent on the driver's cursor.

A document command sends the same four or five statements every time (the document's
versioned UPDATE, the outbox and audit INSERTs, on PostgreSQL the chain's lock and head).
Through ``Connection.execute`` each costs 40–100 µs of SQLAlchemy's per-call work (execution
context, cache key, result metadata) beside the driver's own, more than SQLite spends writing
the row (issue 20's profile; ``bench/bench_trigger.py``). Here a Core statement is compiled
once per dialect and shape, and each call only applies the column types' bind processors
(``UTCDateTime`` turning an instant into what the column stores) and hands the parameters to
the cursor of the session's own connection, inside the session's transaction.

What a DBAPI error turns into is unchanged: it is raised as SQLAlchemy's exception of the same
kind (``IntegrityError`` …) so the callers' compare-and-set handling still applies, and a
dropped connection is invalidated as ``Connection.execute`` would.

Only statements built from our own metadata come here; every value is a bound parameter.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement


@dataclass(frozen=True)
class _Compiled:
    statement: ClauseElement  # held so that its id() stays its own while cached
    sql: str
    order: tuple[str, ...] | None  # the parameters' order for a positional paramstyle
    processors: Mapping[str, Callable[[Any], Any]]
    constants: Mapping[str, Any]  # parameters the statement carries itself (LIMIT 1 …)


_CACHE: dict[tuple[int, str, str, tuple[str, ...]], _Compiled] = {}


def _compiled(statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    key = (id(statement), dialect.name, dialect.driver, keys)
    found = _CACHE.get(key)
    if found is None or found.statement is not statement:
        compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        constants = {k: v for k, v in compiled.params.items() if k not in keys}
        # A column left out whose default is a constant gets it here, as the execution context
        # would; a default that must be called (none in the command path) is refused.
        for column in [*getattr(compiled, "insert_prefetch", ()), *getattr(compiled, "update_prefetch", ())]:
            if column.default is None or not column.default.is_scalar:
                raise ValueError(f"rawexec: {column} has a default to call; use Connection.execute")
            constants[column.key] = column.default.arg
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _CACHE[key] = _Compiled(
            statement, str(compiled), order, dict(compiled._bind_processors), constants
        )
    return found


def _bound(c: _Compiled, values: Mapping[str, Any]) -> Any:
    merged = {**c.constants, **values} if c.constants else dict(values)
    for name, process in c.processors.items():
        if name in merged:
            merged[name] = process(merged[name])
    if c.order is None:
        return merged
    return tuple(merged[name] for name in c.order)


def execute(
    session: Session,
    statement: ClauseElement,
    rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    returning: Sequence[str] = (),
) -> tuple[int, list[Any]]:
    """Run ``statement`` once with ``rows`` (a mapping), or once per row (a sequence of
    mappings with the same keys, sent as the driver's executemany; no ``returning`` then).
    Returns the row count and, with ``returning``, the rows as named tuples."""
    many = not isinstance(rows, Mapping)
    first: Mapping[str, Any] = rows[0] if many else rows  # type: ignore[index,assignment]
    connection = session.connection()
    dialect = connection.dialect
    c = _compiled(statement, dialect, tuple(first))
    cursor = connection.connection.cursor()
    try:
        if many:
            assert not returning, "executemany hands no rows back"
            cursor.executemany(c.sql, [_bound(c, r) for r in rows if isinstance(r, Mapping)])
            return cursor.rowcount, []
        cursor.execute(c.sql, _bound(c, first))
        if not returning:
            return cursor.rowcount, []
        shape = _shape(tuple(returning))
        return cursor.rowcount, [shape._make(r) for r in cursor.fetchall()]
    except dialect.loaded_dbapi.Error as error:
        invalidated = dialect.is_disconnect(error, connection.connection, cursor)
        if invalidated:
            connection.invalidate(error)
        raise exc.DBAPIError.instance(
            c.sql,
            None,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=invalidated,
            dialect=dialect,
        ) from error
    finally:
        cursor.close()


_SHAPES: dict[tuple[str, ...], Any] = {}


def _shape(names: tuple[str, ...]) -> Any:
    found = _SHAPES.get(names)
    if found is None:
        found = _SHAPES[names] = namedtuple("Returned", names)
    return found
