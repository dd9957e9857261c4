"""People's sign-in: checking a password, the session it starts, setting passwords, ending sessions.

API tokens are for systems (:mod:`workflow.services.tokens`); passwords are for people using
the pages (the CLI sets passwords through the same service).

* **Throttled in the database** (:mod:`workflow.services.throttle`), per account and per client
  address, with a delay that doubles; every process shares the count. A malformed login counts
  against its address like any other failure.
* **Sessions live in the database** (:mod:`workflow.services.sessions`): signing in starts one,
  signing out ends it, and a new password, a deactivation or an administrator ends all of a
  user's sessions in the same transaction as the change.
* **Audited.** A sign-in, a sign-out, a password change and a failure against an existing account
  are each one event on the ``sys`` chain (never the password, never its hash), with the client
  address and the session's reference. Failures that name no account (a malformed or unknown
  login) and attempts refused by the throttle are counted per address and written as one event
  per address and window (:mod:`workflow.kernel.bursts`), so a script cannot fill the trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError, OperationalError

from states import permissions
from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow.kernel import audit, bursts
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange, Denied, InvalidInput, NotFound
from workflow.kernel.models.directory import role_set
from workflow.kernel.settings import Settings, get_settings
from workflow.kernel.snapshots import actor_snapshot
from workflow.services import authz
from workflow.services.directory import CODE
from workflow.services.passwords import MAX_PASSWORD_LENGTH, Passwords, password_problem
from workflow.services.sessions import LiveSession, Sessions, end_user_sessions
from workflow.services.throttle import Throttle, TooManyAttempts

__all__ = ["Accounts", "SignedIn", "TooManyAttempts", "WebUser"]


@dataclass(frozen=True)
class WebUser:
    """The person behind a page request, as the permission rules see them."""

    login: str
    name: str
    unit: str
    unit_name: str
    actor: ActorSnapshot
    session_ref: str = ""
    """The session's reference (``ws:`` and a prefix of its digest), for logs and the trail."""

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


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: who, and the new session's id for the cookie (shown nowhere else)."""

    user: WebUser
    session_id: str


def _web_user(live: LiveSession) -> WebUser:
    roles = role_set(live.roles)
    actor = ActorSnapshot(
        login=live.login, unit_id=live.unit_id, unit_code=live.unit_code, roles=roles, active=True
    )
    return WebUser(
        login=live.login,
        name=live.name,
        unit=live.unit_code,
        unit_name=live.unit_name,
        actor=actor,
        session_ref=live.ref,
    )


