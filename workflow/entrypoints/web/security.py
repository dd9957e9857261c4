"""Passwords, session cookies and CSRF tokens for the pages.

* **Passwords** are hashed with Argon2id (``argon2-cffi``) at OWASP's recommended cost
  (19 MiB, 2 passes, 1 lane): about 0.1 s on a small server, slow enough for an attacker with
  the table and cheap enough that sign-in cannot be used to tie up the CPU (argon2-cffi's own
  default, 64 MiB × 3 passes × 4 lanes, takes 0.75 s per attempt on two cores). Hashes made
  with other parameters are upgraded at the next sign-in (:meth:`Passwords.needs_rehash`).
* **Sessions** are a signed, timestamped cookie (``itsdangerous``) carrying the login, a random
  session id, the CSRF token and a fingerprint of the password hash: changing a password (or
  clearing it) ends every session signed in with the old one, without a sessions table. The
  cookie is ``Secure`` (Chromium and Firefox accept it on http://127.0.0.1 and localhost too),
  ``HttpOnly`` and ``SameSite=Lax``.
* **CSRF**: every form carries the session's token; a POST whose token does not match the
  session's (compared in constant time) is refused before anything runs. Anonymous visitors
  get a session without a login, so the sign-in form is protected too; signing in issues a
  new session id and token (no session fixation).

The signing key comes from the settings (``SANTONGBU_SECRET_KEY``) or the environment; there is
no default, because a key in the code would let anyone forge a session.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from workflow.kernel.settings import Settings

SECRET_ENV = "SANTONGBU_SECRET_KEY"
MIN_SECRET_LENGTH = 32
SESSION_COOKIE = "santongbu_session"
LANG_COOKIE = "santongbu_lang"
SESSION_SALT = "santongbu.web.session.v1"
DEFAULT_SESSION_SECONDS = 8 * 3600  # one working day; then sign in again
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # argon2 takes any length; a cap stops a megabyte "password"


class SecretKeyMissing(RuntimeError):
    """No usable signing key: the pages refuse to run rather than sign with a guessable one."""


def secret_key(settings: Settings, explicit: str | None = None) -> str:
    """The session signing key: ``explicit`` (tests), else ``settings.secret_key``, else the
    ``SANTONGBU_SECRET_KEY`` environment variable. Raises :class:`SecretKeyMissing` with the fix."""
    value: Any = explicit
    if value is None:
        value = getattr(settings, "secret_key", None)
    if value is not None and hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if not value:
        value = os.environ.get(SECRET_ENV)
    if not value or len(str(value)) < MIN_SECRET_LENGTH:
        raise SecretKeyMissing(
            f"the web pages need a secret key of at least {MIN_SECRET_LENGTH} characters to sign "
            f"session cookies: set {SECRET_ENV}, e.g. "
            f"export {SECRET_ENV}=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')")
    return str(value)


ARGON2 = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}


class Passwords:
    """Argon2id hashing and checking; never logs or returns a password."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher(**ARGON2)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True if ``password`` matches ``stored``; a missing or malformed hash never matches.

        Without a stored hash a dummy hash is still verified, so the time taken does not tell
        an attacker whether the login exists or has a password.
        """
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        try:
            return self._hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True


_DUMMY_HASH = PasswordHasher(**ARGON2).hash(secrets.token_urlsafe(16))


def password_problem(login: str, password: str) -> str | None:
    """Why ``password`` is not acceptable for ``login`` (English, for the CLI), or ``None``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"at most {MAX_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "no spaces at the start or end"
    if login.lower() in password.lower():
        return "must not contain the login"
    return None


def fingerprint(password_hash: str | None) -> str:
    """A short digest of the stored hash: a session is valid only while it still matches."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SessionData:
    """What the session cookie says: ``login`` is ``None`` for an anonymous visitor."""

    sid: str
    csrf: str
    login: str | None = None
    pw: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"sid": self.sid, "csrf": self.csrf, "login": self.login or "", "pw": self.pw}


def new_session(login: str | None = None, password_hash: str | None = None) -> SessionData:
    """A fresh session: new id and CSRF token (used on first visit and on every sign-in)."""
    return SessionData(sid=secrets.token_urlsafe(18), csrf=secrets.token_urlsafe(32), login=login,
                       pw=fingerprint(password_hash) if login else "")


class SessionCodec:
    """Signs and checks session cookies; a cookie older than ``max_age`` is not accepted."""

    def __init__(self, key: str, max_age: int = DEFAULT_SESSION_SECONDS) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt=SESSION_SALT)
        self.max_age = max_age

    def dumps(self, data: SessionData) -> str:
        return str(self._serializer.dumps(data.as_dict()))

    def loads(self, cookie: str | None) -> SessionData | None:
        """The session in a cookie, or ``None`` if absent, forged, malformed or expired."""
        if not cookie or len(cookie) > 4096:
            return None
        try:
            raw = self._serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # includes SignatureExpired
            return None
        if not isinstance(raw, dict):
            return None
        sid, csrf, login, pw = (raw.get(k) for k in ("sid", "csrf", "login", "pw"))
        if not all(isinstance(v, str) for v in (sid, csrf, login, pw)) or not sid or not csrf:
            return None
        return SessionData(sid=sid, csrf=csrf, login=login or None, pw=pw)


def csrf_ok(session: SessionData | None, submitted: str | None) -> bool:
    """Constant-time check of a form's token against the session's."""
    if session is None or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())
