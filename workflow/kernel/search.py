"""Chinese substring search over documents' title, 文号, body and plan, indexed on both databases.

Chinese has no spaces between words, so a word index finds nothing useful; both databases
index **trigrams** (every run of three characters), which finds any substring of three or more
characters and lets the database confirm the candidates exactly. A term matches within one
field (never across two):

* **SQLite**: an FTS5 table ``documents_fts`` with the ``trigram`` tokenizer (SQLite ≥ 3.34),
  an external-content index over ``documents`` kept current by triggers (only an UPDATE that
  sets one of the four columns touches it). A term is a quoted FTS5 phrase, matched
  case-insensitively. The FTS table drives the query and hands its matches over newest first,
  so a page stops reading after its last row.
* **PostgreSQL**: ``pg_trgm``, one GIN index per field, queried with ``LIKE '%term%'`` (``ILIKE``
  when the term has Latin letters: for Chinese the same result at half the cost). pg_trgm
  extracts trigrams from the characters the database's ``LC_CTYPE`` calls alphanumeric: with a
  UTF-8 ctype (``C.UTF-8``, ``zh_CN.UTF-8``, ``en_US.UTF-8``) Chinese characters are; with plain
  ``C`` they are not and the indexes cannot narrow a Chinese search (it stays correct, but
  scans); :func:`pg_indexes_chinese` checks. The planner cannot estimate how many documents
  hold a substring, and a GIN index hands over *every* match, each rechecked against its text,
  then sorted: ~0.6 s for a phrase in most of 100,000 bodies. So :func:`pg_newest_first` first
  reads the newest documents in key order and stops at a page, and asks the indexes only about
  the older ones, for a term too rare to fill the page that way (docs/performance.md, search).

A term shorter than three characters has no trigram. Such terms only narrow the matches of
the longer terms of the same query; a query made only of short terms searches titles and 文号
(a scan of two short columns), never bodies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    TableClause,
    and_,
    column,
    func,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

FTS_TABLE = "documents_fts"
FTS_SHADOW_TABLES = tuple(
    f"{FTS_TABLE}{suffix}" for suffix in ("", "_data", "_idx", "_docsize", "_config", "_content")
)
"""The FTS5 table and the tables SQLite keeps for it: not models, left alone by schema checks."""
FIELDS = ("title", "doc_number", "body", "plan")
PG_INDEXES = tuple(f"ix_documents_search_{field}" for field in FIELDS)
"""One pg_trgm GIN index per field (migration 0014_search)."""
MIN_INDEXED = 3
RAREST_SAMPLE = 400
"""How many of the newest rows :func:`pg_newest_first` tests each term on to find the rarest."""
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


def _contains(col: Any, term: str, *, fold: bool) -> ColumnElement[bool]:
    pattern = _like_pattern(term)
    return col.ilike(pattern, escape="\\") if fold else col.like(pattern, escape="\\")


def _has_latin(term: str) -> bool:
    return any("a" <= ch.lower() <= "z" for ch in term)


def uses_fts(dialect: str, query: Query) -> bool:
    """Whether the query is answered by SQLite's FTS5 table (then it drives the join)."""
    return dialect == "sqlite" and not query.titles_only


def fts_table() -> TableClause:
    """The FTS5 table as a FROM clause (joined on ``documents.id = documents_fts.rowid``)."""
    return table(FTS_TABLE, column("rowid", Integer))


def match(dialect: str, query: Query, documents: Any) -> ColumnElement[bool]:
    """The WHERE clause that keeps the documents matching every term of ``query``; with
    :func:`uses_fts`, the FTS table must be in the FROM clause (see :func:`matching`)."""
    fields = [getattr(documents, c) for c in FIELDS]
    title, number = fields[0], fields[1]
    sqlite = dialect == "sqlite"
    clauses: list[ColumnElement[bool]] = []
    if query.titles_only:
        for term in query.short:  # SQLite's LIKE already ignores ASCII case
            fold = not sqlite and _has_latin(term)
            clauses.append(or_(_contains(title, term, fold=fold), _contains(number, term, fold=fold)))
    elif sqlite:
        phrase = " AND ".join(_fts_phrase(t) for t in query.indexed)
        clauses.append(text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=phrase))  # type: ignore[arg-type]
        for term in query.short:  # no trigram: checked on the candidates only
            clauses.append(or_(*(_contains(c, term, fold=False) for c in fields)))
    else:
        clauses.extend(pg_term_clauses(query, documents))
    return and_(*clauses)


def pg_term_clauses(query: Query, documents: Any, *, indexable: bool = True) -> list[ColumnElement[bool]]:
    """One clause per term on PostgreSQL: the term in one of the fields. Not ``indexable``, the
    fields are wrapped (``field || ''``) so the planner tests the clause on rows another index
    found instead of using the term's own GIN index."""
    fields = [getattr(documents, c) for c in FIELDS]
    if not indexable:
        fields = [f.concat("") for f in fields]
    return [or_(*(_contains(c, term, fold=_has_latin(term)) for c in fields)) for term in query.terms]


