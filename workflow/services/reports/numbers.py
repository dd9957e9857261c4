"""Which documents share their 文号 (document number) with another document, for the reports.

A number another document has already is refused (``duplicate_number`` in
:mod:`workflow.services.documents.validation`) unless the drafting clerk says a second one is
meant: ``--allow-duplicate-number`` on the CLI, ``allow_duplicate_number`` in the API, the box
beside the number on the pages. A reissued number can be real, but a supervisor must see every
document that carries one, not only find it in the audit trail.

The one definition: a document shares its number when the number is not empty and at least
one *other* document created by the report's as-of instant has the same number, in any state
and any unit. Numbers are read as they stand, as the ledger's number column shows them; a
number is part of the signed package, frozen once the document is published.

Both :func:`shared_numbers` (per row) and :func:`shares_number` (inside a report's own query)
rest on one grouped subquery, the numbers held more than once by the as-of instant: one hashed
pass over the documents (about 0.3 s at 300,000 on PostgreSQL), whatever the period or the
number of rows. A probe per row looks cheaper but is not: the planner serves an equality on
``doc_number``, joined or ``= ANY``, from the search's trigram index
(``ix_documents_search_doc_number``, 0014_search) rather than the B-tree
``ix_documents_doc_number``, several milliseconds a probe on numbers that share most of their
trigrams (榕交〔2024〕…): 7 s for a ledger of a thousand rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from workflow.kernel.export import Column
from workflow.kernel.models import Document

SHARED_COLUMN = Column("shared_number", "同文号的其他文件", "number shared with documents", "list")
"""Per document: the ids of the other documents that have its number (empty: none)."""
SHARED_COUNT = "number_shared"
SHARED_COUNT_COLUMN = Column(
    SHARED_COUNT, "文号与其他文件相同", "sharing its number with another document", "int"
)
"""Per unit: how many documents share their number. The same key in a report's summary (its
``meta``, labelled through the catalogue: META_LABELS in :mod:`workflow.kernel.export`)
counts them over the whole report."""


def _held_twice(as_of: datetime) -> Select[str | None]:
    """The non-empty numbers two or more documents created by ``as_of`` hold."""
    return (
        select(Document.doc_number)
        .where(Document.doc_number != "", Document.created_at <= as_of)
        .group_by(Document.doc_number)
        .having(func.count() > 1)
    )


def shared_numbers(session: Session, doc_ids: Sequence[int], as_of: datetime) -> dict[int, list[int]]:
    """Per document of ``doc_ids`` that shares its number: the other documents' ids, ascending.

    Every holder of a number held twice is read (few, on any real register), then matched to
    the report's documents here."""
    holders: dict[str, list[int]] = defaultdict(list)
    number_of: dict[int, str] = {}
    for r in session.execute(
        select(Document.id, Document.doc_number)
        .where(Document.doc_number.in_(_held_twice(as_of)), Document.created_at <= as_of)
        .order_by(Document.id)
    ):
        holders[r.doc_number].append(r.id)
        number_of[r.id] = r.doc_number
    wanted = set(doc_ids)
    return {
        doc: [i for i in holders[number] if i != doc] for doc, number in number_of.items() if doc in wanted
    }


def shares_number(as_of: datetime) -> ColumnElement[bool]:
    """A condition on documents: those :func:`shared_numbers` finds, asked inside a report's
    own query."""
    return Document.doc_number.in_(_held_twice(as_of))
