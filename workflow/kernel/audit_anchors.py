"""Anchors: signed, linked checkpoints of every chain head, kept outside the database.

They are exported to a folder meant to be write-once or shipped away: once an anchor has left
the machine, rewriting what it covers shows. Split from :mod:`workflow.kernel.auditkeys` (which
re-exports it) so that writing, reading and checking the continuity of the series stands apart
from the keys that sign it (:mod:`workflow.kernel.audit_keyring`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.kernel.audit_keyring import Key, PublicKeyring, _write_file, canonical

ANCHOR_NAME = re.compile(r"checkpoint-(\d{8})\.json")
_ANCHOR_FIELDS = {"seq", "at", "event_count", "heads", "previous_hash", "key_id", "signature"}


@dataclass(frozen=True)
class Anchor:
    """Every chain head at one moment, signed and linked to the anchor before it, so that
    deleting or rewriting an exported anchor is itself visible."""

    seq: int
    at: str
    event_count: int
    heads: dict[str, tuple[int, str]]
    previous_hash: str
    key_id: str
    signature: str

    def body(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "event_count": self.event_count,
            "heads": {c: [s, h] for c, (s, h) in self.heads.items()},
            "previous_hash": self.previous_hash,
            "key_id": self.key_id,
        }

    def digest(self) -> str:
        return hashlib.sha256(canonical({**self.body(), "signature": self.signature})).hexdigest()


def make_anchor(
    *, seq: int, at: str, event_count: int, heads: Mapping[str, tuple[int, str]], previous_hash: str, key: Key
) -> Anchor:
    unsigned = Anchor(
        seq,
        at,
        event_count,
        {c: (int(s), str(h)) for c, (s, h) in heads.items()},
        previous_hash,
        key.key_id,
        "",
    )
    return dataclasses.replace(unsigned, signature=key.sign(canonical(unsigned.body())))


def write_anchor(directory: Path, anchor: Anchor) -> Path:
    """Never overwrites: an anchor that could be replaced would prove nothing."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"checkpoint-{anchor.seq:08d}.json"
    data = json.dumps(
        {**anchor.body(), "signature": anchor.signature}, indent=2, sort_keys=True, ensure_ascii=False
    )
    _write_file(path, data.encode("utf-8") + b"\n", mode=0o644, overwrite=False)
    return path


def _parse_anchor(data: Any) -> Anchor:
    def count(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if not isinstance(data, dict) or set(data) != _ANCHOR_FIELDS:
        raise ValueError(f"it must have exactly the fields {', '.join(sorted(_ANCHOR_FIELDS))}")
    if not (count(data["seq"]) and count(data["event_count"])):
        raise ValueError("seq and event_count must be non-negative integers")
    if not all(isinstance(data[f], str) for f in ("at", "previous_hash", "key_id", "signature")):
        raise ValueError("at, previous_hash, key_id and signature must be strings")
    heads = data["heads"]
    if not isinstance(heads, dict) or not all(
        isinstance(v, list) and len(v) == 2 and count(v[0]) and isinstance(v[1], str) for v in heads.values()
    ):
        raise ValueError("heads must map each chain to [seq, hash]")
    return Anchor(
        data["seq"],
        data["at"],
        data["event_count"],
        {c: (s, h) for c, (s, h) in heads.items()},
        data["previous_hash"],
        data["key_id"],
        data["signature"],
    )


def _missing(first: int, stop: int) -> str:
    if stop - first == 1:
        return f"anchor {first} is missing"
    return f"anchors {first} to {stop - 1} are missing"


def _continuity(parsed: list[tuple[str, Anchor]]) -> list[str]:
    found: list[str] = []
    prev_name, prev = "", None
    for name, cur in parsed:
        if prev is None:
            if cur.seq != 1:
                found.append(f"{name} is the first anchor, so {_missing(1, cur.seq)}.")
            elif cur.previous_hash:
                found.append(f"{name} is anchor 1 but names a previous anchor.")
            prev_name, prev = name, cur
            continue
        if cur.seq != prev.seq + 1:
            found.append(f"{name} follows {prev_name}, so {_missing(prev.seq + 1, cur.seq)}.")
        elif cur.previous_hash != prev.digest():
            found.append(f"{name} has a previous_hash that does not match {prev_name}.")
        if cur.event_count < prev.event_count:
            found.append(
                f"{name} counts {cur.event_count} events, fewer than the {prev.event_count} in {prev_name}."
            )
        for chain, (seq, head) in prev.heads.items():
            now = cur.heads.get(chain)
            if now is None:
                found.append(f"{name} omits chain {chain!r}, which {prev_name} has.")
            elif now[0] < seq:
                found.append(f"{name} has chain {chain!r} at seq {now[0]}, behind seq {seq} in {prev_name}.")
            elif now[0] == seq and now[1] != head:
                found.append(
                    f"{name} has chain {chain!r} at seq {seq} with a different hash from {prev_name}."
                )
        prev_name, prev = name, cur
    return found


def read_anchors(directory: Path, public: PublicKeyring) -> tuple[list[Anchor], list[str]]:
    """Returns only the anchors whose signature verifies, and every finding in plain English.
    Continuity is checked across all well-formed anchors, trusted or not, so a tampered file
    is reported as tampered rather than also as a gap."""
    paths = sorted(directory.glob("checkpoint-*.json")) if directory.is_dir() else []
    if not paths:
        return [], [f"no anchors in {directory}"]
    findings: list[str] = []
    parsed: list[tuple[str, Anchor]] = []
    trusted: list[Anchor] = []
    for path in paths:
        try:
            anchor = _parse_anchor(json.loads(path.read_bytes().decode("utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            findings.append(f"{path.name} is unreadable or not valid JSON.")
            continue
        except ValueError as e:
            findings.append(f"{path.name} is not a valid anchor: {e}.")
            continue
        match = ANCHOR_NAME.fullmatch(path.name)
        if match is None or int(match.group(1)) != anchor.seq:
            findings.append(f"{path.name} holds anchor {anchor.seq}, which its name contradicts.")
            continue
        parsed.append((path.name, anchor))
        if anchor.key_id not in public.key_ids:
            findings.append(
                f"{path.name} is signed with key {anchor.key_id!r}, which is not in the public keyring."
            )
        elif not public.verify(anchor.key_id, canonical(anchor.body()), anchor.signature):
            findings.append(f"{path.name} has a signature that does not match its contents.")
        else:
            trusted.append(anchor)
    return trusted, findings + _continuity(parsed)


def read_latest_anchor(directory: Path, public: PublicKeyring) -> tuple[Anchor | None, list[str]]:
    """The newest anchor, if its signature verifies and it links to the one before it: what
    an incremental check or the next export builds on, without reading the whole series."""
    paths = sorted(directory.glob("checkpoint-*.json")) if directory.is_dir() else []
    if not paths:
        return None, []
    parsed: list[tuple[str, Anchor]] = []
    for path in paths[-2:]:
        try:
            parsed.append((path.name, _parse_anchor(json.loads(path.read_bytes().decode("utf-8")))))
        except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
            return None, [f"{path.name} is not a valid anchor ({e})."]
    name, last = parsed[-1]
    if not public.verify(last.key_id, canonical(last.body()), last.signature):
        return None, [f"{name} has a signature that does not match its contents or its key."]
    found = (
        _continuity(parsed)
        if len(parsed) == 2
        else ([] if last.seq == 1 else [f"{name} is the only anchor, so {_missing(1, last.seq)}."])
    )
    return last, found
