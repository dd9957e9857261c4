"""Appending to the hash-chained audit trail, checkpointing chain heads, and verifying both.

Each document has its own chain (``doc:<id>``); directory and calendar administration go to
``sys``. A chain's head row is advanced with a compare-and-set, so two writers on one chain
cannot both append seq N, while writers on different documents never wait for each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow.kernel.bulk import insert_many
from workflow.kernel.errors import ConcurrentChange
from workflow.kernel.models import AuditCheckpoint, AuditEvent, AuditHead

GENESIS = "0" * 64
SYSTEM_CHAIN = "sys"


def chain_for(document_id: int | None) -> str:
    return f"doc:{document_id}" if document_id is not None else SYSTEM_CHAIN


def _canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def event_hash(
    *,
    chain: str,
    seq: int,
    at: datetime,
    actor: str | None,
    actor_unit: str | None,
    document_id: int | None,
    action: str,
    outcome: str,
    state_before: str | None,
    state_after: str | None,
    details: str,
    prev_hash: str,
) -> str:
    """The hash of one event: every column but ``id`` and ``hash`` itself."""
    return hashlib.sha256(
        _canonical(
            {
                "chain": chain,
                "seq": seq,
                "at": at.isoformat(timespec="microseconds"),
                "actor": actor,
                "actor_unit": actor_unit,
                "document_id": document_id,
                "action": action,
                "outcome": outcome,
                "state_before": state_before,
                "state_after": state_after,
                "details": details,
                "prev_hash": prev_hash,
            }
        )
    ).hexdigest()


def dump_details(details: Mapping[str, Any] | None) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Reason):
            return {"code": value.code, "params": dict(value.params)}
        if isinstance(value, (set, frozenset, tuple)):
            return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        return str(value)

    return json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=default)


@dataclass(frozen=True)
class Entry:
    """One event to append with :func:`append_many`; the keywords of :func:`append`."""

    at: datetime
    actor: ActorSnapshot | None
    action: str
    outcome: str = "allowed"
    document_id: int | None = None
    state_before: str | None = None
    state_after: str | None = None
    details: Mapping[str, Any] | None = None
    chain: str | None = None


def _row(entry: Entry, chain: str, seq: int, prev: str) -> dict[str, Any]:
    """The event's columns, its hash included, as the database will hand them back."""
    actor = entry.actor
    row = {
        "chain": chain,
        "seq": seq,
        "at": entry.at.astimezone(UTC),
        "actor": actor.login if actor else None,
        "actor_unit": (actor.unit_code or None) if actor else None,
        "document_id": entry.document_id,
        "action": entry.action,
        "outcome": entry.outcome,
        "state_before": entry.state_before,
        "state_after": entry.state_after,
        "details": dump_details(entry.details),
        "prev_hash": prev,
    }
    row["hash"] = event_hash(**row)
    return row


def append(
    session: Session,
    *,
    at: datetime,
    actor: ActorSnapshot | None,
    action: str,
    outcome: str = "allowed",
    document_id: int | None = None,
    state_before: str | None = None,
    state_after: str | None = None,
    details: Mapping[str, Any] | None = None,
    chain: str | None = None,
) -> AuditEvent:
    """Append one event to its chain inside the caller's transaction.

    Raises :class:`ConcurrentChange` if another transaction advanced the same chain first;
    the caller's transaction must then be rolled back (and may be retried).
    """
    entry = Entry(at, actor, action, outcome, document_id, state_before, state_after, details, chain)
    chain = chain or chain_for(document_id)
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.chain == chain)).first()
    seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
    row = _row(entry, chain, seq, prev)
    digest = row["hash"]
    if head is None:
        try:
            with session.begin_nested():
                session.execute(insert(AuditHead).values(chain=chain, seq=seq, hash=digest))
        except IntegrityError as exc:
            raise ConcurrentChange(Reason("changed_meanwhile")) from exc
    else:
        moved = session.execute(
            update(AuditHead)
            .where(AuditHead.chain == chain, AuditHead.seq == head.seq)
            .values(seq=seq, hash=digest)
        ).rowcount
        if moved != 1:
            raise ConcurrentChange(Reason("changed_meanwhile"))
    event = AuditEvent(**row)
    session.add(event)
    session.flush()
    return event


