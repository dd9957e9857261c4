"""Inserting many rows in one statement, with ``ON CONFLICT DO NOTHING`` and ``RETURNING``.

The sweep writes thousands of escalations, outbox rows and audit events per run. SQLAlchemy's
executemany ("insertmanyvalues") sends them as multi-row ``VALUES`` lists, which is right for
SQLite; on PostgreSQL, psycopg then parses a query of ~10,000 placeholders per page with a
regular expression — about 10 µs a placeholder, half a millisecond per escalated document
(bench_sweep, cProfile). On PostgreSQL the rows therefore travel as one JSON parameter and
are rebuilt by ``json_to_recordset``: a short query whatever the number of rows, and a dump by
the C JSON encoder instead of psycopg's per-element array escaping (the first attempt, with
``unnest`` of arrays, was no faster for that reason).

Only the table and column names of our own metadata are written into the SQL; every value is a
bound parameter.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflow.kernel import rawexec


def table_of(model: Any) -> Table:
    """A mapped class's table, typed as the :class:`Table` it is (``__table__`` is typed as the
    wider ``FromClause``)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def insert_many(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str] | None = None,
    returning: Sequence[str] = (),
) -> list[Any]:
    """Insert ``rows`` (all with the same keys) into ``table``; with ``conflict``, rows that
    clash on those columns are skipped (``ON CONFLICT … DO NOTHING``). Returns the
    ``returning`` columns of the rows really inserted, in no particular order."""
    if not rows:
        return []
    missing = _constant_defaults(table, tuple(rows[0]))
    if missing:  # what the execution context would add; json_to_recordset would leave NULL
        rows = [{**missing, **row} for row in rows]
    if session.get_bind().dialect.name != "postgresql":
        stmt = _sqlite_insert(table, tuple(conflict) if conflict is not None else None, tuple(returning))
        if returning and len(rows) > 1:  # SQLAlchemy's insertmanyvalues hands back every row
            return list(session.connection().execute(stmt, list(rows)).all())
        # A command's rows (one outbox row, its few events): on the driver's cursor (rawexec).
        return rawexec.execute(session, stmt, rows[0] if returning else rows, returning=returning)[1]
    statement = _pg_insert(
        table, tuple(rows[0]), tuple(conflict) if conflict is not None else None, tuple(returning)
    )
    payload = {"rows": json.dumps(rows, default=_json_value, ensure_ascii=False)}
    return rawexec.execute(session, statement, payload, returning=returning)[1]


@functools.lru_cache(maxsize=128)
def _constant_defaults(table: Table, keys: tuple[str, ...]) -> dict[str, Any]:
    """The model's constant defaults of the columns ``keys`` leaves out."""
    found: dict[str, Any] = {}
    for c in table.c:
        default: Any = c.default
        if c.key not in keys and default is not None and default.is_scalar:
            found[c.key] = default.arg
    return found


@functools.lru_cache(maxsize=128)
def _sqlite_insert(table: Table, conflict: tuple[str, ...] | None, returning: tuple[str, ...]) -> Any:
    """One shape of insert on SQLite, built once (executemany sends the rows)."""
    stmt = sqlite.insert(table)
    if conflict is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    return stmt.returning(*(table.c[c] for c in returning)) if returning else stmt


@functools.lru_cache(maxsize=128)
def _pg_insert(
    table: Table, names: tuple[str, ...], conflict: tuple[str, ...] | None, returning: tuple[str, ...]
) -> Any:
    """The statement for one shape of insert, built once (a command inserts the same shapes
    every time, and quoting and compiling each name again was a tenth of its CPU)."""
    dialect = postgresql.dialect()
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(f"{quote(n)} {table.c[n].type.compile(dialect=dialect)}" for n in names)
    listed = ", ".join(quote(n) for n in names)
    sql = (
        f"INSERT INTO {quote(table.name)} ({listed}) "
        f"SELECT {listed} FROM json_to_recordset(CAST(:rows AS json)) AS r({columns})"
    )
    if conflict is not None:
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    return text(sql)


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # the columns are instants; a naive value is a bug, not a guess
            raise ValueError("naive datetime given to a UTC column")
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} in a bulk insert")
