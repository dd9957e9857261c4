"""The audit trail as a service: verify the chains, checkpoint their heads, and the questions
people ask of it (a document's timeline, events filtered page by page).

One service for the CLI (``santongbu audit``), the HTTP API, the web pages and the workers'
periodic checkpoint, so that every checkpoint takes the same lock: two checkpoints at once
(two beats, or an operator's ``audit checkpoint`` while the beat's runs) would both chain to
the same predecessor and break the checkpoint chain (docs/design.md §6). On PostgreSQL a
transaction-scoped advisory lock makes the second wait for the first to commit, and then read
it as its predecessor; SQLite's ``BEGIN IMMEDIATE`` already admits one writer at a time.

A checkpoint is keyed with the process's audit keyring and, given an export folder (the
command's ``--export``, else ``SANTONGBU_AUDIT_EXPORT_DIR``), also written there as a signed
anchor (:mod:`workflow.kernel.audit_checkpoint`). The beat asks often and only when one is due
(events added and the interval passed, or a sign-off, publication or posting since the last).

Verify runs every check of :mod:`workflow.kernel.audit_verify` (keyed hashes, heads,
checkpoints, anchors, documents against their chains) in one snapshot of the database, for the
command line (``santongbu audit verify``) and, authorised, for ``GET /audit/verify``.

The questions themselves are :class:`workflow.services.audit_queries.AuditQueries`, which
authorises and audits refusals; verify and checkpoint are operations on the whole trail run by
the operator of the installation (CLI) or the workers, as before; over HTTP, verify is open to
whoever may read the whole trail (:meth:`AuditAdmin.verify_for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from states.reasons import Reason
from workflow.kernel import audit, audit_checkpoint, bursts
from workflow.kernel.audit_findings import VerifyOptions, VerifyReport, VerifyUsageError
from workflow.kernel.audit_verify import verify as verify_trail
from workflow.kernel.auditkeys import KeyFileError, load_public_keyring
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import InvalidInput
from workflow.kernel.export import Table
from workflow.kernel.settings import Settings
from workflow.services.audit_queries import DEFAULT_LIMIT, AuditQueries, EventFilter, EventPage

# pg_advisory_xact_lock key of checkpoints ("ZNCP"); released when the transaction ends.
CHECKPOINT_LOCK = 0x5A4E_4350


@dataclass(frozen=True)
class Checkpoint:
    """A recorded checkpoint: its id, instant, how many chain heads and events it names, its
    hash, the key that keyed it (``None``: unkeyed), the anchor file it was exported to, and
    why it was taken ("asked", or what made it due). ``id`` is ``None`` when the beat asked
    and none was due."""

    id: int | None
    at: datetime
    chains: int = 0
    hash: str = ""
    events: int = 0
    key_id: str | None = None
    anchor: Path | None = None
    why: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "chains": self.chains,
            "events": self.events,
            "hash": self.hash,
            "key_id": self.key_id,
            "why": self.why,
            "anchor": str(self.anchor) if self.anchor else None,
        }


def lock_checkpoints(session: Session) -> None:
    """Wait until no other transaction is writing a checkpoint (PostgreSQL; a no-op on SQLite,
    whose write transactions already run one at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHECKPOINT_LOCK})


