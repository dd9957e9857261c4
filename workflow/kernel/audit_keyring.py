"""The keyring: the secrets that tag and sign audit material, and the files that hold them.

The keyring file holds the secrets (HMAC for cheap per-event tags, Ed25519 for signatures a
third party can check); the public keyring is what auditors receive. Split from
:mod:`workflow.kernel.auditkeys` (which re-exports it) so that the keys and their files — load,
generate, rotate, refuse an unsafe one — stand apart from the anchors signed with them
(:mod:`workflow.kernel.audit_anchors`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
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
