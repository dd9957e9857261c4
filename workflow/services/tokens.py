"""Per-user API tokens: created and revoked by administrators, presented as ``Bearer`` tokens.

A token is ``stb_`` followed by 43 URL-safe characters (256 random bits). It is shown once,
when it is created; the database keeps its SHA-256 digest (see :mod:`workflow.kernel.models.tokens`
for why a fast digest is the right hash here) and a short prefix to tell tokens apart. Tokens
never appear in the audit trail, in logs or in any listing: only their id and prefix do.

Creating and revoking are administration (docs/design.md §7): refused for anyone else, and
the refusal is audited like every other one. The HTTP API turns a presented token into a
:class:`Caller` here (:meth:`Tokens.authenticate`); the CLI's ``token`` commands create and
revoke them through the same service.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from states import permissions
from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow.kernel import audit
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import Denied, InvalidInput, NotFound
from workflow.kernel.models import Unit, User
from workflow.kernel.models.tokens import ApiToken
from workflow.services import authz
from workflow.services.directory import CODE

TOKEN_PREFIX = "stb_"
TOKEN_BYTES = 32
SHOWN_PREFIX = 12  # "stb_" and 8 characters: enough to tell tokens apart, useless to an attacker
MAX_TOKEN_LENGTH = 200  # anything longer is not one of ours; refused before hashing


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

    @property
    def roles(self) -> list[str]:
        return sorted(self.actor.roles)


def token_view(token: ApiToken, login: str) -> dict[str, Any]:
    """A token as listings show it: never the secret, never its digest."""
    return {
        "id": token.id,
        "login": login,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "created_by": token.created_by,
        "revoked_at": token.revoked_at,
        "revoked_by": token.revoked_by,
        "active": token.revoked_at is None,
    }


class Tokens:
    """Create, list, revoke and check API tokens."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
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

    def create(self, admin: str, login: str, name: str | None = None) -> tuple[str, dict[str, Any]]:
        """A new token for ``login``; returns the secret (to show once) and the token's view."""
        if not isinstance(login, str) or not CODE.match(login):
            raise InvalidInput(Reason("invalid", {"field": "login", "problem": "not a login"}))
        label = (name or "").strip() or "api"
        if len(label) > 200 or "\n" in label or "\r" in label:
            raise InvalidInput(
                Reason("invalid", {"field": "name", "problem": "one line of at most 200 characters"})
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
                )
                session.add(token)
                session.flush()
                audit.append(
                    session,
                    at=now,
                    actor=actor,
                    action="token_created",
                    details={"token_id": token.id, "login": login, "name": label, "prefix": token.prefix},
                )
                return secret, token_view(token, login)
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
                return token_view(token, owner.login if owner else "")
        except Denied as denied:
            self._refuse(denied, "token_revoked", {"token_id": token_id})
            raise denied.error from None

    def list(self, login: str | None = None) -> list[dict[str, Any]]:
        """Every token (or one user's), newest first; no secrets."""
        with self.db.transaction() as session:
            stmt = select(ApiToken, User.login).join(User, User.id == ApiToken.user_id)
            if login:
                stmt = stmt.where(User.login == login)
            return [token_view(t, who) for t, who in session.execute(stmt.order_by(ApiToken.id.desc()))]

    # ------------------------------------------------------------------ authentication
    def authenticate(self, secret: str) -> Caller | None:
        """The caller a presented token stands for, or ``None`` for an unknown or revoked token.

        Looked up on every request, never cached: a revoked token stops working at once, in
        every server process. On PostgreSQL the look-up is one statement in autocommit (no
        BEGIN/ROLLBACK round trips); SQLite keeps the ordinary transaction, whose BEGIN
        IMMEDIATE the engine issues for every connection use.
        """
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
            return None
        stmt = (
            select(
                ApiToken.id,
                ApiToken.revoked_at,
                User.login,
                User.name,
                User.unit_id,
                User.roles,
                User.active,
                Unit.code,
            )
            .join(User, User.id == ApiToken.user_id)
            .join(Unit, Unit.id == User.unit_id)
            .where(ApiToken.token_hash == digest(secret))
        )
        if self.db.is_sqlite:
            with self.db.transaction() as session:
                row = session.execute(stmt).first()
        else:
            with self._autocommit.connect() as conn:
                row = conn.execute(stmt).first()
        if row is None or row.revoked_at is not None:
            return None
        roles = frozenset(r for r in row.roles.split(",") if r)
        actor = ActorSnapshot(
            login=row.login, unit_id=row.unit_id, unit_code=row.code, roles=roles, active=row.active
        )
        return Caller(login=row.login, name=row.name, unit=row.code, token_id=row.id, actor=actor)
