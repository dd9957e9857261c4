"""Refusals that come in bursts, written to the audit trail as one event per key and window.

Some refusals arrive by the hundred: a script guessing logins from one address, a race in
which two hundred writers lose the compare-and-set on one document. Each is still audited, but
one row per attempt would let anyone fill the trail (and, on a document's chain, contend for
the very head the writers are racing on). So they are counted in ``audit_bursts`` under a key
(``sign_in:<address>``, ``changed_meanwhile:doc:<id>``) and written as **one** audit event per
key and window, with the count, the first and last instant and a tally of what was refused:

* when the next refusal of that key arrives after the window has closed, in its transaction;
* when :func:`flush` runs (the beat runs it every ``audit_burst_window_seconds``; so does
  ``santongbu audit flush``), for every window that has closed.

The event is ``outcome = refused`` with ``details.aggregated = true``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from workflow.kernel import audit
from workflow.kernel.errors import ConcurrentChange
from workflow.kernel.models.access import AuditBurst

TRIES = 8


def _event(session: Session, row: AuditBurst, at: datetime) -> None:
    tally = json.loads(row.details or "{}")
    audit.append(
        session,
        at=at,
        actor=None,
        action=row.action,
        outcome="refused",
        document_id=row.document_id,
        details={
            "aggregated": True,
            "count": row.count,
            "from": row.since,
            "to": row.last_at,
            "key": row.key,
            **tally,
        },
    )


def _merge(tally: dict[str, Any], why: Mapping[str, str]) -> dict[str, Any]:
    """Count each (field, value) pair: ``{"why": {"unknown login": 3}, "login": {"a": 1}}``,
    keeping at most 20 distinct values per field (the rest counted under ``…``)."""
    for name, value in why.items():
        counts = tally.setdefault(name, {})
        value = str(value)[:64]
        if value not in counts and len(counts) >= 20:
            value = "…"
        counts[value] = counts.get(value, 0) + 1
    return tally


def _locked(session: Session, db: Any, key: str) -> AuditBurst | None:
    stmt = select(AuditBurst).where(AuditBurst.key == key)
    if not db.is_sqlite:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def count(
    db: Any,
    *,
    key: str,
    action: str,
    at: datetime,
    window: timedelta,
    document_id: int | None = None,
    tally: Mapping[str, str] | None = None,
) -> None:
    """Count one refusal under ``key``; write the previous window's event if it has closed."""
    for attempt in range(TRIES):
        try:
            with db.transaction() as session:
                row = _locked(session, db, key)
                if row is not None and at - row.since >= window:
                    _event(session, row, at)
                    session.delete(row)
                    session.flush()
                    row = None
                if row is None:
                    session.add(
                        AuditBurst(
                            key=key,
                            action=action,
                            document_id=document_id,
                            since=at,
                            last_at=at,
                            count=1,
                            details=json.dumps(_merge({}, tally or {})),
                        )
                    )
                else:
                    row.count += 1
                    row.last_at = max(row.last_at, at)
                    row.details = json.dumps(_merge(json.loads(row.details or "{}"), tally or {}))
            return
        except (ConcurrentChange, IntegrityError, OperationalError):
            if attempt == TRIES - 1:
                raise


def flush(db: Any, at: datetime, window: timedelta, *, everything: bool = False) -> int:
    """Write one event for each burst whose window has closed (or every burst); how many."""
    written = 0
    with db.transaction() as session:
        stmt = select(AuditBurst.key)
        if not everything:
            stmt = stmt.where(AuditBurst.since <= at - window)
        keys = list(session.scalars(stmt.order_by(AuditBurst.since)))
    for key in keys:
        for attempt in range(TRIES):
            try:
                with db.transaction() as session:
                    row = _locked(session, db, key)
                    if row is None or (not everything and at - row.since < window):
                        break
                    _event(session, row, at)
                    session.execute(delete(AuditBurst).where(AuditBurst.key == key))
                    written += 1
                break
            except (ConcurrentChange, IntegrityError, OperationalError):
                if attempt == TRIES - 1:
                    raise
    return written