class AuditAdmin:
    """Verify, checkpoint, and the trail's questions."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.queries = AuditQueries(db, clock, settings)

    def verify(
        self,
        document_id: int | None = None,
        *,
        anchors: Path | None = None,
        public_key: Path | None = None,
        since_anchor: bool = False,
    ) -> VerifyReport:
        """Every check of :func:`workflow.kernel.audit_verify.verify` over the whole trail (or
        one document's chain), with this process's keyring, against the signed anchors in
        ``anchors`` (checked with the public keyring file ``public_key`` where this process
        has no keyring), in one snapshot of the database. ``since_anchor``: only what the
        newest anchor does not vouch for.

        Raises :class:`~workflow.kernel.auditkeys.KeyFileError` for an unreadable public
        keyring, :class:`~workflow.kernel.audit_findings.VerifyUsageError` for options that
        cannot be checked as given (``since_anchor`` without anchors)."""
        options = VerifyOptions(
            chain=audit.chain_for(document_id) if document_id else None,
            keyring=audit.current_keyring(),
            public=load_public_keyring(public_key) if public_key else None,
            anchors=anchors,
            since_anchor=since_anchor,
        )
        with self.db.snapshot() as session:
            return verify_trail(session, options)

    def verify_for(
        self, login: str, *, document_id: int | None = None, since_anchor: bool = False
    ) -> VerifyReport:
        """:meth:`verify` for auditors (``GET /audit/verify``): whoever may read the whole trail
        (a refusal is audited), against the anchors this installation exports
        (``SANTONGBU_AUDIT_EXPORT_DIR``). Raises InvalidInput for ``since_anchor`` without them."""
        self.queries.gate.require_auditor(
            login, "audit_verify", {"document_id": document_id, "since_anchor": since_anchor}
        )
        try:
            return self.verify(document_id, anchors=self.settings.audit_export_dir, since_anchor=since_anchor)
        except VerifyUsageError as exc:
            raise InvalidInput(Reason("invalid", {"field": "since_anchor", "problem": exc.args[0]})) from None

    def checkpoint(self, *, export_dir: Path | None = None, when_due: bool = False) -> Checkpoint:
        """Record every chain head now, keyed and chained to the last checkpoint, serialised
        against concurrent checkpoints (see the module docstring); exported as a signed anchor
        to ``export_dir`` (default: ``SANTONGBU_AUDIT_EXPORT_DIR``, if set).

        ``when_due`` (the beat): only if one is due (:func:`workflow.kernel.audit_checkpoint.due`);
        otherwise nothing is written and the answer's ``id`` is ``None``. The anchor is written
        before the row commits: if the commit then fails, the anchor still tells the truth
        about heads that were committed. Raises :class:`KeyFileError` to export without a
        keyring."""
        export_dir = export_dir or self.settings.audit_export_dir
        keyring = audit.current_keyring()
        if export_dir is not None and keyring is None:
            raise KeyFileError(
                "exporting signed checkpoints needs the audit keyring: set "
                "SANTONGBU_AUDIT_KEY_FILE (santongbu audit keygen --output FILE)"
            )
        with self.db.transaction() as session:
            lock_checkpoints(session)
            now = self.clock.now()
            why = (
                audit_checkpoint.due(session, now, self.settings.audit_checkpoint_interval_seconds)
                if when_due
                else "asked"
            )
            if why is None:
                return Checkpoint(id=None, at=now)
            cp = audit_checkpoint.checkpoint(session, now)
            anchor = (
                audit_checkpoint.export_anchor(export_dir, cp, keyring)
                if export_dir is not None and keyring is not None
                else None
            )
            return Checkpoint(
                id=cp.id,
                at=cp.at,
                chains=cp.chain_count,
                hash=cp.hash,
                events=cp.event_count or 0,
                key_id=cp.key_id,
                anchor=anchor,
                why=why,
            )

    def flush_bursts(self, *, everything: bool = False) -> int:
        """Write the aggregated event of every burst of refusals whose window has closed (all of
        them with ``everything``): :mod:`workflow.kernel.bursts`. The beat runs this."""
        window = timedelta(seconds=self.settings.audit_burst_window_seconds)
        return bursts.flush(self.db, self.clock.now(), window, everything=everything)

    def timeline(self, login: str, doc_id: int) -> Table:
        """Every event of one document, oldest first (whoever may read the document)."""
        return self.queries.timeline(login, doc_id)

    def events(
        self, login: str, flt: EventFilter, *, limit: int = DEFAULT_LIMIT, after_id: int | None = None
    ) -> EventPage:
        """One page of events matching ``flt`` (supervisors, auditors, leaders, administrators)."""
        return self.queries.events(login, flt, limit=limit, after_id=after_id)
