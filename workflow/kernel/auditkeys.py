"""Keys held outside the database, so that someone who can rewrite the audit tables cannot
also rewrite the evidence that they did.

The keyring file holds the secrets (HMAC for cheap per-event tags, Ed25519 for signatures a
third party can check); the public keyring is what auditors receive. Anchors are signed,
linked checkpoints of every chain head, exported to a folder meant to be write-once or
shipped away: once an anchor has left the machine, rewriting what it covers shows.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ANCHOR_NAME = re.compile(r"checkpoint-(\d{8})\.json")
_ANCHOR_FIELDS = {"seq", "at", "event_count", "heads", "previous_hash", "key_id", "signature"}


class KeyFileError(Exception):
    """One sentence an operator can act on; the message never needs a traceback beside it."""


def canonical(obj: Any) -> bytes:
    """One byte string per value, so a signature or MAC made here verifies anywhere."""

    def reject(value: Any) -> Any:
        raise TypeError(
            f"canonical() takes JSON types only, not {type(value).__name__}; pass datetimes as ISO strings"
        )

    return json.dumps(
        obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=reject
    ).encode("utf-8")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _key_id(public: Ed25519PublicKey) -> str:
    return "k" + hashlib.sha256(_raw(public)).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class Key:
    """One generation of secrets; old generations stay in the keyring so old tags still verify."""

    key_id: str
    created_at: datetime
    hmac_secret: bytes = field(repr=False)
    private: Ed25519PrivateKey = field(repr=False)

    def mac(self, data: bytes) -> str:
        return hmac.new(self.hmac_secret, data, hashlib.sha256).hexdigest()

    def sign(self, data: bytes) -> str:
        return _b64(self.private.sign(data))

    @property
    def public_key_b64(self) -> str:
        return _b64(_raw(self.private.public_key()))


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    created_at: datetime
    public_key: Ed25519PublicKey = field(repr=False)


@dataclass(frozen=True)
class PublicKeyring:
    """What an auditor holds: enough to check signatures, nothing that could forge them."""

    keys: tuple[PublicKey, ...]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(k.key_id for k in self.keys)

    def verify(self, key_id: str, data: bytes, signature_b64: str) -> bool:
        """False, never an exception: a verifier reports bad evidence, it does not crash on it."""
        try:
            key = next(k for k in self.keys if k.key_id == key_id)
            key.public_key.verify(base64.b64decode(signature_b64, validate=True), data)
        except (StopIteration, InvalidSignature, ValueError, TypeError):
            return False
        return True


@dataclass(frozen=True)
class Keyring:
    """The last key signs new material; earlier ones stay only to verify what they signed."""

    keys: tuple[Key, ...]

    @property
    def active(self) -> Key:
        return self.keys[-1]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(k.key_id for k in self.keys)

    def get(self, key_id: str) -> Key:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise KeyFileError(f"Key {key_id!r} is not in the keyring.")

    def public(self) -> PublicKeyring:
        return PublicKeyring(
            tuple(PublicKey(k.key_id, k.created_at, k.private.public_key()) for k in self.keys)
        )


def _write_file(path: Path, data: bytes, *, mode: int, overwrite: bool) -> None:
    """Readers see the old file or the new one, never half of one. Without overwrite an
    existing file wins even against a concurrent writer, because os.link never replaces."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise KeyFileError(f"{path} already exists; refusing to overwrite it.") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _save_keyring(path: Path, keys: list[Key], now: datetime, *, overwrite: bool) -> Keyring:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    private = Ed25519PrivateKey.generate()
    keys.append(Key(_key_id(private.public_key()), now.astimezone(UTC), secrets.token_bytes(32), private))
    entries = [
        {
            "key_id": k.key_id,
            "created_at": k.created_at.isoformat(),
            "hmac_secret": _b64(k.hmac_secret),
            "ed25519_private": _b64(k.private.private_bytes_raw()),
        }
        for k in keys
    ]
    _write_file(
        path, json.dumps({"keys": entries}, indent=2).encode() + b"\n", mode=0o600, overwrite=overwrite
    )
    return load_keyring(path)


def generate_keyring(path: Path, *, now: datetime) -> Keyring:
    """Refuses an existing file: replacing it would orphan every tag its keys made."""
    if path.exists():
        raise KeyFileError(f"Keyring file {path} already exists; rotate it to add a key.")
    return _save_keyring(path, [], now, overwrite=False)