class Accounts:
    """Sign-in, sessions and passwords over the directory's users."""

    def __init__(self, db: Database, clock: Clock, settings: Settings | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings or get_settings()
        self.passwords = Passwords()
        self.sessions = Sessions(db, clock, self.settings)
        self.throttle = Throttle(db, clock, self.settings)

    # ------------------------------------------------------------------ sessions
    def session_user(self, session_id: str) -> WebUser | None:
        """The active user of a live session, or ``None`` (ended, expired, idle, deactivated)."""
        live = self.sessions.live(session_id)
        return _web_user(live) if live is not None else None

    def prune(self) -> dict[str, int]:
        """Housekeeping the beat runs: old sessions and forgotten throttle keys."""
        return {"sessions": self.sessions.prune(), "throttle_keys": self.throttle.prune()}

    # ------------------------------------------------------------------ sign-in
    def sign_in(self, login: str, password: str, *, address: str | None = None) -> SignedIn | None:
        """A new session if ``password`` is ``login``'s; ``None`` otherwise;
        :class:`TooManyAttempts` while the account or the address must wait.

        The same answer for an unknown login, an inactive user, a user without a password and
        a wrong password, so the page cannot be used to find out who exists.
        """
        login = (login or "").strip()
        wellformed = bool(CODE.match(login)) and len(password) <= MAX_PASSWORD_LENGTH
        admission = self.throttle.admit(self.throttle.sign_in_keys(login if wellformed else None, address))
        if not admission.allowed:
            self._anonymous(address, "throttled", login if wellformed else None)
            raise TooManyAttempts(admission.retry_after)
        if not wellformed:
            self._anonymous(address, "malformed", None)
            return None
        with self.db.transaction() as session:
            user = authz.find_user(session, login)
        stored = user.password_hash if user else None
        ok = self.passwords.verify(stored, password)
        if user is None:
            self._anonymous(address, "unknown login", None)
            return None
        if not ok or not user.active:
            why = "inactive" if not user.active else "wrong password" if stored else "no password set"
            self._audit(
                actor_snapshot(user),
                "sign_in",
                "refused",
                {"via": "web", "why": why, "login": login, "address": address},
            )
            return None
        self.throttle.succeeded(admission, login=login, address=address)
        with self.db.transaction() as session:
            row = authz.find_user(session, login)
            assert row is not None  # users are deactivated, never deleted
            if self.passwords.needs_rehash(row.password_hash or ""):
                row.password_hash = self.passwords.hash(password)
            sid, ref = self.sessions.start(session, row.id, address)
            session.flush()
            audit.append(
                session,
                at=self.clock.now(),
                actor=actor_snapshot(row),
                action="sign_in",
                details={"via": "web", "session": ref, "address": address},
            )
        user_now = self.session_user(sid)
        return SignedIn(user_now, sid) if user_now is not None else None

    def sign_out(self, session_id: str, user: WebUser | None) -> None:
        """End this session at once (a copy of the cookie is worthless afterwards)."""
        ended = self.sessions.end(session_id, "signed_out")
        if user is not None and ended:
            self._audit(user.actor, "sign_out", "allowed", {"session": user.session_ref})

    def form_refused(self, address: str | None, path: str, user: WebUser | None) -> None:
        """A form without this session's CSRF token was refused before anything ran: counted
        per address and written as one ``csrf_refused`` event per window (forged forms come
        by the hundred or not at all)."""
        tally = {"path": path[:64], **({"login": user.login} if user is not None else {})}
        bursts.count(
            self.db,
            key=f"csrf:{(address or 'unknown')[:64]}",
            action="csrf_refused",
            at=self.clock.now(),
            window=timedelta(seconds=self.settings.audit_burst_window_seconds),
            tally=tally,
        )

    def _anonymous(self, address: str | None, why: str, login: str | None) -> None:
        """A failure that names no account (or was throttled): counted per address and window."""
        tally = {"why": why, **({"login": login} if login else {})}
        bursts.count(
            self.db,
            key=f"sign_in:{(address or 'unknown')[:64]}",
            action="sign_in",
            at=self.clock.now(),
            window=timedelta(seconds=self.settings.audit_burst_window_seconds),
            tally=tally,
        )

    def _audit(
        self, actor: ActorSnapshot | None, action: str, outcome: str, details: dict[str, object]
    ) -> None:
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

    # ------------------------------------------------------------------ administration
    def _admin(self, acting: str, action: str, login: str) -> ActorSnapshot:
        try:
            with self.db.transaction() as session:
                return authz.require(session, acting, permissions.may_administer)[1]
        except Denied as denied:
            reasons = denied.error.reasons
            self._audit(
                denied.actor,
                action,
                "refused",
                {"login": login, "reasons": ", ".join(r.code for r in reasons)},
            )
            raise denied.error from None

    def set_password(self, acting: str, login: str, password: str | None) -> None:
        """Set (or, with ``None``, clear) ``login``'s password; administrators only (docs/design.md §7).

        Audited as ``password_set`` / ``password_cleared``; a refusal is audited too. The user's
        web sessions end in the same transaction.
        """
        if password is not None:
            problem = password_problem(login, password)
            if problem:
                raise InvalidInput(Reason("invalid", {"field": "password", "problem": problem}))
        action = "password_set" if password is not None else "password_cleared"
        actor = self._admin(acting, action, login)
        hashed = self.passwords.hash(password) if password is not None else None
        with self.db.transaction() as session:
            user = authz.find_user(session, login)
            if user is None:
                raise NotFound(Reason("no_such_user", {"login": login}))
            user.password_hash = hashed
            now = self.clock.now()
            ended = end_user_sessions(session, user.id, "password", now)
            session.flush()
            audit.append(
                session, at=now, actor=actor, action=action, details={"login": login, "sessions_ended": ended}
            )

    def end_sessions(self, acting: str, login: str) -> int:
        """An administrator signs ``login`` out everywhere, at once; how many sessions ended."""
        actor = self._admin(acting, "sessions_ended", login)
        with self.db.transaction() as session:
            user = authz.find_user(session, login)
            if user is None:
                raise NotFound(Reason("no_such_user", {"login": login}))
            now = self.clock.now()
            ended = end_user_sessions(session, user.id, "ended_by_admin", now)
            audit.append(
                session,
                at=now,
                actor=actor,
                action="sessions_ended",
                details={"login": login, "count": ended},
            )
        return ended
