"""What :mod:`workflow.kernel.audit_verify` is asked and answers: its options, its findings, its
report (kept apart so that the CLI, the API and the tests share them with the checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.kernel.auditkeys import Keyring, PublicKeyring


class VerifyUsageError(ValueError):
    """The options cannot be checked as given (exit status 2 on the command line)."""


@dataclass
class VerifyOptions:
    chain: str | None = None
    keyring: Keyring | None = None  # the secret keyring: checks keyed hashes
    public: PublicKeyring | None = None  # enough to check anchors
    anchors: Path | None = None
    since_anchor: bool = False
    documents: bool = True


@dataclass
class Break:
    """One finding: the chain (or ``checkpoint``, ``anchors``, ``trail``), the first broken
    link, what disagrees, and the events after it that can no longer be trusted."""

    chain: str
    seq: int | None
    event_id: int | None
    problem: str
    events_after: list[int] = field(default_factory=list)
    kind: str = "chain"

    def as_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "seq": self.seq,
            "event_id": self.event_id,
            "kind": self.kind,
            "problem": self.problem,
            "events_after": self.events_after,
        }


@dataclass
class VerifyReport:
    chains: int = 0
    events: int = 0
    checkpoints: int = 0
    anchors: int = 0
    documents: int = 0
    keyed: bool = False
    unchecked_keyed_events: int = 0
    since_anchor: int | None = None
    notes: list[str] = field(default_factory=list)
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "keyed": self.keyed,
            "chains": self.chains,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "anchors": self.anchors,
            "documents": self.documents,
            "since_anchor": self.since_anchor,
            "unchecked_keyed_events": self.unchecked_keyed_events,
            "notes": self.notes,
            "breaks": [b.as_dict() for b in self.breaks],
        }
