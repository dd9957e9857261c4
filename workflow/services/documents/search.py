"""Searching documents by title, 文号, body and plan text, with unit, state and period filters,
within what the searcher may read (docs/design.md §7: their unit's documents and those they
sign; every document for the read-all roles).

The matching itself is :mod:`workflow.kernel.search` (trigram indexes on both databases). Hits
come newest first, a keyset page at a time (``before_id``), each with the fields it matched in
and a short excerpt around the first match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, func, select

from states import permissions
from states.i18n import _
from states.lifecycle import State
from states.snapshot import ActorSnapshot
from workflow.kernel import search
from workflow.kernel.models import Document, Signer, Unit, User
from workflow.services.documents.transaction import DocumentService
from workflow.services.documents.validation import invalid
from workflow.services.documents.views import _View

S = TypeVar("S", bound=Select)
MAX_LIMIT = 200
FIELDS = ("title", "doc_number", "body", "plan")
EXCERPT = 30  # characters either side of the first match


@dataclass(frozen=True)
class SearchHit(_View):
    id: int
    unit: str
    title: str
    doc_number: str | None
    state: str
    published_at: datetime | None
    due_at: datetime | None
    due_provisional: bool
    on_time: bool | None
    version: int
    matched: tuple[str, ...]
    """Which of title, doc_number, body, plan hold a term."""
    excerpt: str
    """Up to 30 characters either side of the first match, in the first field that has one."""


@dataclass(frozen=True)
class SearchPage(_View):
    query: str
    terms: tuple[str, ...]
    titles_only: bool
    """Every term was shorter than three characters: titles and 文号 were searched, not bodies."""
    hits: tuple[SearchHit, ...]
    next_before_id: int | None
    """More hits: ask again with ``before_id`` set to this."""


def visible(stmt: S, user: User, actor: ActorSnapshot) -> S:
    """Only the documents ``actor`` may read (the list's rule, docs/design.md §7)."""
    if actor.roles & permissions.READ_ALL_ROLES:
        return stmt
    signed = select(Signer.document_id).where(Signer.user_id == user.id)
    return stmt.where((Document.unit_id == user.unit_id) | Document.id.in_(signed))


def _excerpt(doc: Document, terms: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    matched, excerpt = [], ""
    for name in FIELDS:
        value = getattr(doc, name) or ""
        folded = value.casefold()
        where = [folded.find(t.casefold()) for t in terms]
        hits = [w for w in where if w >= 0]
        if not hits:
            continue
        matched.append(name)
        if not excerpt:
            at = min(hits)
            start, end = max(0, at - EXCERPT), min(len(value), at + EXCERPT + max(len(t) for t in terms))
            excerpt = (
                ("…" if start else "")
                + " ".join(value[start:end].split())
                + ("…" if end < len(value) else "")
            )
    return tuple(matched), excerpt


class DocumentSearch(DocumentService):
    """``doc search``, ``GET /documents?q=`` and the pages' search box."""

    def search_documents(
        self,
        login: str,
        text: str,
        *,
        state: str | None = None,
        unit_code: str | None = None,
        period: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> SearchPage:
        try:
            query = search.parse(text)
        except ValueError as exc:
            raise invalid("q", str(exc)) from None
        if state is not None and state not in {s.value for s in State}:
            raise invalid("state", _("must be one of {p0}", p0=", ".join(s.value for s in State)))
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid("limit", _("between 1 and {MAX_LIMIT}", MAX_LIMIT=MAX_LIMIT))
        span = None
        if period:
            from workflow.services.reports.periods import parse_period

            span = parse_period(period, self.settings.timezone)
        with self.db.transaction() as session:
            user, actor = self._actor(session, login)
            dialect = self.db.engine.dialect.name
            stmt, order = search.matching(dialect, query, Document, Document, Unit.code)
            stmt = visible(stmt.join(Unit, Unit.id == Document.unit_id), user, actor)
            if state:
                stmt = stmt.where(Document.state == state)
            if unit_code:
                stmt = stmt.where(Unit.code == unit_code)
            if span is not None:
                when = func.coalesce(Document.published_at, Document.created_at)
                stmt = stmt.where(when >= span.start_at, when < span.end_at)
            if before_id is not None:
                stmt = stmt.where(order < before_id)
            if dialect == "postgresql" and not query.titles_only:
                rows = search.pg_newest_first(session, stmt, query, Document, limit + 1, before_id)
            else:
                matched = search.match(dialect, query, Document)
                rows = list(session.execute(stmt.where(matched).order_by(order.desc()).limit(limit + 1)))
            hits = tuple(self._hit(doc, code, query.terms) for doc, code in rows[:limit])
        more = len(rows) > limit
        return SearchPage(text, query.terms, query.titles_only, hits, hits[-1].id if more and hits else None)

    @staticmethod
    def _hit(doc: Document, code: str, terms: tuple[str, ...]) -> SearchHit:
        matched, excerpt = _excerpt(doc, terms)
        return SearchHit(
            doc.id,
            code,
            doc.title,
            doc.doc_number,
            doc.state,
            doc.published_at,
            doc.due_at,
            bool(doc.due_provisional),
            doc.on_time,
            doc.version,
            matched,
            excerpt,
        )
