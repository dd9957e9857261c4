"""Session cookies and CSRF tokens for the pages (passwords: :mod:`workflow.services.passwords`).

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

import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from workflow.kernel.settings import Settings
from workflow.services.passwords import fingerprint

SECRET_ENV = "SANTONGBU_SECRET_KEY"
MIN_SECRET_LENGTH = 32
SESSION_COOKIE = "santongbu_session"
LANG_COOKIE = "santongbu_lang"
SESSION_SALT = "santongbu.web.session.v1"
DEFAULT_SESSION_SECONDS = 8 * 3600  # one working day; then sign in again


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
            f"export {SECRET_ENV}=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return str(value)


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
    return SessionData(
        sid=secrets.token_urlsafe(18),
        csrf=secrets.token_urlsafe(32),
        login=login,
        pw=fingerprint(password_hash) if login else "",
    )


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
        return SessionData(sid=sid, csrf=csrf, login=login or None, pw=str(pw))


def csrf_ok(session: SessionData | None, submitted: str | None) -> bool:
    """Constant-time check of a form's token against the session's."""
    if session is None or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())
