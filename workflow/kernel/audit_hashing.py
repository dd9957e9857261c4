"""How an audit event is hashed, and the audit keyring that keys the hashes in this process.

The lowest of the audit modules: :mod:`workflow.kernel.audit` (appending),
:mod:`workflow.kernel.audit_checkpoint` and :mod:`workflow.kernel.audit_verify` all build on it,
so none of them needs another (:mod:`workflow.kernel.audit` re-exports these names).

Each event's ``hash`` covers :data:`HASHED_FIELDS` (its ``prev_hash`` included) and is an
HMAC-SHA256 under the active key of the audit keyring (``SANTONGBU_AUDIT_KEY_FILE``, kept
outside the database; the row records the ``key_id``), or a plain SHA-256 on an installation
without a key. The keyring in use is per process: :func:`configure` takes up the one the
settings name (:func:`workflow.bootstrap.bootstrap` calls it), :func:`use_keyring` sets one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from states.i18n import _
from workflow.kernel.auditkeys import Key, Keyring, load_keyring

if TYPE_CHECKING:
    from workflow.kernel.settings import Settings

log = logging.getLogger("santongbu.audit")

GENESIS = "0" * 64
SYSTEM_CHAIN = "sys"
NOT_KEYED = _(
    "the audit trail is not keyed: anyone who can write the database can rewrite it "
    "unnoticed; create a key with 'santongbu audit keygen --output FILE' and set "
    "SANTONGBU_AUDIT_KEY_FILE"
)

# The columns an event's hash covers, in one place. A column added after the first twelve is
# left out of the hashed form while NULL, so rows written before it existed keep their hash.
HASHED_FIELDS: tuple[str, ...] = (
    "chain",
    "seq",
    "at",
    "actor",
    "actor_unit",
    "document_id",
    "action",
    "outcome",
    "state_before",
    "state_after",
    "details",
    "prev_hash",
    # 0007_trust: who acted through what, and the real instant under a clock override
    # (workflow/kernel/attribution.py); NULL on events written before, which hash as they did.
    "channel",
    "credential",
    "wall_at",
)
_ORIGINAL_FIELDS = frozenset(HASHED_FIELDS[:12])


def chain_for(document_id: int | None) -> str:
    return f"doc:{document_id}" if document_id is not None else SYSTEM_CHAIN


def _canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def event_message(fields: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash is taken over: the hashed columns as canonical JSON."""
    out: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        original = name in _ORIGINAL_FIELDS
        value: Any = fields[name] if original else fields.get(name)
        if value is None and not original:
            continue
        # Instants (``at``, ``wall_at``) as ISO 8601 with microseconds, as they read back.
        out[name] = value.isoformat(timespec="microseconds") if isinstance(value, datetime) else value
    return _canonical(out)


def event_hash(key: Key | None = None, **fields: Any) -> str:
    """The hash of one event: HMAC-SHA256 under ``key``, or SHA-256 when unkeyed."""
    message = event_message(fields)
    return key.mac(message) if key is not None else hashlib.sha256(message).hexdigest()


# ------------------------------------------------------------------ the key of this process
_keyring: Keyring | None = None
_loaded: dict[tuple[str, int], Keyring] = {}


def use_keyring(keyring: Keyring | None) -> Keyring | None:
    """Key every event and checkpoint written from now on in this process with ``keyring``'s
    active key (``None``: unkeyed). Returns the keyring used before, so tests can restore it."""
    global _keyring
    previous, _keyring = _keyring, keyring
    return previous


def current_keyring() -> Keyring | None:
    return _keyring


def load_keyring_cached(path: Path) -> Keyring:
    """The keyring file, read once per (path, modification time): a rotation is picked up."""
    resolved = path.expanduser().resolve()
    try:
        stamp = resolved.stat().st_mtime_ns
    except OSError:
        stamp = -1  # load_keyring says what is wrong
    if (str(resolved), stamp) not in _loaded:
        _loaded[(str(resolved), stamp)] = load_keyring(resolved)
    return _loaded[(str(resolved), stamp)]


def configure(settings: Settings, *, announce: bool = True) -> Keyring | None:
    """Use the keyring that ``settings`` names (``SANTONGBU_AUDIT_KEY_FILE``) in this process
    and, with ``announce``, log whether the trail is keyed (servers and workers do at start).

    Raises :class:`~workflow.kernel.auditkeys.KeyFileError` for a missing or unsafe file: an
    installation meant to key its trail must not quietly run without."""
    keyring = load_keyring_cached(settings.audit_key_file) if settings.audit_key_file else None
    use_keyring(keyring)
    if announce:
        log_keyed_status()
    return keyring


def log_keyed_status() -> None:
    """Log whether new events are keyed: a warning when not (start-up of servers and workers)."""
    if _keyring is None:
        log.warning(NOT_KEYED)
    else:
        log.info("audit trail keyed with key %s", _keyring.active.key_id)


def keyed_status(keyring: Keyring | None = None) -> dict[str, Any]:
    """Whether new events are keyed, and with which key (for /health and verify)."""
    keyring = keyring if keyring is not None else _keyring
    if keyring is None:
        return {"keyed": False, "key_id": None, "detail": NOT_KEYED}
    return {
        "keyed": True,
        "key_id": keyring.active.key_id,
        "detail": f"keyed with key {keyring.active.key_id}",
    }


def active_key() -> Key | None:
    """The key new events and checkpoints are keyed with in this process (``None``: unkeyed)."""
    return _keyring.active if _keyring is not None else None
