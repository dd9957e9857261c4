"""Which documents' counted records were written under a clock override, for the reports.

With ``SANTONGBU_ALLOW_CLOCK_OVERRIDE=true`` a CLI user may act "as of" an instant of their
choosing (``--now``): the publication or a posting is then recorded at that instant, and the
on-time verdict is judged against it. The reports keep counting it as recorded (drills, tests
and the demo rely on that), but a supervisor must see which figures rest on such a record, so
a clerk cannot post "as of" an on-time instant unnoticed.

The one source of truth is the audit trail: an event written under a clock override carries
the real wall-clock instant in ``wall_at`` (:mod:`workflow.kernel.attribution`,
:func:`workflow.kernel.audit.append`); every other event has none. The same rule marks the
event in the document's timeline. The records that set what a report counts are the
publication (``publish``), each posting (``record_posting``, by channel) and a correction of
either (``correct``, by what it corrected); an event counts as of the report's ``now`` like
everything else. A partial index on ``audit_events (document_id) WHERE wall_at IS NOT NULL``
keeps the look-up an index probe on an installation that never overrides its clock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from workflow.kernel.clock import to_utc
from workflow.kernel.export import Column
from workflow.kernel.models import AuditEvent, Document
from workflow.services.reports.common import CHANNEL_LABELS, for_ids

RECORD_ACTIONS = ("publish", "record_posting", "correct")
PUBLICATION = "publication"
RECORDS = (PUBLICATION, *CHANNEL_LABELS)
"""What may have been recorded under an override, in the order a row lists them."""

OVERRIDE_LABELS = {PUBLICATION: ("公开", "publication"), **CHANNEL_LABELS}
OVERRIDE_COLUMN = Column(
    "clock_override", "时钟被指定时登记", "recorded under a clock override", "list", OVERRIDE_LABELS
)
"""Per document: the publication and the channels whose record was written "as of" a chosen
instant (empty: none)."""
OVERRIDE_COUNT = "clock_overridden"
OVERRIDE_COUNT_COLUMN = Column(
    OVERRIDE_COUNT, "含时钟被指定时的登记", "with a record under a clock override", "int"
)
"""Per unit: how many documents have such a record. The same key in a report's summary (its
``meta``; the text line above the table labels it through the catalogue, META_LABELS in
:mod:`workflow.kernel.export`) counts them over the whole report."""


def overridden_records(session: Session, doc_ids: Sequence[int], as_of: datetime) -> dict[int, list[str]]:
    """Per document of ``doc_ids`` that has any: which of its records (``publication``,
    ``portal``, ``news_media``, ``new_media``) were written under a clock override by
    ``as_of``, in :data:`RECORDS` order."""
    # Only the partial index's own condition in SQL: with the action and instant there too, a
    # planner without statistics may walk (action, at) over every publication instead.
    stmt = select(
        AuditEvent.document_id, AuditEvent.action, AuditEvent.outcome, AuditEvent.at, AuditEvent.details
    ).where(AuditEvent.wall_at.is_not(None))
    found: dict[int, set[str]] = {}
    for e in for_ids(session, stmt, AuditEvent.document_id, doc_ids):
        if e.outcome != "allowed" or e.action not in RECORD_ACTIONS or to_utc(e.at) > to_utc(as_of):
            continue
        if e.action == "publish":
            what = PUBLICATION
        else:
            details = json.loads(e.details or "{}")
            what = str(details.get("channel") if e.action == "record_posting" else details.get("what"))
        if what in RECORDS:
            found.setdefault(e.document_id, set()).add(what)
    return {doc: [r for r in RECORDS if r in which] for doc, which in found.items()}


def overridden(as_of: datetime) -> ColumnElement[bool]:
    """A condition on documents: those with a record written under a clock override by
    ``as_of`` (what :func:`overridden_records` finds, asked inside a report's own query)."""
    return exists().where(
        AuditEvent.document_id == Document.id,
        AuditEvent.wall_at.is_not(None),
        AuditEvent.outcome == "allowed",
        AuditEvent.action.in_(RECORD_ACTIONS),
        AuditEvent.at <= as_of,
    )
