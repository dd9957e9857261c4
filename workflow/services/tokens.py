"""Per-user API tokens: created and revoked by administrators, presented as ``Bearer`` tokens.

A token is ``stb_`` followed by 43 URL-safe characters (256 random bits). It is shown once,
when it is created; the database keeps its SHA-256 digest (see :mod:`workflow.kernel.models.tokens`
for why a fast digest is the right hash here) and a short prefix to tell tokens apart. Tokens
never appear in the audit trail, in logs or in any listing: only their id and prefix do.

Creating and revoking are administration (docs/design.md §7): refused for anyone else, and
the refusal is audited like every other one. The HTTP API turns a presented token into a
:class:`Caller` here (:meth:`Tokens.authenticate`); the CLI's ``token`` commands create and
revoke them through the same service.

A token may expire (``expires_at``, ``token create --expires 90d``); it records when it was last
presented (to the minute, so a busy client does not write on every request). Deactivating a
user revokes their tokens for good (:func:`workflow.services.sessions.revoke_user_tokens`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from states import permissions
from states.i18n import _
from states.reasons import Reason
from states.snapshot import ActorSnapshot
from states.text import text_problem
from workflow.kernel import audit, bursts
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import Denied, InvalidInput, NotFound
from workflow.kernel.models import Unit, User
from workflow.kernel.models.directory import role_set
from workflow.kernel.models.tokens import ApiToken
from workflow.kernel.settings import Settings, get_settings
from workflow.services import authz
from workflow.services.authz import Principal
from workflow.services.directory import CODE
from workflow.services.throttle import Throttle, TooManyAttempts

TOKEN_PREFIX = "stb_"
TOKEN_BYTES = 32
SHOWN_PREFIX = 12  # "stb_" and 8 characters: enough to tell tokens apart, useless to an attacker
MAX_TOKEN_LENGTH = 200  # anything longer is not one of ours; refused before hashing
TOUCH_EVERY = timedelta(seconds=60)
MAX_LIFETIME = timedelta(days=3650)
_DURATION = re.compile(r"^\s*([0-9]{1,5})\s*([hdw])\s*$")


def parse_lifetime(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w`` as a :class:`timedelta`; :class:`InvalidInput` otherwise."""
    found = _DURATION.match(text or "")
    if not found:
        raise InvalidInput(
            Reason(
                "invalid", {"field": "expires", "problem": _("a number of hours, days or weeks, e.g. 90d")}
            )
        )
    number, unit = int(found.group(1)), found.group(2)
    lifetime = {"h": timedelta(hours=number), "d": timedelta(days=number), "w": timedelta(weeks=number)}[unit]
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise InvalidInput(
            Reason("invalid", {"field": "expires", "problem": _("between 1 hour and 10 years")})
        )
    return lifetime


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's user as the permission rules see them."""

    login: str
    name: str
    unit: str
    token_id: int
    actor: ActorSnapshot
    user_id: int = 0

    @property
    def principal(self) -> Principal:
        """The caller as the services take an authenticated user (they do not look it up again)."""
        return Principal(self.user_id, self.actor)

    @property
    def roles(self) -> list[str]:
        return sorted(self.actor.roles)


def token_view(token: ApiToken, login: str, now: datetime | None = None) -> dict[str, Any]:
    """A token as listings show it: never the secret, never its digest."""
    expired = token.expires_at is not None and now is not None and token.expires_at <= now
    return {
        "id": token.id,
        "login": login,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "created_by": token.created_by,
        "revoked_at": token.revoked_at,
        "revoked_by": token.revoked_by,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "active": token.revoked_at is None and not expired,
    }


