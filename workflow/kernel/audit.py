"""Appending to the hash-chained audit trail.

Each document has its own chain (``doc:<id>``); directory and calendar administration go to
``sys``. Each event's ``hash`` covers :data:`HASHED_FIELDS` (its ``prev_hash`` included) and is
an HMAC-SHA256 under the active key of the audit keyring (``SANTONGBU_AUDIT_KEY_FILE``, kept
outside the database; the row records the ``key_id``), or a plain SHA-256 on an installation
without a key. Whoever can write the tables but lacks the key cannot recompute a keyed chain.

The chain heads (``audit_heads``) are moved by a database trigger on each inserted event
(migration 0008): an event that does not follow its chain's head is refused, which is how two
writers on one chain are told apart, while writers on different documents never wait for each
other. How an event is hashed and the keyring in use live in
:mod:`workflow.kernel.audit_hashing` (re-exported here), checkpoints and their signed export in
:mod:`workflow.kernel.audit_checkpoint`, verification in :mod:`workflow.kernel.audit_verify`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow.kernel import attribution, rawexec
from workflow.kernel.audit_hashing import (
    GENESIS,
    HASHED_FIELDS,
    NOT_KEYED,
    SYSTEM_CHAIN,
    active_key,
    chain_for,
    configure,
    current_keyring,
    event_hash,
    keyed_status,
    log_keyed_status,
    use_keyring,
)
from workflow.kernel.auditkeys import Key
from workflow.kernel.bulk import insert_many, table_of
from workflow.kernel.errors import ConcurrentChange, KeyMissing
from workflow.kernel.models import AuditCheckpoint, AuditEvent, AuditHead

if TYPE_CHECKING:
    from workflow.kernel.audit_verify import VerifyReport

# The audit API in one place: appending (here) and, re-exported from audit_hashing, the hash
# and the keyring in use.
__all__ = [
    "GENESIS",
    "HASHED_FIELDS",
    "NOT_KEYED",
    "SYSTEM_CHAIN",
    "Entry",
    "Heads",
    "active_key",
    "append",
    "append_many",
    "chain_for",
    "checkpoint",
    "configure",
    "current_keyring",
    "dump_details",
    "event_hash",
    "keyed_status",
    "lock_chains",
    "log_keyed_status",
    "record_refusal",
    "use_keyring",
    "verify",
]

# pg_advisory_xact_lock(class, hashtext(chain)): writers of one chain wait for each other.
_CHAIN_LOCK_CLASS = 0x5A4E4348  # "ZNCH"


# ------------------------------------------------------------------ appending
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
    channel: str | None = None
    """Through which channel, with which credential (default: the current attribution)."""
    credential: str | None = None


def _row(entry: Entry, chain: str, seq: int, prev: str, key: Key | None) -> dict[str, Any]:
    """The event's columns, its hash and key included, as the database will hand them back."""
    actor = entry.actor
    by = attribution.current()
    row: dict[str, Any] = {
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
        "channel": entry.channel or by.channel,
        "credential": entry.credential if entry.channel else by.credential,
        # Under a clock override the real instant goes on record beside the chosen one.
        "wall_at": attribution.wall_clock() if attribution.clock_overridden() else None,
    }
    row["hash"] = event_hash(key, **row)
    row["key_id"] = key.key_id if key is not None else None
    return row


def _refuse_unkeyed(session: Session, key: Key | None) -> None:
    """Refuse to append unkeyed once the trail is keyed: a process started without
    ``SANTONGBU_AUDIT_KEY_FILE`` (a shell that forgot the export) would otherwise leave events
    that verify must report as written without the key, making an honest trail look
    tampered. Keying is installation-wide, so the newest event says whether it is on: one
    primary-key look-up, and only in a process that has no key."""
    if key is not None:
        return
    newest = session.execute(select(AuditEvent.key_id).order_by(AuditEvent.id.desc()).limit(1)).first()
    if newest is not None and newest.key_id is not None:
        raise KeyMissing(Reason("audit_key_missing"))


def lock_chains(session: Session, chains: Sequence[str]) -> None:
    """On PostgreSQL, wait for any other transaction appending to these chains (in a fixed
    order, so two writers cannot deadlock here) before their heads are read; the lock goes
    with the transaction. The heads cannot be locked FOR UPDATE: that needs UPDATE on
    audit_heads, which the application role does not have. SQLite's BEGIN IMMEDIATE already
    admits one writer."""
    if session.get_bind().dialect.name == "postgresql":
        rawexec.execute(session, _LOCK, {"cls": _CHAIN_LOCK_CLASS, "chains": sorted(chains)})


_LOCK = text("SELECT pg_advisory_xact_lock(:cls, hashtext(c)) FROM unnest(CAST(:chains AS text[])) AS c")
_HEADS = select(AuditHead.__table__.c.chain, AuditHead.__table__.c.seq, AuditHead.__table__.c.hash).where(
    AuditHead.__table__.c.chain.in_(bindparam("chains", expanding=True))
)
_PG_HEADS = text("SELECT chain, seq, hash FROM audit_heads WHERE chain = ANY(CAST(:chains AS text[]))")
"""Core statements on the connection: the session's ORM execution added a third to each; the
PostgreSQL ones go through :mod:`rawexec` (the command path's lock and head, issue 20)."""


