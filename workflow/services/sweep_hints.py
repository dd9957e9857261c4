"""Where the sweep looks: the ``next_rung_at`` hints that keep a sweep with nothing due from
reading anything (docs/design.md §4, §9).

Split from :mod:`workflow.services.sweep` so that module keeps only the batching loop: this one
owns the candidate query over the partial index of open documents, the writing of each
document's next hint, and the resets that make the sweep look again (a calendar load, a ladder
that changed).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from states.ladder import Ladder
from states.lifecycle import State
from workflow.kernel.bulk import table_of
from workflow.kernel.db import Database
from workflow.kernel.models import Document, SweepState

log = logging.getLogger("santongbu.sweep")

OPEN_STATE = State.PUBLISHED.value


def _candidates_query(db: Database, now: datetime, after: tuple[datetime, int] | None, limit: int):
    """Published documents whose next rung may be due (their hint has come), in hint order;
    read from the partial index ``ix_documents_next_rung``, which holds open documents only."""
    stmt = (
        select(Document.id, Document.next_rung_at)
        .where(Document.state == OPEN_STATE, Document.next_rung_at <= now)
        .order_by(Document.next_rung_at, Document.id)
        .limit(limit)
    )
    if after is not None:
        last_hint, last_id = after
        stmt = stmt.where(
            or_(
                Document.next_rung_at > last_hint,
                and_(Document.next_rung_at == last_hint, Document.id > last_id),
            )
        )
    if not db.is_sqlite:
        stmt = stmt.with_for_update(skip_locked=True, of=Document)
    return stmt


def _store_hints(session: Session, hints: dict[int, datetime | None]) -> None:
    """Write each document's next hint; a plain UPDATE that leaves ``version`` alone (a hint
    is the sweep's bookkeeping, not a change a person made)."""
    if not hints:
        return
    if session.get_bind().dialect.name == "postgresql":  # one statement, as in workflow.kernel.bulk
        session.execute(
            text(
                "UPDATE documents AS d SET next_rung_at = h.hint FROM json_to_recordset(CAST(:hints AS json)) "
                "AS h(id integer, hint timestamptz) WHERE d.id = h.id"
            ),
            {
                "hints": json.dumps(
                    [{"id": i, "hint": h.isoformat() if h else None} for i, h in hints.items()]
                )
            },
        )
        return
    table = table_of(Document)
    session.execute(
        update(table).where(table.c.id == bindparam("doc")).values(next_rung_at=bindparam("hint")),
        [{"doc": doc_id, "hint": hint} for doc_id, hint in hints.items()],
    )


def reset_hints(session: Session, document_ids: Iterable[int] | None = None) -> None:
    """Make the sweep look again at published documents (all, or ``document_ids``) on its
    next run: their hint goes back to the publication instant. Called when something may have
    brought a rung earlier — a calendar load, a ladder that changed."""
    table = table_of(Document)
    stmt = update(table).where(table.c.state == OPEN_STATE).values(next_rung_at=table.c.published_at)
    if document_ids is not None:
        ids = list(document_ids)
        if not ids:
            return
        stmt = stmt.where(table.c.id.in_(ids))
    session.execute(stmt)


def _check_ladder(db: Database, ladder: Ladder) -> None:
    """Hints were computed with one ladder; a sweep with another resets them all first."""
    wanted = ladder.as_json()
    with db.transaction() as session:
        stored = session.get(SweepState, "ladder")
        if stored is not None and stored.value == wanted:
            return
        reset_hints(session)
        dialect = sqlite if db.is_sqlite else postgresql
        upsert = dialect.insert(SweepState).values(name="ladder", value=wanted)  # two sweeps may race here
        session.execute(upsert.on_conflict_do_update(index_elements=["name"], set_={"value": wanted}))
        log.info("sweep: the ladder is new or changed; every open document will be looked at again")