def matching(dialect: str, query: Query, documents: Any, *entities: Any) -> tuple[Select[Any], Any]:
    """``SELECT entities`` from the documents (joined to the FTS table when it answers), and
    the key to order by, descending (newest first). The match itself is :func:`match`."""
    if uses_fts(dialect, query):
        fts = fts_table()
        return select(*entities).select_from(fts).join(documents, documents.id == fts.c.rowid), fts.c.rowid
    return select(*entities).select_from(documents), documents.id


def pg_window(session: Session, wanted: int) -> int:
    """How many of the newest documents :func:`pg_newest_first` reads in key order before it
    asks the indexes: √(wanted × documents). A term in a fraction f of N documents costs
    wanted/f rows in the first phase and f·N in the second; the window makes the worse of the
    two √(wanted·N) rows. N is PostgreSQL's estimate (``reltuples``)."""
    estimate = session.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = 'documents'::regclass")
    ).scalar()
    return int(min(20_000, max(500, math.sqrt(wanted * max(float(estimate or 0), 1.0)))))


def pg_newest_first(
    session: Session, stmt: Select[Any], query: Query, documents: Any, wanted: int, before: int | None = None
) -> list[Any]:
    """The first ``wanted`` rows of ``stmt`` (already filtered by who may read, state, unit,
    period and page) that match ``query``, newest first, on PostgreSQL. ``before`` is the
    page's bound on the documents' key.

    1. The W-th newest document key below ``before`` bounds a window (:func:`pg_window`; an
       index-only scan of the primary key, whoever is searching).
    2. In the window, with bitmap scans off for this statement, the rows are read in key order
       and tested: a common term fills the page after a few rows.
    3. Only if the page is not full and older rows exist do the GIN indexes find the matches
       among them, with plain index and sequential scans off for this statement (a rarer
       term: few matches to recheck and sort). With several terms, the one that matched fewest
       documents of the window uses its index and the others are tested on what it found: the
       planner would pick by pattern length, and a long common phrase would have it recheck
       most of the table.
    """
    key = documents.id
    clauses = pg_term_clauses(query, documents)
    # A plan for these patterns, not a generic one: after five runs psycopg prepares a
    # statement and PostgreSQL may settle on a plan made without the pattern (a clerk's
    # two-word search went from 22 to 37 ms on its seventh run).
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    bound = select(key).order_by(key.desc()).offset(pg_window(session, wanted) - 1).limit(1)
    low = session.execute(bound if before is None else bound.where(key < before)).scalar()
    recent = stmt.where(*clauses).order_by(key.desc()).limit(wanted)
    with _planner(session, enable_bitmapscan="off"):  # key order, stop at a page
        rows = list(session.execute(recent if low is None else recent.where(key >= low)))
        if low is None or len(rows) >= wanted:
            return rows
        if len(clauses) > 1:
            # Which term is rarest, judged on the newest rows of the window: the whole window
            # (thousands of bodies, every term tested in four fields) cost more than the rows
            # the second phase then reads.
            newest = select(*(getattr(documents, f) for f in FIELDS)).where(key >= low)
            newest = (newest if before is None else newest.where(key < before)).order_by(key.desc())
            sample = newest.limit(RAREST_SAMPLE).subquery("sample")
            seen = session.execute(
                select(*(func.count().filter(c) for c in pg_term_clauses(query, sample.c)))
            ).one()
            rarest = min(range(len(clauses)), key=lambda i: seen[i])
            tested = pg_term_clauses(query, documents, indexable=False)
            clauses = [c if i == rarest else tested[i] for i, c in enumerate(clauses)]
    older = stmt.where(*clauses, key < low).order_by(key.desc()).limit(wanted - len(rows))
    with _planner(session, enable_indexscan="off", enable_seqscan="off"):  # the trigram indexes
        return rows + list(session.execute(older))


@contextmanager
def _planner(session: Session, **settings: str) -> Iterator[None]:
    """Planner settings for the statements inside, reset after them (``SET LOCAL``: they end
    with the transaction at the latest). The planner cannot tell a common substring from a rare
    one, so each phase of :func:`pg_newest_first` says which plan it means."""
    for name, value in settings.items():
        session.execute(text(f"SET LOCAL {name} = {value}"))
    try:
        yield
    finally:
        for name in settings:
            session.execute(text(f"SET LOCAL {name} = DEFAULT"))


def not_search_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's ``include_object``: the search index lives in migrations only (an FTS5 table
    and GIN trigram indexes have no model), so schema comparisons leave it alone."""
    if type_ == "table" and name in FTS_SHADOW_TABLES:
        return False
    return not (type_ == "index" and name in PG_INDEXES)


def pg_indexes_chinese(conn: Connection) -> bool:
    """Whether pg_trgm finds trigrams in Chinese text in this database (its ``LC_CTYPE`` is a
    UTF-8 one); if not, Chinese searches are correct but not helped by the indexes."""
    found = conn.execute(text("SELECT array_length(show_trgm('网约车管理'), 1)")).scalar()
    return bool(found)