def append_many(session: Session, entries: Sequence[Entry]) -> int:
    """Append ``entries`` (in order within each chain) in a handful of statements, whatever
    their number: the sweep escalates thousands of documents per run, and one
    :func:`append` each — three round trips and an ORM flush — was most of its time.

    The chain heads are read once (locked with ``FOR UPDATE`` on PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already admits one writer), moved with the same compare-and-set as
    :func:`append`, and the events inserted with one multi-row insert. Raises
    :class:`ConcurrentChange` if another transaction moved one of the heads meanwhile; nothing
    is then written and the caller's transaction (or savepoint) must be rolled back.
    Returns the number of events appended.
    """
    if not entries:
        return 0
    chains = [e.chain or chain_for(e.document_id) for e in entries]
    wanted = list(dict.fromkeys(chains))
    stmt = select(AuditHead.chain, AuditHead.seq, AuditHead.hash).where(AuditHead.chain.in_(wanted))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    found = {r.chain: (r.seq, r.hash) for r in session.execute(stmt)}
    tips = dict(found)
    rows = []
    for entry, chain in zip(entries, chains):
        seq, prev = tips.get(chain, (0, GENESIS))
        row = _row(entry, chain, seq + 1, prev)
        rows.append(row)
        tips[chain] = (seq + 1, row["hash"])
    table = AuditHead.__table__
    fresh = [{"chain": c, "seq": s, "hash": h} for c, (s, h) in tips.items() if c not in found]
    if fresh:
        try:
            with session.begin_nested():
                insert_many(session, table, fresh)
        except IntegrityError as exc:
            raise ConcurrentChange(Reason("changed_meanwhile")) from exc
    moved = [(c, found[c][0], s, h) for c, (s, h) in tips.items() if c in found]
    if moved and _move_heads(session, moved) != len(moved):
        raise ConcurrentChange(Reason("changed_meanwhile"))
    insert_many(session, AuditEvent.__table__, rows)
    return len(rows)


def _move_heads(session: Session, moved: Sequence[tuple[str, int, int, str]]) -> int:
    """Compare-and-set many heads (chain, old seq, new seq, new hash); the number moved."""
    if session.get_bind().dialect.name == "postgresql":  # one JSON parameter, as in workflow.kernel.bulk
        return session.execute(
            text(
                "UPDATE audit_heads AS h SET seq = v.seq, hash = v.hash "
                "FROM json_to_recordset(CAST(:moved AS json)) AS v(chain varchar, old integer, seq integer, hash varchar) "
                "WHERE h.chain = v.chain AND h.seq = v.old"
            ),
            {"moved": json.dumps([{"chain": c, "old": o, "seq": s, "hash": h} for c, o, s, h in moved])},
        ).rowcount
    table = AuditHead.__table__
    return session.execute(
        update(table)
        .where(table.c.chain == bindparam("c"), table.c.seq == bindparam("old"))
        .values(seq=bindparam("seq"), hash=bindparam("hash")),
        [{"c": c, "old": o, "seq": s, "hash": h} for c, o, s, h in moved],
    ).rowcount


def record_refusal(
    db: Any,
    *,
    at: datetime,
    actor: ActorSnapshot | None,
    action: str,
    reasons: Iterable[Reason],
    document_id: int | None = None,
    state: str | None = None,
    details: Mapping[str, Any] | None = None,
    attempts: int = 5,
) -> None:
    """Write the audit line of a refused action in a transaction of its own.

    Every interface refuses the same way: the refused work was rolled back, and this line
    is the only trace it leaves. Retried if another writer advanced the same chain first.
    """
    from sqlalchemy.exc import OperationalError

    payload = {"reasons": [r.as_dict("en") for r in reasons], **(details or {})}
    for attempt in range(attempts):
        try:
            with db.transaction() as session:
                append(
                    session,
                    at=at,
                    actor=actor,
                    action=action,
                    outcome="refused",
                    document_id=document_id,
                    state_before=state,
                    state_after=state,
                    details=payload,
                )
            return
        except (ConcurrentChange, IntegrityError, OperationalError):
            if attempt == attempts - 1:
                raise