class Tokens:
    """Create, list, revoke and check API tokens."""

    def __init__(self, db: Database, clock: Clock, settings: Settings | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings or get_settings()
        self.throttle = Throttle(db, clock, self.settings)
        # Same pool, connections handed out in autocommit (PostgreSQL only; see authenticate).
        self._autocommit = db.engine.execution_options(isolation_level="AUTOCOMMIT")

    # ------------------------------------------------------------------ administration
    def _admin(self, session: Session, login: str) -> ActorSnapshot:
        return authz.require(session, login, permissions.may_administer)[1]

    def _refuse(self, denied: Denied, action: str, details: Mapping[str, Any]) -> None:
        audit.record_refusal(
            self.db,
            at=self.clock.now(),
            actor=denied.actor,
            action=action,
            reasons=denied.error.reasons,
            details=details,
        )

    def create(
        self, admin: str, login: str, name: str | None = None, lifetime: timedelta | None = None
    ) -> tuple[str, dict[str, Any]]:
        """A new token for ``login``, valid for ``lifetime`` (``None``: until revoked); returns
        the secret (to show once) and the token's view."""
        if lifetime is not None and not timedelta(0) < lifetime <= MAX_LIFETIME:
            raise InvalidInput(
                Reason("invalid", {"field": "expires", "problem": _("between 1 hour and 10 years")})
            )
        if not isinstance(login, str) or not CODE.match(login):
            raise InvalidInput(Reason("invalid", {"field": "login", "problem": _("not a login")}))
        label = (name or "").strip() or "api"
        if len(label) > 200 or text_problem(label, one_line=True):
            raise InvalidInput(
                Reason("invalid", {"field": "name", "problem": _("one line of at most 200 characters")})
            )
        secret = new_secret()
        try:
            with self.db.transaction() as session:
                actor = self._admin(session, admin)
                user = authz.find_user(session, login)
                if user is None:
                    raise NotFound(Reason("no_such_user", {"login": login}))
                if not user.active:
                    raise InvalidInput(Reason("inactive_user", {"login": login}))
                now = self.clock.now()
                token = ApiToken(
                    user_id=user.id,
                    name=label,
                    token_hash=digest(secret),
                    prefix=secret[:SHOWN_PREFIX],
                    created_at=now,
                    created_by=actor.login,
                    expires_at=now + lifetime if lifetime is not None else None,
                )
                session.add(token)
                session.flush()
                audit.append(
                    session,
                    at=now,
                    actor=actor,
                    action="token_created",
                    details={
                        "token_id": token.id,
                        "login": login,
                        "name": label,
                        "prefix": token.prefix,
                        "expires_at": token.expires_at,
                    },
                )
                return secret, token_view(token, login, now)
        except Denied as denied:
            self._refuse(denied, "token_created", {"login": login})
            raise denied.error from None

    def revoke(self, admin: str, token_id: int) -> dict[str, Any]:
        """Revoke a token for good; revoking a revoked token changes nothing and says so."""
        try:
            with self.db.transaction() as session:
                actor = self._admin(session, admin)
                token = session.get(ApiToken, token_id)
                if token is None:
                    raise NotFound(Reason("no_such_token", {"id": token_id}))
                owner = session.get(User, token.user_id)
                if token.revoked_at is None:
                    token.revoked_at = self.clock.now()
                    token.revoked_by = actor.login
                    session.flush()
                    audit.append(
                        session,
                        at=token.revoked_at,
                        actor=actor,
                        action="token_revoked",
                        details={
                            "token_id": token.id,
                            "login": owner.login if owner else None,
                            "prefix": token.prefix,
                        },
                    )
                return token_view(token, owner.login if owner else "", self.clock.now())
        except Denied as denied:
            self._refuse(denied, "token_revoked", {"token_id": token_id})
            raise denied.error from None

    def list(self, who: authz.Who, login: str | None = None) -> list[dict[str, Any]]:
        """Every token (or one user's), newest first; no secrets. An administrator lists any;
        anyone else only their own (``may_list_tokens``); a refusal is audited as ``token_list``."""
        try:
            with self.db.transaction() as session:
                authz.check(session, who, lambda actor: permissions.may_list_tokens(actor, login))
                stmt = select(ApiToken, User.login).join(User, User.id == ApiToken.user_id)
                if login:
                    stmt = stmt.where(User.login == login)
                now = self.clock.now()
                return [
                    token_view(t, owner, now)
                    for t, owner in session.execute(stmt.order_by(ApiToken.id.desc()))
                ]
        except Denied as denied:
            self._refuse(denied, "token_list", {"login": login} if login else {})
            raise denied.error from None

    # ------------------------------------------------------------------ authentication
    def authenticate(self, secret: str) -> Caller | None:
        """The caller a presented token stands for, or ``None`` for an unknown, revoked or
        expired token (:meth:`why_not` says which, for the audit trail).

        Looked up on every request, never cached: a revoked token stops working at once, in
        every server process. On PostgreSQL the look-up is one statement in autocommit (no
        BEGIN/ROLLBACK round trips); SQLite keeps the ordinary transaction, whose BEGIN
        IMMEDIATE the engine issues for every connection use. ``last_used_at`` is written at
        most once a minute per token.
        """
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
            return None
        key = {"digest": digest(secret)}
        now = self.clock.now()
        if self.db.is_sqlite:
            with self.db.transaction() as session:
                row = session.execute(_LOOKUP, key).first()
                if row is not None and _usable(row, now) and _stale(row.last_used_at, now):
                    session.execute(_TOUCH, {**key, "now": now})
        else:
            with self._autocommit.connect() as conn:
                row = conn.execute(_LOOKUP, key).first()
                if row is not None and _usable(row, now) and _stale(row.last_used_at, now):
                    conn.execute(_TOUCH, {**key, "now": now})
        if row is None or not _usable(row, now):
            return None
        roles = role_set(row.roles)
        actor = ActorSnapshot(
            login=row.login,
            unit_id=row.unit_id,
            unit_code=row.code,
            roles=roles,
            active=row.active,
            name=row.name or "",
        )
        return Caller(
            login=row.login, name=row.name, unit=row.code, token_id=row.id, actor=actor, user_id=row.user_id
        )

    def check(self, secret: str, address: str | None) -> Caller | None:
        """:meth:`authenticate`, with failures throttled and audited per client address.

        A presented token that does not authenticate counts against the address
        (``api:addr:<ip>``); once the address must wait, :class:`TooManyAttempts` (HTTP 429)
        answers instead of 401. Failures are audited as one ``token_auth`` event per address
        and window, with a tally of why (malformed, unknown, revoked, expired). A valid token is
        served even from an address that must wait: the secrets have 256 bits, so the throttle
        is there against noise and enumeration, and must not shut out a working client that
        shares an address with a broken one.
        """
        found = self.authenticate(secret)
        if found is not None:
            return found
        why = self.why_not(secret)
        admission = self.throttle.admit(self.throttle.token_keys(address))
        bursts.count(
            self.db,
            key=f"token_auth:{(address or 'unknown')[:64]}",
            action="token_auth",
            at=self.clock.now(),
            window=timedelta(seconds=self.settings.audit_burst_window_seconds),
            tally={"why": why, **({"prefix": secret[:SHOWN_PREFIX]} if why != "malformed" else {})},
        )
        if not admission.allowed:
            raise TooManyAttempts(admission.retry_after)
        return None

    def why_not(self, secret: str) -> str:
        """Why :meth:`authenticate` refused ``secret``: malformed, unknown, revoked or expired."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
            return "malformed"
        with self.db.transaction() as session:
            row = session.execute(
                select(ApiToken.revoked_at, ApiToken.expires_at).where(ApiToken.token_hash == digest(secret))
            ).first()
        if row is None:
            return "unknown"
        return "revoked" if row.revoked_at is not None else "expired"


_LOOKUP = (
    select(
        ApiToken.id,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        ApiToken.user_id,
        User.login,
        User.name,
        User.unit_id,
        User.roles,
        User.active,
        Unit.code,
    )
    .join(User, User.id == ApiToken.user_id)
    .join(Unit, Unit.id == User.unit_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)
_TOUCH = (
    update(ApiToken)
    .where(ApiToken.token_hash == bindparam("digest"))
    .values(last_used_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)
"""Built once: a statement built per request costs its cache key (SQLAlchemy walks it to find
the compiled form) on every request; these are found by identity. The row is still read on
every request (see :meth:`Tokens.authenticate`)."""


def _usable(row: Any, now: datetime) -> bool:
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


def _stale(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at >= TOUCH_EVERY
