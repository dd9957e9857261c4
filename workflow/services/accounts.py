"""People's sign-in: checking a password, setting one, and who is signed in.

API tokens are for systems (:mod:`workflow.services.tokens`); passwords are for people using
the pages, which hold one of these (the CLI sets passwords through the same service).
Every sign-in, failed sign-in and password change is an audit event on the ``sys`` chain
(never the password, never its hash). Repeated failures for one login are throttled in
memory, by the injected clock: after :data:`MAX_FAILURES` failures within
:data:`FAILURE_WINDOW`, sign-in for that login is refused until the window has passed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError, OperationalError

from states import permissions
from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow.kernel import audit
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange, Denied, InvalidInput, NotFound
from workflow.kernel.snapshots import actor_snapshot
from workflow.services import authz
from workflow.services.directory import CODE
from workflow.services.passwords import MAX_PASSWORD_LENGTH, Passwords, fingerprint, password_problem

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class WebUser:
    """The person behind a page request, as the permission rules see them."""

    login: str
    name: str
    unit: str
    unit_name: str
    actor: ActorSnapshot
    password_fingerprint: str

    @property
    def roles(self) -> frozenset[str]:
        return self.actor.roles

    @property
    def may_audit(self) -> bool:
        """Supervisors, auditors, leaders and administrators see the dashboard and reports."""
        return not permissions.may_audit(self.actor)

    @property
    def is_signer(self) -> bool:
        return bool(self.actor.roles & {"signer", "leader"})

    @property
    def may_administer(self) -> bool:
        """Administrators see the forms that change units (the service checks again)."""
        return not permissions.may_administer(self.actor)


class Throttle:
    """Failed sign-ins per login within a sliding window (in memory, per process)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, login: str, now: datetime) -> list[datetime]:
        kept = [t for t in self._failures.get(login, []) if now - t < FAILURE_WINDOW]
        if kept:
            self._failures[login] = kept
        else:
            self._failures.pop(login, None)
        return kept

    def blocked(self, login: str) -> bool:
        with self._lock:
            return len(self._recent(login, self.clock.now())) >= MAX_FAILURES

    def failed(self, login: str) -> None:
        with self._lock:
            now = self.clock.now()
            self._failures[login] = [*self._recent(login, now), now]

    def succeeded(self, login: str) -> None:
        with self._lock:
            self._failures.pop(login, None)


class Accounts:
    """Sign-in and passwords over the directory's users."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.passwords = Passwords()
        self.throttle = Throttle(clock)

    # ------------------------------------------------------------------ lookups
    def user(self, login: str) -> WebUser | None:
        """The active user ``login`` as a :class:`WebUser`, or ``None``."""
        if not CODE.match(login or ""):
            return None
        with self.db.transaction() as session:
            user = authz.find_user(session, login)
            if user is None or not user.active:
                return None
            return WebUser(
                login=user.login,
                name=user.name,
                unit=user.unit.code,
                unit_name=user.unit.name,
                actor=actor_snapshot(user),
                password_fingerprint=fingerprint(user.password_hash),
            )

    # ------------------------------------------------------------------ sign-in
    def sign_in(self, login: str, password: str) -> tuple[WebUser, str] | None:
        """The user and their stored hash if ``password`` is theirs; ``None`` otherwise.

        The same answer for an unknown login, an inactive user, a user without a password and
        a wrong password, so the page cannot be used to find out who exists.
        """
        login = (login or "").strip()
        if not CODE.match(login) or len(password) > MAX_PASSWORD_LENGTH:
            self._audit_sign_in(None, "refused", {"why": "malformed"})
            return None
        if self.throttle.blocked(login):
            self._audit_sign_in(self._actor(login), "refused", {"why": "throttled", "login": login})
            return None
        with self.db.transaction() as session:
            user = authz.find_user(session, login)
        stored = user.password_hash if user else None
        ok = self.passwords.verify(stored, password)
        if not ok or user is None or not user.active:
            self.throttle.failed(login)
            why = (
                "wrong password"
                if user is not None and user.active and stored
                else "inactive"
                if user is not None and not user.active
                else "no password set"
                if user is not None
                else "unknown login"
            )
            actor = actor_snapshot(user) if user is not None else None
            self._audit_sign_in(
                actor, "refused", {"why": why, **({"login": login} if user is not None else {})}
            )
            return None
        self.throttle.succeeded(login)
        assert stored is not None
        if self.passwords.needs_rehash(stored):
            stored = self._store(login, self.passwords.hash(password))
        self._audit_sign_in(actor_snapshot(user), "allowed", {})
        web_user = self.user(login)
        return (web_user, stored) if web_user is not None else None

    def sign_out(self, user: WebUser) -> None:
        self._audit(user.actor, "sign_out", "allowed", {})

    def _actor(self, login: str) -> ActorSnapshot | None:
        with self.db.transaction() as session:
            user = authz.find_user(session, login)
            return actor_snapshot(user) if user is not None else None

    def _audit_sign_in(self, actor: ActorSnapshot | None, outcome: str, details: dict[str, str]) -> None:
        self._audit(actor, "sign_in", outcome, {"via": "web", **details})

    def _audit(self, actor: ActorSnapshot | None, action: str, outcome: str, details: dict[str, str]) -> None:
        for attempt in range(5):
            try:
                with self.db.transaction() as session:
                    audit.append(
                        session,
                        at=self.clock.now(),
                        actor=actor,
                        action=action,
                        outcome=outcome,
                        details=details,
                    )
                return
            except (ConcurrentChange, IntegrityError, OperationalError):
                if attempt == 4:
                    raise

    def _store(self, login: str, password_hash: str | None) -> str | None:
        with self.db.transaction() as session:
            user = authz.find_user(session, login)
            assert user is not None  # signed in a moment ago; users are deactivated, never deleted
            user.password_hash = password_hash
        return password_hash

    # ------------------------------------------------------------------ administration
    def set_password(self, acting: str, login: str, password: str | None) -> None:
        """Set (or, with ``None``, clear) ``login``'s password; administrators only (docs/design.md §7).

        Audited as ``password_set`` / ``password_cleared``; a refusal is audited too. Setting
        a password ends the user's existing web sessions (their fingerprint no longer matches).
        """
        if password is not None:
            problem = password_problem(login, password)
            if problem:
                raise InvalidInput(Reason("invalid", {"field": "password", "problem": problem}))
        action = "password_set" if password is not None else "password_cleared"
        try:
            with self.db.transaction() as session:
                _, actor = authz.require(session, acting, permissions.may_administer)
        except Denied as denied:
            reasons = denied.error.reasons
            self._audit(
                denied.actor,
                action,
                "refused",
                {"login": login, "reasons": ", ".join(r.code for r in reasons)},
            )
            raise denied.error from None
        hashed = self.passwords.hash(password) if password is not None else None
        with self.db.transaction() as session:
            user = authz.find_user(session, login)
            if user is None:
                raise NotFound(Reason("no_such_user", {"login": login}))
            user.password_hash = hashed
            session.flush()
            audit.append(session, at=self.clock.now(), actor=actor, action=action, details={"login": login})