def checkpoint(session: Session, at: datetime) -> AuditCheckpoint:
    """Record every chain head, chained to the previous checkpoint.

    A chain whose whole history (and head) was deleted leaves no broken link behind; the
    checkpoint still names it, so :func:`verify` reports it missing.
    """
    heads = {h.chain: [h.seq, h.hash] for h in session.scalars(select(AuditHead).order_by(AuditHead.chain))}
    last = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    text = json.dumps(heads, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(
        _canonical({"at": at.isoformat(timespec="microseconds"), "heads": text, "prev_hash": prev})
    ).hexdigest()
    cp = AuditCheckpoint(at=at, heads=text, chain_count=len(heads), prev_hash=prev, hash=digest)
    session.add(cp)
    session.flush()
    return cp


@dataclass
class Break:
    """The first broken link of a chain and what follows it."""

    chain: str
    seq: int | None
    event_id: int | None
    problem: str
    events_after: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "seq": self.seq,
            "event_id": self.event_id,
            "problem": self.problem,
            "events_after": self.events_after,
        }


@dataclass
class VerifyReport:
    chains: int = 0
    events: int = 0
    checkpoints: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "chains": self.chains,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "breaks": [b.as_dict() for b in self.breaks],
        }


def _events(session: Session, chain: str | None) -> Iterator[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq, AuditEvent.id)
    if chain is not None:
        stmt = stmt.where(AuditEvent.chain == chain)
    yield from session.scalars(stmt.execution_options(yield_per=2000))


def verify(session: Session, chain: str | None = None) -> VerifyReport:
    """Recompute every chain; compare the ends with the head table and the last checkpoint."""
    report = VerifyReport()
    heads = {h.chain: (h.seq, h.hash) for h in session.scalars(select(AuditHead))}
    seen: dict[str, tuple[int, str]] = {}
    broken: dict[str, Break] = {}
    current, expect_seq, prev = None, 1, GENESIS
    hashes_at: dict[tuple[str, int], str] = {}
    cp_rows = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)))
    wanted = {(c, s) for cp in cp_rows[-1:] for c, (s, _h) in json.loads(cp.heads).items()}
    for ev in _events(session, chain):
        report.events += 1
        if ev.chain != current:
            current, expect_seq, prev = ev.chain, 1, GENESIS
            report.chains += 1
        if ev.chain in broken:
            broken[ev.chain].events_after.append(ev.id)
            continue
        problem = None
        if ev.seq != expect_seq:
            problem = f"sequence jumps from {expect_seq - 1} to {ev.seq} (an event was deleted or inserted)"
        elif ev.prev_hash != prev:
            problem = "prev_hash does not match the previous event (an event was deleted or inserted)"
        else:
            digest = event_hash(
                chain=ev.chain,
                seq=ev.seq,
                at=ev.at,
                actor=ev.actor,
                actor_unit=ev.actor_unit,
                document_id=ev.document_id,
                action=ev.action,
                outcome=ev.outcome,
                state_before=ev.state_before,
                state_after=ev.state_after,
                details=ev.details,
                prev_hash=ev.prev_hash,
            )
            if digest != ev.hash:
                problem = "hash does not match the row (the event was edited)"
        if problem:
            broken[ev.chain] = Break(ev.chain, ev.seq, ev.id, problem)
            continue
        if (ev.chain, ev.seq) in wanted:
            hashes_at[(ev.chain, ev.seq)] = ev.hash
        seen[ev.chain] = (ev.seq, ev.hash)
        prev, expect_seq = ev.hash, ev.seq + 1
    report.breaks.extend(broken.values())
    for name, (seq, digest) in heads.items():
        if (chain is not None and name != chain) or name in broken:
            continue
        if seen.get(name) != (seq, digest):
            last = seen.get(name, (0, GENESIS))[0]
            report.breaks.append(
                Break(
                    name,
                    last + 1,
                    None,
                    f"chain ends at seq {last} but its head says {seq} (events were deleted at the end)",
                )
            )
    if cp_rows:
        report.checkpoints = len(cp_rows)
        prev_cp = GENESIS
        for cp in cp_rows:
            digest = hashlib.sha256(
                _canonical(
                    {"at": cp.at.isoformat(timespec="microseconds"), "heads": cp.heads, "prev_hash": prev_cp}
                )
            ).hexdigest()
            if cp.prev_hash != prev_cp or cp.hash != digest:
                report.breaks.append(Break("checkpoint", None, cp.id, "checkpoint row was edited or removed"))
                break
            prev_cp = cp.hash
        for name, (seq, digest) in json.loads(cp_rows[-1].heads).items():
            if (chain is not None and name != chain) or name in broken:
                continue
            if hashes_at.get((name, seq)) != digest:
                report.breaks.append(
                    Break(
                        name,
                        seq,
                        None,
                        "the checkpoint names this event but the chain no longer holds it (history removed)",
                    )
                )
    return report
