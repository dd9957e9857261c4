"""People's passwords: hashing, checking, and what makes one acceptable.

Hashed with Argon2id (``argon2-cffi``) at OWASP's recommended cost (19 MiB, 2 passes, 1 lane):
about 0.1 s on a small server, slow enough for an attacker with the table and cheap enough that
sign-in cannot be used to tie up the CPU (argon2-cffi's own default, 64 MiB × 3 passes × 4
lanes, takes 0.75 s per attempt on two cores). Hashes made with other parameters are upgraded at
the next sign-in (:meth:`Passwords.needs_rehash`). Used by the accounts service; a new password
ends the user's server-side sessions (:mod:`workflow.services.sessions`).
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from states.i18n import _

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # argon2 takes any length; a cap stops a megabyte "password"


def _argon2() -> PasswordHasher:
    """Argon2id at OWASP's second recommended setting (19 MiB, 2 passes, 1 lane)."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class Passwords:
    """Argon2id hashing and checking; never logs or returns a password."""

    def __init__(self) -> None:
        self._hasher = _argon2()

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
            return self._hasher.verify(stored or _dummy_hash(), password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def warm_up(self) -> None:
        """Hash the dummy now, so that the first sign-in with an unknown login takes no longer
        than any other (the pages call this when they are installed)."""
        _dummy_hash()

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True


@cache
def _dummy_hash() -> str:
    """Hashed on first use, not at import: every command of the CLI imports this module."""
    return _argon2().hash(secrets.token_urlsafe(16))


def password_problem(login: str, password: str) -> str | None:
    """Why ``password`` is not acceptable for ``login`` (a catalogue :class:`~states.i18n.Text`,
    English until rendered), or ``None``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("at least {n} characters", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("at most {n} characters", n=MAX_PASSWORD_LENGTH)
    if password.strip() != password:
        return _("no spaces at the start or end")
    if login.lower() in password.lower():
        return _("must not contain the login")
    return None
