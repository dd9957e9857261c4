"""Does each document say what its chain says? The facts a report is built on — state,
deadline, postings, the on-time verdict — are replayed from the document's audit events and
compared with the ``documents`` and ``postings`` rows.

What the events carry (workflow/services/documents/*.py, workflow/kernel/calendar/store.py):

* every allowed event with a ``state_after`` (create, each trigger, edits, signatures,
  postings, escalations…) — the last one is the document's state;
* ``publish``: ``details.due_at``; ``deadline_recomputed``: ``details.new_due`` — the last one is
  the deadline;
* ``record_posting``: ``details.channel`` and ``details.posted_at`` (and ``details.posting_id``
  since it is recorded), one per posting;
* ``post_interpretation``: ``details.on_time`` — the verdict;
* ``imported`` (workflow/services/documents/bulk_import.py), the first event of a bulk-imported
  document: ``details.due_at`` when published, ``details.postings`` (channel, posted_at,
  posting_id) and, when posted, ``details.on_time``;
* ``confirm`` and ``correct`` (workflow/services/documents/corrections.py): a confirmed claim or
  a corrected fact recomputes the result, ``details.result_after.on_time``; a corrected
  publication sets ``details.after.due_at``, a corrected posting ``details.after.posted_at`` for
  the posting ``details.after.posting_id`` (or the one of ``details.before``'s channel and
  instant, for a posting recorded before its id was).

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
_REPLAYED = frozenset(
    {
        "imported",
        "publish",
        "deadline_recomputed",
        "record_posting",
        "post_interpretation",
        "confirm",
        "correct",
    }
)
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


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class Facts:
    """What a document's chain says about it; each value with the seq it comes from."""

    state: tuple[str, int] | None = None
    due: tuple[datetime | None, int] | None = None
    on_time: tuple[bool | None, int] | None = None
    postings: list[tuple[str, datetime | None, int]] = field(default_factory=list)
    posting_ids: list[int | None] = field(default_factory=list)
    """The posting id of each of :attr:`postings` (``None``: recorded without it)."""
    on_time_by: str = "post_interpretation"
    """The action of the event :attr:`on_time` comes from."""

    def observe(self, seq: int, action: str, outcome: str, state_after: str | None, details: str) -> None:
        if outcome != "allowed":
            return
        if state_after is not None:
            self.state = (state_after, seq)
        if action not in _REPLAYED:
            return
        try:
            data = json.loads(details)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        if action == "imported":
            self._imported(seq, data)
        elif action == "publish":
            self.due = (_instant(data.get("due_at")), seq)
        elif action == "deadline_recomputed":
            self.due = (_instant(data.get("new_due")), seq)
        elif action == "record_posting":
            self.postings.append((str(data.get("channel")), _instant(data.get("posted_at")), seq))
            self.posting_ids.append(_int(data.get("posting_id")))
        elif action == "post_interpretation":
            self.on_time, self.on_time_by = (data.get("on_time"), seq), action
        else:  # confirm, correct
            self._corrected(seq, action, data)

    def _imported(self, seq: int, data: dict[str, Any]) -> None:
        """A bulk-imported document's chain starts here with what the file said: the deadline
        (if published), its postings (with their ids) and, if posted, the verdict."""
        self.due = (_instant(data.get("due_at")), seq)
        for p in data.get("postings") or []:
            if isinstance(p, dict):
                self.postings.append((str(p.get("channel")), _instant(p.get("posted_at")), seq))
                self.posting_ids.append(_int(p.get("posting_id")))
        if "on_time" in data:
            self.on_time, self.on_time_by = (data.get("on_time"), seq), "imported"

    def _corrected(self, seq: int, action: str, data: dict[str, Any]) -> None:
        before, after = data.get("before"), data.get("after")
        if data.get("what") == "publication" and isinstance(after, dict) and "due_at" in after:
            self.due = (_instant(after.get("due_at")), seq)
        elif isinstance(before, dict) and isinstance(after, dict) and "posted_at" in after:
            at = self._posting_at(data.get("what"), before, _int(after.get("posting_id")))
            if at is not None:
                channel = self.postings[at][0]
                self.postings[at] = (channel, _instant(after.get("posted_at")), seq)
        result = data.get("result_after")
        if isinstance(result, dict) and "on_time" in result:
            self.on_time, self.on_time_by = (result.get("on_time"), seq), action

    def _posting_at(self, channel: Any, before: dict[str, Any], posting_id: int | None) -> int | None:
        """Which of :attr:`postings` a correction is of: by id, else by channel and instant."""
        if posting_id is not None and posting_id in self.posting_ids:
            return self.posting_ids.index(posting_id)
        was = _instant(before.get("posted_at"))
        for i, (c, t, _seq) in enumerate(self.postings):
            if c == channel and t == was and self.posting_ids[i] is None:
                return i
        return None


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
                f"the chain's {facts.on_time_by} at seq {on_seq} recorded {on_time}"
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
