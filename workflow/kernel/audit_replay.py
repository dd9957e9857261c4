"""Does each document say what its chain says? The facts a report is built on — state,
deadline, postings, the on-time verdict — are replayed from the document's audit events and
compared with the ``documents`` and ``postings`` rows.

What the events carry (workflow/services/documents/*.py, workflow/kernel/calendar/store.py):

* every allowed event with a ``state_after`` (create, each trigger, edits, signatures,
  postings, escalations…) — the last one is the document's state;
* ``publish``: ``details.due_at``; ``deadline_recomputed``: ``details.new_due`` — the last one is
  the deadline;
* ``record_posting``: ``details.channel`` and ``details.posted_at``, one per posting;
* ``post_interpretation``: ``details.on_time`` — the verdict, recorded once.

A direct UPDATE of ``documents.on_time`` (or state, due_at, a posting) leaves the chain as it
was, so the two disagree and the finding names the event the chain's value comes from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from workflow.kernel.models import Document, Posting

Report = Callable[[str, int | None, str], None]  # (chain, seq, what disagrees)
BATCH = 500
LISTED = 50  # documents without a chain named one by one; beyond that, a count


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


@dataclass
class Facts:
    """What a document's chain says about it; each value with the seq it comes from."""

    state: tuple[str, int] | None = None
    due: tuple[datetime | None, int] | None = None
    on_time: tuple[bool | None, int] | None = None
    postings: list[tuple[str, datetime | None, int]] = field(default_factory=list)

    def observe(self, seq: int, action: str, outcome: str, state_after: str | None, details: str) -> None:
        if outcome != "allowed":
            return
        if state_after is not None:
            self.state = (state_after, seq)
        if action not in ("publish", "deadline_recomputed", "record_posting", "post_interpretation"):
            return
        try:
            data = json.loads(details)
        except ValueError:
            return
        if action == "publish":
            self.due = (_instant(data.get("due_at")), seq)
        elif action == "deadline_recomputed":
            self.due = (_instant(data.get("new_due")), seq)
        elif action == "record_posting":
            self.postings.append((str(data.get("channel")), _instant(data.get("posted_at")), seq))
        else:
            self.on_time = (data.get("on_time"), seq)


class DocumentCheck:
    """Compares documents with their replayed chains in batches, as the chains stream by."""

    def __init__(self, session: Session, report: Report) -> None:
        self.session = session
        self.report = report
        self.pending: dict[int, Facts] = {}
        self.checked = 0

    def add(self, chain: str, facts: Facts) -> None:
        try:
            doc_id = int(chain.removeprefix("doc:"))
        except ValueError:
            self.report(chain, None, "a document chain whose name is not doc:<number>")
            return
        self.pending[doc_id] = facts
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        ids = list(self.pending)
        docs = {
            d.id: d
            for d in self.session.execute(
                select(Document.id, Document.state, Document.due_at, Document.on_time).where(
                    Document.id.in_(ids)
                )
            )
        }
        postings: dict[int, list[tuple[str, datetime | None]]] = {}
        for p in self.session.execute(
            select(Posting.document_id, Posting.channel, Posting.posted_at).where(
                Posting.document_id.in_(ids)
            )
        ):
            postings.setdefault(p.document_id, []).append((p.channel, _instant(p.posted_at)))
        for doc_id, facts in self.pending.items():
            self._compare(doc_id, facts, docs.get(doc_id), postings.get(doc_id, []))
        self.checked += len(ids)
        self.pending.clear()

    def _compare(
        self, doc_id: int, facts: Facts, doc: Any, postings: list[tuple[str, datetime | None]]
    ) -> None:
        chain = f"doc:{doc_id}"
        if doc is None:
            self.report(
                chain, None, f"the chain is of document {doc_id}, which is not in the documents table"
            )
            return
        if facts.state is None:
            self.report(chain, None, "the chain records no state for the document")
        elif facts.state[0] != doc.state:
            self.report(
                chain,
                facts.state[1],
                f"documents.state is {doc.state!r} but the chain's "
                f"event at seq {facts.state[1]} left it {facts.state[0]!r}",
            )
        due, due_seq = facts.due if facts.due else (None, None)
        if _instant(doc.due_at) != due:
            where = (
                f"the chain's event at seq {due_seq} set it to {due.isoformat() if due else None}"
                if due_seq
                else "the chain never set a deadline"
            )
            self.report(
                chain,
                due_seq,
                f"documents.due_at is {doc.due_at.isoformat() if doc.due_at else None} but {where}",
            )
        on_time, on_seq = facts.on_time if facts.on_time else (None, None)
        if doc.on_time != on_time:
            where = (
                f"the chain's post_interpretation at seq {on_seq} recorded {on_time}"
                if on_seq
                else "the chain records no verdict"
            )
            self.report(chain, on_seq, f"documents.on_time is {doc.on_time} but {where}")
        said = sorted(((c, t) for c, t, _s in facts.postings), key=_order)
        stored = sorted(postings, key=_order)
        if said != stored:
            first = facts.postings[0][2] if facts.postings else None
            self.report(
                chain,
                first,
                f"the postings table holds {_describe(stored)} but the chain's "
                f"record_posting events say {_describe(said)}",
            )

    def documents_without_chain(self) -> int:
        """Every document must have a chain: an emptied trail is not an intact one."""
        rows = (
            self.session.execute(
                text(
                    "SELECT d.id FROM documents d WHERE NOT EXISTS (SELECT 1 FROM audit_events e "
                    "WHERE e.chain = 'doc:' || CAST(d.id AS VARCHAR)) ORDER BY d.id"
                )
            )
            .scalars()
            .all()
        )
        for doc_id in rows[:LISTED]:
            self.report(
                f"doc:{doc_id}",
                None,
                "the document exists but has no audit chain "
                "(its history was removed, or it was written around the application)",
            )
        if len(rows) > LISTED:
            self.report(
                "documents",
                None,
                f"{len(rows) - LISTED} more documents have no audit chain ({len(rows)} in all)",
            )
        return len(rows)


def _order(posting: tuple[str, datetime | None]) -> tuple[str, datetime]:
    return posting[0], posting[1] or datetime.min.replace(tzinfo=UTC)


def _describe(postings: list[tuple[str, datetime | None]]) -> str:
    if not postings:
        return "no postings"
    return ", ".join(f"{c}@{t.isoformat() if t else '?'}" for c, t in postings)