def rotate_keyring(path: Path, *, now: datetime) -> Keyring:
    """Appends rather than replaces, so events tagged by earlier keys stay verifiable.
    Two concurrent rotations of one file can lose a key; rotation is a one-operator act."""
    return _save_keyring(path, list(load_keyring(path).keys), now, overwrite=True)


def _entries(path: Path, what: str, blobs: tuple[str, ...]) -> list[tuple[str, str, datetime, list[bytes]]]:
    """Each key as (where, key_id, created_at, decoded 32-byte blobs), or KeyFileError."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise KeyFileError(f"{what} {path} does not exist.") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyFileError(f"{what} {path} is not valid JSON.") from None
    except OSError as e:
        raise KeyFileError(f"{what} {path} cannot be read ({e.strerror}).") from None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise KeyFileError(f'{what} {path} has no "keys" list.')
    if not keys:
        raise KeyFileError(f"{what} {path} contains no keys.")
    out = []
    for i, entry in enumerate(keys, 1):
        where = f"{what} {path}: key #{i}"
        if not isinstance(entry, dict):
            raise KeyFileError(f"{where} is not a JSON object.")
        for name in ("key_id", "created_at", *blobs):
            if not isinstance(entry.get(name), str):
                raise KeyFileError(f"{where} has no {name} string.")
        try:
            created = datetime.fromisoformat(entry["created_at"])
        except ValueError:
            raise KeyFileError(f"{where} has a created_at that is not ISO 8601.") from None
        if created.tzinfo is None:
            raise KeyFileError(f"{where} has a created_at without a UTC offset.")
        raws = []
        for name in blobs:
            try:
                raws.append(base64.b64decode(entry[name], validate=True))
            except ValueError:
                raise KeyFileError(f"{where} has a {name} that is not base64.") from None
            if len(raws[-1]) != 32:
                raise KeyFileError(f"{where} has a {name} of {len(raws[-1])} bytes, not 32.")
        out.append((where, entry["key_id"], created.astimezone(UTC), raws))
    return out


def _check_id(where: str, stated: str, public: Ed25519PublicKey, seen: set[str]) -> None:
    if stated != _key_id(public):
        raise KeyFileError(f"{where} has key_id {stated!r} but its key gives {_key_id(public)!r}.")
    if stated in seen:
        raise KeyFileError(f"{where} repeats key_id {stated!r}.")
    seen.add(stated)


def load_keyring(path: Path) -> Keyring:
    """Refuses a file others can read: a leaked HMAC secret lets anyone re-tag a rewritten chain."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"Keyring file {path} does not exist.") from None
    except OSError as e:
        raise KeyFileError(f"Keyring file {path} cannot be read ({e.strerror}).") from None
    if mode & 0o077:
        raise KeyFileError(
            f"Keyring file {path} is open to group or others (mode {mode & 0o777:o}); run: chmod 600 {path}"
        )
    keys: list[Key] = []
    seen: set[str] = set()
    for where, key_id, created, (secret, raw) in _entries(
        path, "Keyring file", ("hmac_secret", "ed25519_private")
    ):
        private = Ed25519PrivateKey.from_private_bytes(raw)
        _check_id(where, key_id, private.public_key(), seen)
        keys.append(Key(key_id, created, secret, private))
    return Keyring(tuple(keys))


def write_public_keyring(path: Path, keyring: Keyring) -> None:
    entries = [
        {"key_id": k.key_id, "created_at": k.created_at.isoformat(), "ed25519_public": k.public_key_b64}
        for k in keyring.keys
    ]
    _write_file(path, json.dumps({"keys": entries}, indent=2).encode() + b"\n", mode=0o644, overwrite=True)


def load_public_keyring(path: Path) -> PublicKeyring:
    keys: list[PublicKey] = []
    seen: set[str] = set()
    for where, key_id, created, (raw,) in _entries(path, "Public keyring", ("ed25519_public",)):
        public = Ed25519PublicKey.from_public_bytes(raw)
        _check_id(where, key_id, public, seen)
        keys.append(PublicKey(key_id, created, public))
    return PublicKeyring(tuple(keys))


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