def _heads(session: Session, chains: list[str]) -> dict[str, tuple[int, str]]:
    if session.get_bind().dialect.name == "postgresql":
        _, found = rawexec.execute(session, _PG_HEADS, {"chains": chains}, returning=("chain", "seq", "hash"))
    else:
        found = list(session.connection().execute(_HEADS, {"chains": chains}))
    return {r.chain: (r.seq, r.hash) for r in found}


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

    On PostgreSQL another transaction appending to the same chain is waited for (an advisory
    lock), so the head read is current. Raises :class:`ConcurrentChange` if the chain moved
    all the same (the database's trigger refuses an event that does not follow the head; on
    SQLite, or a writer around this module); the caller's transaction must then be rolled
    back (and may be retried).
    """
    entry = Entry(at, actor, action, outcome, document_id, state_before, state_after, details, chain)
    chain = chain or chain_for(document_id)
    lock_chains(session, [chain])
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.chain == chain)).first()
    seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
    key = active_key()
    _refuse_unkeyed(session, key)
    event = AuditEvent(**_row(entry, chain, seq, prev, key))
    session.flush()  # the caller's own changes first: their errors are not "changed meanwhile"
    session.add(event)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConcurrentChange(Reason("changed_meanwhile")) from exc
    return event


@dataclass(frozen=True)
class Heads:
    """What a caller read itself in the same transaction (the document commands fold it into
    their one read), so that :func:`append_many` need not read it again.

    ``tips``: chain heads, given only where no other writer can move them before the append
    (SQLite, whose ``BEGIN IMMEDIATE`` admits one writer); on PostgreSQL a head read before
    the chain's advisory lock may be stale, so ``append_many`` locks and reads it there.
    ``newest_key_id``: the newest event's ``key_id``, read only in a process without a key
    (see :func:`_refuse_unkeyed`)."""

    tips: Mapping[str, tuple[int, str]] | None
    newest_key_id: str | None = None


def append_many(session: Session, entries: Sequence[Entry], *, heads: Heads | None = None) -> int:
    """Append ``entries`` (in order within each chain) in a handful of statements, whatever
    their number: the sweep escalates thousands of documents per run, and one
    :func:`append` each was most of its time.

    On PostgreSQL the chains are first locked (advisory locks, in a fixed order), so a batch
    waits for any other writer of the same chains instead of failing; SQLite's ``BEGIN
    IMMEDIATE`` already admits one writer. The heads are then read once and the events
    inserted with one multi-row insert; the trigger moves each head. Raises
    :class:`ConcurrentChange` if another transaction moved one of the heads meanwhile; nothing
    is then written and the caller's transaction (or savepoint) must be rolled back.
    Returns the number of events appended. With ``heads`` (every chain of ``entries``, read
    by the caller: see :class:`Heads`), nothing is read here: one statement in all.
    """
    if not entries:
        return 0
    chains = [e.chain or chain_for(e.document_id) for e in entries]
    key = active_key()
    if heads is not None and heads.tips is not None and set(chains) <= heads.tips.keys():
        tips = dict(heads.tips)
    else:
        wanted = sorted(set(chains))
        lock_chains(session, wanted)
        tips = _heads(session, wanted)
    if heads is None:
        _refuse_unkeyed(session, key)
    elif key is None and heads.newest_key_id is not None:
        raise KeyMissing(Reason("audit_key_missing"))
    rows = []
    for entry, chain in zip(entries, chains):
        seq, prev = tips.get(chain, (0, GENESIS))
        row = _row(entry, chain, seq + 1, prev, key)
        rows.append(row)
        tips[chain] = (seq + 1, row["hash"])
    try:
        insert_many(session, table_of(AuditEvent), rows)
    except IntegrityError as exc:
        raise ConcurrentChange(Reason("changed_meanwhile")) from exc
    return len(rows)


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


# ------------------------------------------------------------------ the other modules' entries
def checkpoint(session: Session, at: datetime) -> AuditCheckpoint:
    """Record every chain head now (see :mod:`workflow.kernel.audit_checkpoint`)."""
    from workflow.kernel.audit_checkpoint import checkpoint as record

    return record(session, at)


def verify(session: Session, chain: str | None = None) -> VerifyReport:
    """The trail on its own: every chain's links and (keyed) hashes, the heads, the
    checkpoints. ``santongbu audit verify`` adds the documents and the exported anchors
    (:func:`workflow.kernel.audit_verify.verify`)."""
    from workflow.kernel.audit_verify import VerifyOptions
    from workflow.kernel.audit_verify import verify as run

    return run(session, VerifyOptions(chain=chain, keyring=current_keyring(), documents=False))
