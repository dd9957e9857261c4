"""Verifying the audit trail: every check, each finding naming the chain, the first broken link
and what disagrees.

* **Chains.** Each event follows the one before it (seq, ``prev_hash``) and its hash is what
  its row gives: the HMAC under the key its row names (with the keyring), or SHA-256 for an
  unkeyed row. Once a trail is keyed (a keyring or anchors are given), an unkeyed event must be
  covered by a keyed checkpoint or a signed anchor; after a keyed event in its chain, never.
* **Heads.** Each chain ends where its head says; no head without events, no events without head.
* **Checkpoints** (in the database). Chained, keyed, their event counts never falling; the last
  one's heads must still be in their chains.
* **Anchors** (signed files outside the database, :mod:`workflow.kernel.auditkeys`). The series
  is whole and signed; every head each anchor names is still in its chain with the same hash
  (no chain shorter than an anchor says, none missing); the trail holds at least as many
  events as the newest anchor counted.
* **Documents** (:mod:`workflow.kernel.audit_replay`). Every document has a chain, and its
  state, deadline, postings and on-time verdict are what the chain's events say.

With ``since_anchor`` only what the newest anchor does not already vouch for is read: the
event each anchored head names, the chains that moved since (whole), the new chains, and their
documents. A full check also rereads every older event and every unmoved document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, column, select, text
from sqlalchemy.orm import Session

from states.i18n import _
from workflow.kernel.audit_checkpoint import checkpoint_hash
from workflow.kernel.audit_findings import Break, VerifyOptions, VerifyReport, VerifyUsageError
from workflow.kernel.audit_hashing import GENESIS, HASHED_FIELDS, NOT_KEYED, chain_for, event_hash
from workflow.kernel.audit_replay import DocumentCheck, Facts
from workflow.kernel.auditkeys import Anchor, KeyFileError, read_anchors, read_latest_anchor
from workflow.kernel.models import AuditCheckpoint, AuditEvent, AuditHead

EVENT_COLUMNS = ("id", *HASHED_FIELDS, "hash", "key_id")
AFTER_LISTED = 1000  # ids of later events named in a break; beyond that only counted
__all__ = ["Break", "VerifyOptions", "VerifyReport", "VerifyUsageError", "verify"]


@dataclass
class _Chain:
    name: str
    start: int
    expect: int
    prev: str | None
    last: tuple[int, str] | None = None
    keyed_seen: bool = False
    key_rank: int = 0
    facts: Facts | None = None
    rows: int = 0


class _Run:
    """One verification: the pins (seq → hash) that anchors and checkpoints vouch for, and
    the findings so far (one per chain: the first broken link)."""

    def __init__(self, session: Session, options: VerifyOptions) -> None:
        self.s = session
        self.o = options
        self.report = VerifyReport(keyed=options.keyring is not None)
        self.broken: dict[str, Break] = {}
        self.pins: dict[str, dict[int, tuple[str, str]]] = {}  # chain → seq → (hash, who says)
        self.covered: dict[str, int] = {}  # chain → highest seq a keyed checkpoint or anchor covers
        self.least_events: tuple[int, str] = (0, "")
        self.strict = options.keyring is not None
        self.docs = DocumentCheck(session, self.document_finding) if options.documents else None
        self.trusted: list[Anchor] = []

    # ---------------------------------------------------------------- findings
    def find(self, chain: str, seq: int | None, event_id: int | None, problem: str, kind: str) -> None:
        if chain in self.broken:
            return
        b = Break(chain, seq, event_id, problem, kind=kind)
        if chain not in ("anchors", "checkpoint", "trail", "documents"):
            self.broken[chain] = b
        self.report.breaks.append(b)

    def document_finding(self, chain: str, seq: int | None, problem: str) -> None:
        self.find(chain, seq, None, problem, "document")

    def pin(self, chain: str, seq: int, digest: str, who: str, covers: bool) -> None:
        seen = self.pins.setdefault(chain, {}).get(seq)
        if seen is not None and seen[0] != digest:
            self.find(
                "anchors", None, None, f"{who} and {seen[1]} disagree on event {seq} of {chain}", "anchor"
            )
            return
        self.pins[chain][seq] = (digest, who)
        if covers:
            self.covered[chain] = max(self.covered.get(chain, 0), seq)

    # ---------------------------------------------------------------- anchors and checkpoints
    def anchors(self) -> Anchor | None:
        o = self.o
        if o.anchors is None:
            if o.since_anchor:
                raise VerifyUsageError(_("--since-anchor needs --anchors DIR"))
            return None
        public = o.public or (o.keyring.public() if o.keyring else None)
        if public is None:
            raise VerifyUsageError(
                _(
                    "checking anchors needs their public key: --public-key FILE "
                    "(or the keyring, SANTONGBU_AUDIT_KEY_FILE)"
                )
            )
        if o.since_anchor:
            latest, problems = read_latest_anchor(o.anchors, public)
            trusted = [latest] if latest else []
            if latest is None and not problems:
                problems = [f"no anchors in {o.anchors}"]
        else:
            trusted, problems = read_anchors(o.anchors, public)
        for problem in problems:
            self.find("anchors", None, None, problem, "anchor")
        self.report.anchors = len(trusted)
        self.strict = self.strict or bool(trusted)
        for anchor in trusted:
            who = f"anchor {anchor.seq} ({anchor.at})"
            for chain, (seq, digest) in anchor.heads.items():
                self.pin(chain, seq, digest, who, covers=True)
            if anchor.event_count >= self.least_events[0]:
                self.least_events = (anchor.event_count, who)
        self.trusted = trusted
        return trusted[-1] if (trusted and o.since_anchor) else None

    def checkpoints(self, since: Anchor | None) -> None:
        """The checkpoint chain: links, keyed hashes, counts that never fall; the last one's
        heads are pinned. With ``since``, only the checkpoints from the anchor's instant on."""
        c = AuditCheckpoint
        stmt = select(c.id, c.at, c.heads, c.prev_hash, c.hash, c.key_id, c.event_count).order_by(c.id)
        prev = GENESIS
        if since is not None:
            at = datetime.fromisoformat(since.at)
            prev = (
                self.s.execute(select(c.hash).where(c.at < at).order_by(c.id.desc()).limit(1)).scalar()
                or prev
            )
            stmt = stmt.where(c.at >= at)
        rows = list(self.s.execute(stmt))
        self.report.checkpoints = len(rows)
        state = {"keyed_seen": False, "count": 0}
        for row in rows:
            problem = self.checkpoint_problem(row, prev, state)
            if problem:
                self.find("checkpoint", None, row.id, f"checkpoint {row.id} {problem}", "checkpoint")
                return
            prev = row.hash
        if not rows:
            return
        last = rows[-1]
        if last.key_id is not None and self.o.keyring is None:
            self.report.notes.append(
                _(
                    "checkpoint hashes are keyed and no keyring was given: "
                    "their links were followed, their keyed hashes not checked"
                )
            )
        who = f"checkpoint {last.id}"
        vouched = last.key_id is not None and self.o.keyring is not None
        for chain, (seq, digest) in json.loads(last.heads).items():
            self.pin(chain, seq, digest, who if vouched or last.key_id else f"unkeyed {who}", covers=vouched)
        if (last.event_count or 0) > self.least_events[0]:
            self.least_events = (last.event_count, who)

    def checkpoint_problem(self, row: Any, prev: str, state: dict[str, Any]) -> str | None:
        keyring, key = self.o.keyring, None
        if row.key_id is not None and keyring is not None:
            try:
                key = keyring.get(row.key_id)
            except KeyFileError:
                return f"is hashed with key {row.key_id}, which is not in the keyring"
        if row.prev_hash != prev:
            return "does not chain to the checkpoint before it (one was removed or inserted)"
        if (row.key_id is None or key is not None) and row.hash != checkpoint_hash(
            at=row.at, heads=row.heads, prev_hash=row.prev_hash, event_count=row.event_count, key=key
        ):
            return "has a hash that does not match the row (edited, or recomputed without the key)"
        if row.key_id is None and state["keyed_seen"]:
            return "is unkeyed after keyed checkpoints (recomputed without the key)"
        if row.key_id is None and keyring is not None and row.at >= keyring.keys[0].created_at:
            return (
                f"is unkeyed although written after the audit key existed "
                f"({keyring.keys[0].created_at.isoformat()}): recomputed without the key"
            )
        if row.event_count is not None and row.event_count < state["count"]:
            return f"counts {row.event_count} events, fewer than the {state['count']} before it"
        state["keyed_seen"] = state["keyed_seen"] or row.key_id is not None
        state["count"] = row.event_count if row.event_count is not None else state["count"]
        return None

    def anchor_twins(self, anchors: list[Anchor]) -> None:
        """Each anchor was exported from a checkpoint row: removing the rows shows."""
        if not anchors:
            return
        c = AuditCheckpoint
        stmt = select(c.at, c.event_count)
        if len(anchors) == 1:
            stmt = stmt.where(c.at == datetime.fromisoformat(anchors[0].at))
        held = {(r.at.isoformat(timespec="microseconds"), r.event_count) for r in self.s.execute(stmt)}
        for anchor in anchors:
            at = datetime.fromisoformat(anchor.at).isoformat(timespec="microseconds")
            if (at, anchor.event_count) not in held:
                self.find(
                    "checkpoint",
                    None,
                    None,
                    f"anchor {anchor.seq} was exported from a checkpoint "
                    f"at {anchor.at} counting {anchor.event_count} events, which the database no "
                    "longer holds (checkpoints removed or rewritten)",
                    "checkpoint",
                )
                return

    # ---------------------------------------------------------------- events
    def plan(self, since: Anchor | None) -> dict[str, int] | None:
        """For an incremental check, where each chain's reading starts: at the event the anchor
        names if the chain has not moved since, else (and for new chains) at its beginning.
        The heads only choose what to read; whatever they claim is checked against the rows."""
        if since is None:
            return None
        heads = {r.chain: r.seq for r in self.s.execute(select(AuditHead.chain, AuditHead.seq))}
        start = {c: (s if heads.get(c) == s else 1) for c, (s, _h) in since.heads.items()}
        for chain in heads:
            start.setdefault(chain, 1)
        if self.o.chain is not None:
            start = {c: s for c, s in start.items() if c == self.o.chain}
        return start

    def events(self, plan: dict[str, int] | None) -> Iterator[Any]:
        cols = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
        if plan is None:
            where = "WHERE e.chain = :chain " if self.o.chain is not None else ""
            sql = f"SELECT {cols} FROM audit_events e {where}ORDER BY e.chain, e.seq, e.id"
            params: dict[str, Any] = {"chain": self.o.chain} if self.o.chain is not None else {}
        elif self.s.get_bind().dialect.name == "postgresql":
            sql = (
                f"SELECT {cols}, f.seq AS start FROM json_to_recordset(CAST(:plan AS json)) "
                "AS f(chain varchar, seq integer) JOIN audit_events e ON e.chain = f.chain "
                "AND e.seq >= f.seq ORDER BY e.chain, e.seq, e.id"
            )
            params = {"plan": json.dumps([{"chain": c, "seq": s} for c, s in sorted(plan.items())])}
        else:
            sql = (
                f"SELECT {cols}, f.seq AS start FROM (SELECT json_extract(value, '$[0]') AS chain, "
                "json_extract(value, '$[1]') AS seq FROM json_each(:plan)) f JOIN audit_events e "
                "ON e.chain = f.chain AND e.seq >= f.seq ORDER BY e.chain, e.seq, e.id"
            )
            params = {"plan": json.dumps(sorted(plan.items()))}
        table = AuditEvent.__table__
        typed = [table.c[c] for c in EVENT_COLUMNS] + ([column("start", Integer)] if plan is not None else [])
        yield from self.s.execute(text(sql).columns(*typed).execution_options(yield_per=5000), params)

    def check_event(self, ch: _Chain, ev: Any) -> str | None:
        if ev.seq != ch.expect:
            if ch.last is None and ch.start > 1:
                return (
                    f"the event at seq {ch.start} that the newest anchor names is gone "
                    f"(the chain resumes at seq {ev.seq})"
                )
            return f"sequence jumps from {ch.expect - 1} to {ev.seq} (an event was deleted or inserted)"
        if ch.prev is not None and ev.prev_hash != ch.prev:
            return "prev_hash does not match the previous event (an event was deleted or inserted)"
        if ev.chain.startswith("doc:") and ev.chain != chain_for(ev.document_id):
            return f"an event of document {ev.document_id} in chain {ev.chain}"
        fields = {n: getattr(ev, n) for n in HASHED_FIELDS}
        if ev.key_id is not None:
            ch.keyed_seen = True
            if self.o.keyring is None:
                self.report.unchecked_keyed_events += 1
            else:
                try:
                    key = self.o.keyring.get(ev.key_id)
                except KeyFileError:
                    return f"hashed with key {ev.key_id}, which is not in the keyring"
                if event_hash(key, **fields) != ev.hash:
                    return "its keyed hash does not match the row (edited, or forged without the key)"
                rank = self.o.keyring.key_ids.index(ev.key_id)
                if rank < ch.key_rank:
                    return (
                        f"keyed with {ev.key_id}, older than the key of an event before it "
                        "(a retired key at work)"
                    )
                ch.key_rank = rank
        else:
            if event_hash(None, **fields) != ev.hash:
                return "hash does not match the row (the event was edited)"
            if ch.keyed_seen:
                return "an unkeyed event after keyed ones (written or recomputed without the key)"
            if self.strict and ev.seq > self.covered.get(ev.chain, 0):
                return (
                    "an unkeyed event that no keyed checkpoint or anchor covers "
                    "(written or recomputed without the key)"
                )
        pinned = self.pins.get(ev.chain, {}).pop(ev.seq, None)
        if pinned is not None and pinned[0] != ev.hash:
            return f"{pinned[1]} recorded another hash for this event (history rewritten)"
        if (
            pinned is not None
            and ev.key_id is not None
            and pinned[1].startswith("unkeyed checkpoint")
            and not any(b.kind == "checkpoint" for b in self.report.breaks)
        ):  # said once
            self.find(
                "checkpoint",
                None,
                None,
                f"{pinned[1].removeprefix('unkeyed ')} is unkeyed but names "
                f"event {ev.seq} of {ev.chain}, which is keyed: written or recomputed without the key",
                "checkpoint",
            )
        return None

    def stream(self, plan: dict[str, int] | None, heads: dict[str, tuple[int, str]]) -> int:
        """Check every event read; returns how many events the chains hold (those before an
        incremental reading's start included)."""
        total = 0
        ch: _Chain | None = None
        for ev in self.events(plan):
            if ch is None or ev.chain != ch.name:
                if ch is not None:
                    total += self.end_chain(ch, heads)
                start = ev.start if plan is not None else 1
                ch = _Chain(ev.chain, start, start, GENESIS if start == 1 else None)
                if self.docs is not None and start == 1 and ev.chain.startswith("doc:"):
                    ch.facts = Facts()
                self.report.chains += 1
            self.report.events += 1
            ch.rows += 1
            broken = self.broken.get(ev.chain)
            if broken is not None:
                if len(broken.events_after) < AFTER_LISTED:
                    broken.events_after.append(ev.id)
                continue
            problem = self.check_event(ch, ev)
            if problem:
                self.find(ev.chain, ev.seq, ev.id, problem, "chain")
                continue
            if ch.facts is not None:
                ch.facts.observe(ev.seq, ev.action, ev.outcome, ev.state_after, ev.details)
            ch.last, ch.prev, ch.expect = (ev.seq, ev.hash), ev.hash, ev.seq + 1
        if ch is not None:
            total += self.end_chain(ch, heads)
        return total

    def end_chain(self, ch: _Chain, heads: dict[str, tuple[int, str]]) -> int:
        head = heads.pop(ch.name, None)
        if ch.name in self.broken:
            return ch.start - 1 + ch.rows
        end = ch.last[0] if ch.last else 0
        if head is None:
            self.find(ch.name, end, None, "the chain has events but no head", "head")
        elif head != ch.last:
            self.find(
                ch.name,
                end + 1,
                None,
                f"chain ends at seq {end} but its head says {head[0]} (events were deleted at the end)",
                "head",
            )
        elif ch.facts is not None and self.docs is not None:
            self.docs.add(ch.name, ch.facts)
        return ch.start - 1 + ch.rows

    # ---------------------------------------------------------------- the whole run
    def run(self) -> VerifyReport:
        o = self.o
        since = self.anchors()
        self.report.since_anchor = since.seq if since else None
        self.checkpoints(since)
        self.anchor_twins(self.trusted)
        heads_q = select(AuditHead.chain, AuditHead.seq, AuditHead.hash)
        if o.chain is not None:
            heads_q = heads_q.where(AuditHead.chain == o.chain)
        heads = {c: (s, h) for c, s, h in self.s.execute(heads_q)}
        total = self.stream(self.plan(since), heads)
        for chain, pins in sorted(self.pins.items()):
            if pins and (o.chain is None or chain == o.chain):
                seq, (_digest, who) = max(pins.items())
                self.find(
                    chain,
                    seq,
                    None,
                    f"{who} names event {seq} of this chain, which it no longer holds (history removed)",
                    "missing",
                )
        for chain, (seq, _h) in sorted(heads.items()):
            self.find(chain, seq, None, f"its head says seq {seq} but the chain has no events", "head")
        if o.chain is None and total < self.least_events[0]:
            self.find(
                "trail",
                None,
                None,
                f"the trail holds {total} events, fewer than the "
                f"{self.least_events[0]} that {self.least_events[1]} counted",
                "count",
            )
        if self.docs is not None:
            self.docs.flush()
            if o.chain is None:
                self.docs.documents_without_chain()
            self.report.documents = self.docs.checked
        self._notes()
        return self.report

    def _notes(self) -> None:
        r, o = self.report, self.o
        if not r.keyed:
            r.notes.append(
                NOT_KEYED
                if not r.unchecked_keyed_events
                else _(
                    "{count} keyed event hashes not checked: no keyring "
                    "(SANTONGBU_AUDIT_KEY_FILE); links, anchors and documents were",
                    count=r.unchecked_keyed_events,
                )
            )
        if o.anchors is None:
            r.notes.append(
                _(
                    "no anchors given (--anchors DIR): a rewrite of the database and its "
                    "checkpoints together is only caught against the exported anchors"
                )
            )


def verify(session: Session, options: VerifyOptions | None = None) -> VerifyReport:
    """Run every check that ``options`` allow; see the module docstring."""
    return _Run(session, options or VerifyOptions()).run()
