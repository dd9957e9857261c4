"""Checkpoints of the audit trail: every chain head at one instant, in the database and, signed,
outside it.

A checkpoint row records every chain head, the number of events they add up to, and the hash
of the checkpoint before it; with a keyring, its hash is an HMAC under the active key, so
whoever rewrites the tables without the key cannot recompute the checkpoints to match. With an
export folder, the same checkpoint is written there as a signed anchor
(:func:`workflow.kernel.auditkeys.write_anchor`, Ed25519): once that file has left the
database's reach, no rewrite of the database can agree with it.

These are the steps; :meth:`workflow.services.audit_admin.AuditAdmin.checkpoint` takes them in
one transaction for the CLI and the beat alike, under the lock that serialises two writers (an
advisory lock on PostgreSQL, SQLite's single writer), so the checkpoint chain and the anchor
series never fork. The beat asks often and :func:`due` decides: when events were added and the
interval has passed since the last checkpoint, or at once after a sign-off, a publication or a
posting.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.kernel.audit_hashing import GENESIS, _canonical, current_keyring
from workflow.kernel.auditkeys import (
    Key,
    KeyFileError,
    Keyring,
    make_anchor,
    read_latest_anchor,
    write_anchor,
)
from workflow.kernel.models import AuditCheckpoint, AuditEvent, AuditHead

# Events after which beat checkpoints at once rather than at the end of the interval.
MILESTONES = ("sign", "publish", "record_posting", "post_interpretation")


def checkpoint_hash(
    *, at: datetime, heads: str, prev_hash: str, event_count: int | None, key: Key | None
) -> str:
    """HMAC-SHA256 under ``key`` of the checkpoint's fields; SHA-256 when unkeyed. Rows
    written before event counts were kept (NULL) hash as they always did."""
    fields: dict[str, Any] = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "heads": heads,
        "prev_hash": prev_hash,
    }
    if event_count is not None:
        fields["event_count"] = event_count
    if key is not None:
        fields["key_id"] = key.key_id
        return key.mac(_canonical(fields))
    return hashlib.sha256(_canonical(fields)).hexdigest()


def checkpoint(session: Session, at: datetime) -> AuditCheckpoint:
    """Record every chain head now, chained to the previous checkpoint and keyed with this
    process's keyring (:func:`workflow.kernel.audit.use_keyring`), if any.

    A chain whose whole history (and head) was deleted leaves no broken link behind; the
    checkpoint still names it, so verify reports it missing.
    """
    at = at.astimezone(UTC)
    heads: dict[str, tuple[int, str]] = {
        r.chain: (r.seq, r.hash)
        for r in session.execute(
            select(AuditHead.chain, AuditHead.seq, AuditHead.hash).order_by(AuditHead.chain)
        )
    }
    last = session.execute(select(AuditCheckpoint.hash).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar()
    prev = last or GENESIS
    count = sum(s for s, _h in heads.values())
    newest = session.scalar(select(func.max(AuditEvent.id)))
    body = json.dumps(heads, sort_keys=True, separators=(",", ":"))
    keyring = current_keyring()
    key = keyring.active if keyring is not None else None
    cp = AuditCheckpoint(
        at=at,
        heads=body,
        chain_count=len(heads),
        prev_hash=prev,
        event_count=count,
        last_event_id=newest,
        key_id=key.key_id if key else None,
        hash=checkpoint_hash(at=at, heads=body, prev_hash=prev, event_count=count, key=key),
    )
    session.add(cp)
    session.flush()
    return cp


def export_anchor(directory: Path, cp: AuditCheckpoint, keyring: Keyring) -> Path:
    """Write ``cp`` as the next signed anchor in ``directory``, linked to the newest one there.
    Refuses (:class:`KeyFileError`) to build on an anchor whose signature does not verify."""
    previous, problems = read_latest_anchor(directory, keyring.public())
    if problems:
        raise KeyFileError(f"{directory}: {problems[0]} Not exporting onto it; look at the folder.")
    heads = {c: (s, h) for c, (s, h) in json.loads(cp.heads).items()}
    anchor = make_anchor(
        seq=previous.seq + 1 if previous else 1,
        at=cp.at.astimezone(UTC).isoformat(timespec="microseconds"),
        event_count=cp.event_count or 0,
        heads=heads,
        previous_hash=previous.digest() if previous else "",
        key=keyring.active,
    )
    return write_anchor(directory, anchor)


def due(session: Session, now: datetime, interval_seconds: float) -> str | None:
    """Why beat should checkpoint now ("first", "keyed", "interval", "milestone"), or ``None``:
    nothing was appended since the last checkpoint, or nothing that cannot wait. "keyed": the
    key was just set up and the last checkpoint is unkeyed; the first keyed one vouches for the
    unkeyed history before it."""
    last = session.execute(
        select(AuditCheckpoint.at, AuditCheckpoint.last_event_id, AuditCheckpoint.key_id)
        .order_by(AuditCheckpoint.id.desc())
        .limit(1)
    ).first()
    newest = session.scalar(select(func.max(AuditEvent.id)))
    if newest is None:
        return None
    if last is None:
        return "first"
    if last.key_id is None and current_keyring() is not None:
        return "keyed"
    since = last.last_event_id or 0
    if newest <= since:
        return None
    if now - last.at >= timedelta(seconds=interval_seconds):
        return "interval"
    milestone = session.scalar(
        select(AuditEvent.id)
        .where(AuditEvent.id > since, AuditEvent.action.in_(MILESTONES), AuditEvent.outcome == "allowed")
        .limit(1)
    )
    return "milestone" if milestone is not None else None
