"""Chinese substring search over documents' title, 文号, body and plan, indexed on both databases.

Chinese has no spaces between words, so a word index finds nothing useful; both databases
index **trigrams** (every run of three characters), which finds any substring of three or more
characters and lets the database confirm the candidates exactly:

* **SQLite**: an FTS5 table ``documents_fts`` with the ``trigram`` tokenizer (SQLite ≥ 3.34),
  an external-content index over ``documents`` kept current by triggers (only an UPDATE that
  sets one of the four columns touches it). A term is a quoted FTS5 phrase, matched
  case-insensitively within one column.
* **PostgreSQL**: ``pg_trgm`` and one GIN index on the four columns joined by a control
  character (``chr(31)``, which a search term cannot contain, so no match spans two fields),
  queried with ``ILIKE '%term%'``. pg_trgm extracts trigrams from the characters the database's
  ``LC_CTYPE`` calls alphanumeric: with a UTF-8 ctype (``C.UTF-8``, ``zh_CN.UTF-8``,
  ``en_US.UTF-8``) Chinese characters are; with plain ``C`` they are not and the index cannot
  narrow a Chinese search (it stays correct, but scans). :func:`pg_indexes_chinese` checks.

A term shorter than three characters has no trigram. Such terms only narrow the matches of
the longer terms of the same query (checked by ``LIKE`` on the candidate rows); a query made
only of short terms searches titles and 文号 (a scan of two short columns), never bodies.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, literal_column, or_, select, text
from sqlalchemy.engine import Connection

FTS_TABLE = "documents_fts"
FTS_SHADOW_TABLES = tuple(f"{FTS_TABLE}{suffix}" for suffix in ("", "_data", "_idx", "_docsize", "_config", "_content"))
"""The FTS5 table and the tables SQLite keeps for it: not models, left alone by schema checks."""
PG_INDEX = "ix_documents_search"


def pg_expression(table: str = "") -> str:
    """The indexed expression: the four fields joined by ``chr(31)`` (qualified by ``table``
    in a query; PostgreSQL matches it to the index whatever the qualification)."""
    p = f"{table}." if table else ""
    return (f"({p}title || chr(31) || coalesce({p}doc_number, '') || chr(31) || {p}body || chr(31) "
            f"|| coalesce({p}plan, ''))")


PG_EXPRESSION = pg_expression()
MIN_INDEXED = 3
MAX_TERMS = 8
MAX_QUERY = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Query:
    """A search as the user typed it, split into terms (whitespace separates them; all must
    match)."""

    terms: tuple[str, ...]

    @property
    def indexed(self) -> tuple[str, ...]:
        return tuple(t for t in self.terms if len(t) >= MIN_INDEXED)

    @property
    def short(self) -> tuple[str, ...]:
        return tuple(t for t in self.terms if len(t) < MIN_INDEXED)

    @property
    def titles_only(self) -> bool:
        """Only short terms: title and 文号 are searched, not bodies and plans."""
        return not self.indexed


def parse(text_: str) -> Query:
    """The terms of ``text_``; :class:`ValueError` (with a sentence to show) if there are none,
    too many, or the text is too long or holds control characters."""
    if len(text_) > MAX_QUERY:
        raise ValueError(f"at most {MAX_QUERY} characters")
    if _CONTROL.search(text_.replace("\t", " ").replace("\n", " ")):
        raise ValueError("no control characters")
    terms = tuple(dict.fromkeys(t for t in text_.split() if t))
    if not terms:
        raise ValueError("give a word to search for")
    if len(terms) > MAX_TERMS:
        raise ValueError(f"at most {MAX_TERMS} words")
    return Query(terms)


def _like_pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def match(dialect: str, query: Query, documents: object) -> ColumnElement[bool]:
    """The WHERE clause that keeps the documents matching every term of ``query``.

    ``documents`` is the documents table (or its ORM class); its columns are referenced by
    name so the PostgreSQL clause is the indexed expression itself.
    """
    d = documents
    title, number, body, plan = (getattr(d, c) for c in ("title", "doc_number", "body", "plan"))
    clauses: list[ColumnElement[bool]] = []
    if query.titles_only:
        for term in query.short:
            pattern = _like_pattern(term)
            if dialect == "sqlite":
                clauses.append(or_(title.like(pattern, escape="\\"), number.like(pattern, escape="\\")))
            else:
                clauses.append(or_(title.ilike(pattern, escape="\\"), number.ilike(pattern, escape="\\")))
        return and_(*clauses)
    if dialect == "sqlite":
        phrase = " AND ".join(_fts_phrase(t) for t in query.indexed)
        ids: Select[Any] = select(literal_column("rowid")).select_from(text(FTS_TABLE)).where(
            text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=phrase))
        clauses.append(d.id.in_(ids))  # type: ignore[attr-defined]
        for term in query.short:
            pattern = _like_pattern(term)
            clauses.append(or_(*(c.like(pattern, escape="\\") for c in (title, number, body, plan))))
        return and_(*clauses)
    expression: ColumnElement[str] = literal_column(pg_expression("documents"))
    for term in query.terms:
        clauses.append(expression.ilike(_like_pattern(term), escape="\\"))
    return and_(*clauses)


def not_search_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's ``include_object``: the search index lives in migrations only (an FTS5 table
    and a GIN expression index have no model), so schema comparisons leave it alone."""
    if type_ == "table" and name in FTS_SHADOW_TABLES:
        return False
    return not (type_ == "index" and name == PG_INDEX)


def pg_indexes_chinese(conn: Connection) -> bool:
    """Whether pg_trgm finds trigrams in Chinese text in this database (its ``LC_CTYPE`` is a
    UTF-8 one); if not, Chinese searches are correct but not helped by the index."""
    found = conn.execute(text("SELECT array_length(show_trgm('网约车管理'), 1)")).scalar()
    return bool(found)
