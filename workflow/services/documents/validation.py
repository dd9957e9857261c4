"""Checks on what a clerk types, before any transaction starts: a bad value is refused with
the field it concerns, and nothing is written (not even an audit line: nothing was attempted).

Every text goes through :func:`check_text` (the one rule of :mod:`states.text`: no control
characters, one line where one line is meant), so the pages, the API and the CLI refuse a NUL
in the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from states.i18n import _
from states.lifecycle import State
from states.reasons import Reason
from states.snapshot import (
    DISCLOSURES,
)
from states.text import DEFAULT_MAX_TEXT_BYTES, size_words, text_problem, too_large
from workflow.kernel.errors import (
    InvalidInput,
)
from workflow.kernel.models import Document

# Fields a clerk may edit, with their length limits; ``None`` = free text.
TEXT_FIELDS: dict[str, int | None] = {
    "title": 500,
    "doc_number": 200,
    "body": None,
    "plan": None,
    "risk_assessment": None,
    "response_plan": None,
}
# Where a posting may still be recorded.
POSTABLE = frozenset({State.PUBLISHED})
# Where a posting may still be recorded.


class NothingChanged(Exception):
    """Raised inside an edit's transaction when it would change nothing, so the transaction is
    rolled back (no version bump, no audit event) and :attr:`outcome` is returned instead."""

    def __init__(self, outcome: Any) -> None:
        super().__init__("nothing changed")
        self.outcome = outcome
        outcome.details["unchanged"] = True
        outcome.details["message"] = {
            lang: Reason("nothing_changed", {"id": outcome.document_id, "version": outcome.version}).text(
                lang
            )
            for lang in ("zh", "en")
        }


def invalid(field: str, problem: str) -> InvalidInput:
    return InvalidInput(Reason("invalid", {"field": field, "problem": problem}))


def check_text(field: str, value: str | None, *, one_line: bool = False) -> str | None:
    """``value`` if it may be stored (see :mod:`states.text`); :class:`InvalidInput` otherwise."""
    if value is not None:
        problem = text_problem(value, one_line=one_line)
        if problem:
            raise invalid(field, problem)
    return value


def check_url(field: str, value: str | None, *, required: bool = False) -> str | None:
    """Only http(s) URLs: a URL ends up as a link in emails and pages."""
    if value is None or not value.strip():
        if required:
            raise invalid(field, _("required"))
        return None
    value = value.strip()
    check_text(field, value, one_line=True)
    if not value.lower().startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise invalid(field, _("must be an http:// or https:// URL without spaces"))
    if len(value) > 2000:
        raise invalid(field, _("longer than 2000 characters"))
    return value


def check_size(field: str, value: str | None, max_bytes: int) -> str | None:
    """``value`` if it is at most ``max_bytes`` in UTF-8 (``SANTONGBU_MAX_TEXT_BYTES``, the one
    limit for the CLI, the API and the pages); :class:`InvalidInput` otherwise."""
    if value is not None and too_large(value, max_bytes):
        raise InvalidInput(Reason("text_too_large", {"field": field, "limit": size_words(max_bytes)}))
    return value


def duplicate_number(
    session: Session, doc_number: str | None, *, other_than: int | None = None
) -> Reason | None:
    """Why ``doc_number`` (文号) may not be given to a document: another document has it
    already. Only the caller's explicit ``allow_duplicate_number`` overrides it (a reissued
    number can be real; a typed twice one is the common case)."""
    if not doc_number:
        return None
    stmt = select(Document.id).where(Document.doc_number == doc_number)
    if other_than is not None:
        stmt = stmt.where(Document.id != other_than)
    other = session.scalars(stmt.order_by(Document.id).limit(1)).first()
    return duplicate_reason(doc_number, other) if other is not None else None


def duplicate_reason(doc_number: str | None, other: int) -> Reason:
    """Why: document ``other`` has the 文号 already (``create`` finds it in its one read)."""
    return Reason("duplicate_number", {"number": doc_number, "id": other})


def clean_fields(changes: Mapping[str, Any], *, max_bytes: int = DEFAULT_MAX_TEXT_BYTES) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key in TEXT_FIELDS:
            if value is None:
                if key in ("title", "body"):
                    continue
                clean[key] = None
                continue
            if not isinstance(value, str):
                raise invalid(key, _("must be text"))
            check_text(key, value, one_line=key in ("title", "doc_number"))
            check_size(key, value, max_bytes)
            value = value.strip() if key in ("title", "doc_number") else value
            limit = TEXT_FIELDS[key]
            if limit is not None and len(value) > limit:
                raise invalid(key, _("longer than {limit} characters", limit=limit))
            if key in ("title", "doc_number") and ("\n" in value or "\r" in value):
                raise invalid(key, _("must be one line"))
            clean[key] = value
        elif key == "disclosure":
            if value is not None and value not in DISCLOSURES:
                raise invalid(key, _("must be one of {p0}", p0=", ".join(DISCLOSURES)))
            clean[key] = value
        elif key == "risk_assessment_needed":
            if value is not None and not isinstance(value, bool):
                raise invalid(key, _("must be true or false"))
            clean[key] = value
        elif key == "interpreter":
            clean[key] = value
        else:
            raise invalid(key, _("cannot be edited"))
    return clean
