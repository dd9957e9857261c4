"""The audit trail as a service: verify the chains, checkpoint their heads, and the questions
people ask of it (a document's timeline, events filtered page by page).

One service for the CLI (``santongbu audit``), the HTTP API, the web pages and the workers'
periodic checkpoint, so that every checkpoint takes the same lock: two checkpoints at once
(two beats, or an operator's ``audit checkpoint`` while the beat's runs) would both chain to
the same predecessor and break the checkpoint chain (docs/design.md §6). On PostgreSQL a
transaction-scoped advisory lock makes the second wait for the first to commit, and then read
it as its predecessor; SQLite's ``BEGIN IMMEDIATE`` already admits one writer at a time.

The questions themselves are :class:`workflow.services.audit_queries.AuditQueries`, which
authorises and audits refusals; verify and checkpoint are operations on the whole trail run by
the operator of the installation (CLI) or the workers, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from workflow.kernel import audit
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.export import Table
from workflow.kernel.settings import Settings
from workflow.services.audit_queries import DEFAULT_LIMIT, AuditQueries, EventFilter, EventPage

# pg_advisory_xact_lock key of checkpoints ("ZNCP"); released when the transaction ends.
CHECKPOINT_LOCK = 0x5A4E_4350


@dataclass(frozen=True)
class Checkpoint:
    """A recorded checkpoint: its id, instant, how many chain heads it names, its hash."""

    id: int
    at: datetime
    chains: int
    hash: str

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "at": self.at, "chains": self.chains, "hash": self.hash}


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

    def verify(self, document_id: int | None = None) -> audit.VerifyReport:
        """Recompute every chain (or one document's) and compare it with heads and checkpoints."""
        with self.db.transaction() as session:
            return audit.verify(session, audit.chain_for(document_id) if document_id else None)

    def checkpoint(self) -> Checkpoint:
        """Record every chain head now, chained to the last checkpoint; serialised against
        concurrent checkpoints (see the module docstring)."""
        with self.db.transaction() as session:
            lock_checkpoints(session)
            cp = audit.checkpoint(session, self.clock.now())
            return Checkpoint(cp.id, cp.at, cp.chain_count, cp.hash)

    def timeline(self, login: str, doc_id: int) -> Table:
        """Every event of one document, oldest first (whoever may read the document)."""
        return self.queries.timeline(login, doc_id)

    def events(
        self, login: str, flt: EventFilter, *, limit: int = DEFAULT_LIMIT, after_id: int | None = None
    ) -> EventPage:
        """One page of events matching ``flt`` (supervisors, auditors, leaders, administrators)."""
        return self.queries.events(login, flt, limit=limit, after_id=after_id)
