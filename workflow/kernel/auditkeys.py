"""Keys held outside the database, so that someone who can rewrite the audit tables cannot
also rewrite the evidence that they did.

The keyring file holds the secrets (HMAC for cheap per-event tags, Ed25519 for signatures a
third party can check); the public keyring is what auditors receive. Anchors are signed,
linked checkpoints of every chain head, exported to a folder meant to be write-once or
shipped away: once an anchor has left the machine, rewriting what it covers shows.

The keys and their files live in :mod:`workflow.kernel.audit_keyring`, the anchors in
:mod:`workflow.kernel.audit_anchors`; this module is the one name callers import both from.
"""

from __future__ import annotations

from workflow.kernel.audit_anchors import (
    ANCHOR_NAME,
    Anchor,
    make_anchor,
    read_anchors,
    read_latest_anchor,
    write_anchor,
)
from workflow.kernel.audit_keyring import (
    Key,
    KeyFileError,
    Keyring,
    PublicKey,
    PublicKeyring,
    canonical,
    generate_keyring,
    load_keyring,
    load_public_keyring,
    rotate_keyring,
    write_public_keyring,
)

__all__ = [
    "ANCHOR_NAME",
    "Anchor",
    "Key",
    "KeyFileError",
    "Keyring",
    "PublicKey",
    "PublicKeyring",
    "canonical",
    "generate_keyring",
    "load_keyring",
    "load_public_keyring",
    "make_anchor",
    "read_anchors",
    "read_latest_anchor",
    "rotate_keyring",
    "write_anchor",
    "write_public_keyring",
]
