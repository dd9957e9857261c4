"""Server-side sessions of the web pages (ASVS V3): started at sign-in, looked up on every
request, ended by sign-out, a new password, deactivation or an administrator.

The cookie carries a random session id (144 bits, :func:`secrets.token_urlsafe`); the table
``web_sessions`` keeps only its SHA-256 digest, so a copy of the database does not hand out
live sessions. A session ends:

* at sign-out (``signed_out``), at once and for good: a copied cookie replayed afterwards is
  anonymous;
* when the user's password is set or cleared (``password``), when the user is deactivated
  (``deactivated``), when an administrator ends them (``ended_by_admin``) — in the same
  transaction as that change;
* after ``session_hours`` from sign-in (absolute), or ``session_idle_minutes`` without a request.

:func:`end_user_sessions` and :func:`revoke_user_tokens` are called inside the caller's
transaction by the services that change a user (accounts, directory).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.models import Unit, User
from workflow.kernel.models.access import WebSession, session_ref
from workflow.kernel.models.tokens import ApiToken
from workflow.kernel.settings import Settings

SESSION_ID_BYTES = 18
MAX_SESSION_ID = 64
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute per session


def session_digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8", "surrogatepass")).hexdigest()


def new_session_id() -> str:
    return secrets.token_urlsafe(SESSION_ID_BYTES)


@dataclass(frozen=True)
class LiveSession:
    """A session that is still valid, and whose user is still active."""

    ref: str
    user_id: int
    login: str
    unit_id: int
    unit_code: str
    unit_name: str
    name: str
    roles: str
    created_at: datetime


def end_user_sessions(session: Session, user_id: int, why: str, at: datetime) -> int:
    """End every live session of ``user_id`` inside the caller's transaction; how many."""
    return _count(
        session.execute(
            update(WebSession)
            .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
            .values(ended_at=at, ended_why=why)
            .execution_options(synchronize_session=False)
        )
    )


def _count(result: Any) -> int:
    return cast("CursorResult[Any]", result).rowcount or 0


def revoke_user_tokens(session: Session, user_id: int, by: str, at: datetime) -> list[int]:
    """Revoke every API token of ``user_id`` inside the caller's transaction; their ids.

    Revocation is for good: reactivating the user later does not revive them."""
    ids = list(
        session.scalars(select(ApiToken.id).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)))
    )
    if ids:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_(ids))
            .values(revoked_at=at, revoked_by=by)
            .execution_options(synchronize_session=False)
        )
    return ids


class Sessions:
    """Start, look up and end web sessions."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    @property
    def lifetime(self) -> timedelta:
        return timedelta(hours=self.settings.session_hours)

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.settings.session_idle_minutes)

    def start(self, session: Session, user_id: int, address: str | None) -> tuple[str, str]:
        """A new session for ``user_id`` inside the caller's transaction: (cookie id, ref)."""
        sid = new_session_id()
        now = self.clock.now()
        row = WebSession(
            id_hash=session_digest(sid),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.lifetime,
            address=(address or "")[:64] or None,
        )
        session.add(row)
        return sid, row.ref

    def live(self, sid: str) -> LiveSession | None:
        """The session behind cookie id ``sid`` if it is live and its user active; else ``None``
        (an idle or expired session is ended on the way)."""
        if not sid or len(sid) > MAX_SESSION_ID:
            return None
        digest = session_digest(sid)
        now = self.clock.now()
        stmt = (
            select(
                WebSession.last_seen_at,
                WebSession.expires_at,
                WebSession.ended_at,
                WebSession.created_at,
                User.id,
                User.login,
                User.name,
                User.roles,
                User.active,
                Unit.id.label("unit_id"),
                Unit.code,
                Unit.name.label("unit_name"),
            )
            .join(User, User.id == WebSession.user_id)
            .join(Unit, Unit.id == User.unit_id)
            .where(WebSession.id_hash == digest)
        )
        with self.db.transaction() as session:
            row = session.execute(stmt).first()
            if row is None or row.ended_at is not None:
                return None
            why = (
                "expired"
                if now >= row.expires_at
                else "idle"
                if now - row.last_seen_at >= self.idle
                else "deactivated"
                if not row.active
                else None
            )
            if why is not None:
                self._end(session, digest, why, now)
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                session.execute(
                    update(WebSession)
                    .where(WebSession.id_hash == digest)
                    .values(last_seen_at=now)
                    .execution_options(synchronize_session=False)
                )
        return LiveSession(
            ref=session_ref(digest),
            user_id=row.id,
            login=row.login,
            unit_id=row.unit_id,
            unit_code=row.code,
            unit_name=row.unit_name,
            name=row.name,
            roles=row.roles,
            created_at=row.created_at,
        )

    def end(self, sid: str, why: str) -> bool:
        """End the session behind cookie id ``sid``; False if it was not live."""
        if not sid or len(sid) > MAX_SESSION_ID:
            return False
        with self.db.transaction() as session:
            return self._end(session, session_digest(sid), why, self.clock.now()) == 1

    @staticmethod
    def _end(session: Session, digest: str, why: str, at: datetime) -> int:
        return _count(
            session.execute(
                update(WebSession)
                .where(WebSession.id_hash == digest, WebSession.ended_at.is_(None))
                .values(ended_at=at, ended_why=why)
                .execution_options(synchronize_session=False)
            )
        )

    def prune(self, keep: timedelta = timedelta(days=90)) -> int:
        """Delete sessions that ended (or expired) more than ``keep`` ago; how many."""
        from sqlalchemy import delete, or_

        cutoff = self.clock.now() - keep
        with self.db.transaction() as session:
            return _count(
                session.execute(
                    delete(WebSession)
                    .where(or_(WebSession.ended_at < cutoff, WebSession.expires_at < cutoff))
                    .execution_options(synchronize_session=False)
                )
            )

    def list_live(self, user_id: int) -> list[WebSession]:
        now = self.clock.now()
        with self.db.transaction() as session:
            return list(
                session.scalars(
                    select(WebSession)
                    .where(
                        WebSession.user_id == user_id,
                        WebSession.ended_at.is_(None),
                        WebSession.expires_at > now,
                    )
                    .order_by(WebSession.created_at)
                )
            )
