"""Which documents share their 文号 (document number) with another document, for the reports.

A number another document has already is refused (``duplicate_number`` in
:mod:`workflow.services.documents.validation`) unless the drafting clerk says a second one is
meant: ``--allow-duplicate-number`` on the CLI, ``allow_duplicate_number`` in the API, the box
beside the number on the pages. A reissued number can be real, but a supervisor must see every
document that carries one, not only find it in the audit trail.

The one definition, asked per row (:func:`shared_numbers`) and inside a report's own query
(:func:`shares_number`): a document shares its number when the number is not empty and at
least one *other* document created by the report's as-of instant has the same number, in any
state and any unit. Numbers are read as they stand, as the ledger's number column shows them;
a number is part of the signed package, frozen once the document is published. Both ask the
same correlated question of ``ix_documents_doc_number`` (0018_refusals): an index probe per
document the report already counts, rather than grouping every number in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from workflow.kernel.export import Column
from workflow.kernel.models import Document
from workflow.services.reports.common import for_ids

SHARED_COLUMN = Column("shared_number", "同文号的其他文件", "number shared with documents", "list")
"""Per document: the ids of the other documents that have its number (empty: none)."""
SHARED_COUNT = "number_shared"
SHARED_COUNT_COLUMN = Column(
    SHARED_COUNT, "文号与其他文件相同", "sharing its number with another document", "int"
)
"""Per unit: how many documents share their number. The same key in a report's summary (its
``meta``, labelled through the catalogue: META_LABELS in :mod:`workflow.kernel.export`)
counts them over the whole report."""


def _same_number(other: Any, as_of: datetime) -> ColumnElement[bool]:
    """``other`` is another document, created by ``as_of``, with the same number."""
    return and_(other.doc_number == Document.doc_number, other.id != Document.id, other.created_at <= as_of)


def shared_numbers(session: Session, doc_ids: Sequence[int], as_of: datetime) -> dict[int, list[int]]:
    """Per document of ``doc_ids`` that shares its number: the other documents' ids, ascending."""
    other = aliased(Document, name="other")
    stmt = (
        select(Document.id, other.id.label("other_id"))
        .join(other, _same_number(other, as_of))
        .where(Document.doc_number != "")
        .order_by(Document.id, other.id)
    )
    found: dict[int, list[int]] = {}
    for r in for_ids(session, stmt, Document.id, doc_ids):
        found.setdefault(r.id, []).append(r.other_id)
    return found


def shares_number(as_of: datetime) -> ColumnElement[bool]:
    """A condition on documents: those :func:`shared_numbers` finds, asked inside a report's
    own query."""
    other = aliased(Document, name="other")
    return and_(
        Document.doc_number != "",
        exists().where(_same_number(other, as_of)),
    )
