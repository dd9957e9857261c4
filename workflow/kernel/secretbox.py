"""Credentials kept in the database, encrypted at rest: the units' group-robot webhook URLs (a
WeCom webhook's ``key`` and a DingTalk webhook's ``access_token`` are what lets anyone post to
the group) and DingTalk signing secrets.

The key is a Fernet key (AES-128-CBC with HMAC-SHA256, from ``cryptography``) in the file
``SANTONGBU_SECRETS_KEY_FILE``, one line, made with::

    python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'

Like the SMTP password it lives only in the settings' world (a file the operator protects),
never in the database, a log, an audit event or an error. A stored value is ``fernet:`` and
the token; anything else is a value written before encryption (migration 0017 encrypts those
when the key is configured). Without a key no robot can be set and none can be told anything:
the error says so in one line.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Connection

from states.i18n import _
from workflow.kernel.settings import Settings

MARK = "fernet:"
NO_KEY = _(
    "robot webhooks and secrets are kept encrypted, and SANTONGBU_SECRETS_KEY_FILE is not set: make a key "
    "with python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' "
    "> FILE and set SANTONGBU_SECRETS_KEY_FILE=FILE (docs/operations.md)"
)


class SecretsKeyError(ValueError):
    """No key, an unreadable key file, or a value this key cannot open; the message is the fix."""


class SecretBox:
    """Encrypts and decrypts the stored credentials with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def __repr__(self) -> str:
        return "SecretBox(***)"

    def seal(self, plain: str) -> str:
        return MARK + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The plain value; one written before encryption is returned as it is."""
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(MARK) :].encode()).decode()
        except InvalidToken:
            raise SecretsKeyError(
                _(
                    "a stored robot credential does not open with the key in SANTONGBU_SECRETS_KEY_FILE "
                    "(was the key replaced? set the robot again with santongbu unit set)"
                )
            ) from None


def is_sealed(stored: str | None) -> bool:
    return bool(stored) and str(stored).startswith(MARK)


def read_key(path: Path) -> SecretBox:
    """The box for the key in ``path``; :class:`SecretsKeyError` saying what is wrong."""
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretsKeyError(
            _("SANTONGBU_SECRETS_KEY_FILE: cannot read {path}: {problem}", path=path, problem=exc)
        ) from None
    try:
        return SecretBox(key.encode())
    except ValueError:
        raise SecretsKeyError(
            _(
                "SANTONGBU_SECRETS_KEY_FILE: {path} does not hold a Fernet key (32 bytes, URL-safe base64)",
                path=path,
            )
        ) from None


def secret_box(settings: Settings) -> SecretBox | None:
    """The box the settings name, or ``None`` when no key is configured."""
    return read_key(settings.secrets_key_file) if settings.secrets_key_file else None


def require(box: SecretBox | None) -> SecretBox:
    if box is None:
        raise SecretsKeyError(NO_KEY)
    return box


def mask(plain: str, keep: int = 4) -> str:
    """The last few characters only, so an administrator can tell which credential is set."""
    return "…" + plain[-keep:] if len(plain) > 2 * keep else "…"


COLUMNS = ("wecom_webhook", "dingtalk_webhook", "dingtalk_secret")


def seal_stored(connection: Connection, box: SecretBox) -> int:
    """Encrypt every robot credential still stored in plain text (migration 0017, and
    ``santongbu unit seal-secrets`` for a key configured after it ran); how many units changed."""
    units = sa.table("units", sa.column("id"), *(sa.column(c) for c in COLUMNS))
    changed = 0
    for row in connection.execute(sa.select(units)).mappings().all():
        plain = {c: row[c] for c in COLUMNS if row[c] and not is_sealed(row[c])}
        if plain:
            sealed = {c: box.seal(v) for c, v in plain.items()}
            connection.execute(sa.update(units).where(units.c.id == row["id"]).values(**sealed))
            changed += 1
    return changed


def plaintext_units(connection: Connection) -> int:
    """How many units still keep a robot credential in plain text."""
    units = sa.table("units", *(sa.column(c) for c in COLUMNS))
    rows = connection.execute(sa.select(units)).all()
    return sum(1 for row in rows if any(v and not is_sealed(v) for v in row))
