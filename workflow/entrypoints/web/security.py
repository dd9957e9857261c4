"""Session cookies and CSRF tokens for the pages (passwords: :mod:`workflow.services.passwords`).

* **Sessions** are server-side (:mod:`workflow.services.sessions`). The cookie is signed and
  timestamped (``itsdangerous``) and carries only a random session id and the CSRF token; the
  database holds the session (by the id's digest) and ends it at sign-out, on a new password,
  on deactivation or when an administrator says so. The cookie is ``Secure`` (Chromium and
  Firefox accept it on http://127.0.0.1 and localhost too), ``HttpOnly`` and ``SameSite=Lax``.
* **CSRF**: every form carries the session's token; a POST whose token does not match the
  session's (compared in constant time) is refused before anything runs. Anonymous visitors
  get a cookie with a token but no server-side session, so the sign-in form is protected too;
  signing in issues a new session id and token (no session fixation).

The signing key comes from the settings (``SANTONGBU_SECRET_KEY``) or the environment; there is
no default, because a key in the code would let anyone forge a cookie.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from workflow.kernel.settings import Settings

SECRET_ENV = "SANTONGBU_SECRET_KEY"
MIN_SECRET_LENGTH = 32
SESSION_COOKIE = "santongbu_session"
LANG_COOKIE = "santongbu_lang"
SESSION_SALT = "santongbu.web.session.v2"  # v1 cookies (login in the cookie) are not accepted
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
    """What the session cookie says. ``signed_in``: ``sid`` names a server-side session (which
    may have ended since); otherwise the visitor is anonymous and ``sid`` names nothing."""

    sid: str
    csrf: str
    signed_in: bool = False

    def as_dict(self) -> dict[str, str]:
        return {"sid": self.sid, "csrf": self.csrf, "in": "1" if self.signed_in else ""}


def new_session(session_id: str | None = None) -> SessionData:
    """A fresh cookie with a new CSRF token: anonymous, or for the server-side session
    ``session_id`` that a sign-in just started."""
    return SessionData(
        sid=session_id or secrets.token_urlsafe(18),
        csrf=secrets.token_urlsafe(32),
        signed_in=session_id is not None,
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
        sid, csrf, signed_in = (raw.get(k) for k in ("sid", "csrf", "in"))
        if not all(isinstance(v, str) for v in (sid, csrf, signed_in)) or not sid or not csrf:
            return None
        return SessionData(sid=sid, csrf=csrf, signed_in=signed_in == "1")


def csrf_ok(session: SessionData | None, submitted: str | None) -> bool:
    """Constant-time check of a form's token against the session's."""
    if session is None or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())
