"""Who is acting, and may they: the one way every application service authorises its actor.

Each service resolves the login it was handed into a :class:`User` row and its
:class:`~states.snapshot.ActorSnapshot` here, then asks a pure rule from
:mod:`states.permissions`. A refusal leaves the transaction as :class:`Denied`, carrying who
was refused, so the caller can roll back and audit the refusal in a transaction of its own
(docs/design.md §7). Keeping the lookup in one place means one rule for inactive users,
unknown logins and the engine's own identity, whichever interface the request came through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow.kernel.errors import Denied, Forbidden, NotFound
from workflow.kernel.models import User
from workflow.kernel.snapshots import actor_snapshot

Rule = Callable[[ActorSnapshot], list[Reason]]


@dataclass(frozen=True)
class Principal:
    """A user an interface has authenticated already (the API's token look-up read the user
    and their unit a moment before): handed to a service in place of a login so that the
    service does not select the user again. The rules still decide here and in
    :mod:`states.permissions`, on ``actor``; a deactivated user is refused by the rules as
    for a login."""

    id: int
    actor: ActorSnapshot

    @property
    def login(self) -> str:
        return self.actor.login


Who = str | Principal
"""Whom a service acts for: a login to look up, or a :class:`Principal`."""


def login_of(who: Who) -> str:
    return who.login if isinstance(who, Principal) else who


def find_user(session: Session, login: str) -> User | None:
    """The user named ``login`` with their unit loaded, or ``None``."""
    return session.scalars(select(User).where(User.login == login).options(joinedload(User.unit))).first()


def actor(session: Session, login: str) -> tuple[User, ActorSnapshot]:
    """The acting user and their snapshot; :class:`NotFound` for an unknown login."""
    user = find_user(session, login)
    if user is None:
        raise NotFound(Reason("no_such_user", {"login": login}))
    return user, actor_snapshot(user)


def require(session: Session, login: str, rule: Rule) -> tuple[User, ActorSnapshot]:
    """The acting user, if ``rule`` lets them act; else :class:`Denied` (to be audited)."""
    user, snap = actor(session, login)
    denied = rule(snap)
    if denied:
        raise Denied(snap, Forbidden(denied))
    return user, snap


def check(session: Session, who: Who, rule: Rule) -> ActorSnapshot:
    """Like :func:`require` for a read that needs no :class:`User` row: the snapshot of ``who``
    (a login looked up, or a :class:`Principal` as given) if ``rule`` lets them; else
    :class:`Denied` (to be audited). An unknown login is :class:`NotFound`."""
    snap = who.actor if isinstance(who, Principal) else actor(session, who)[1]
    denied = rule(snap)
    if denied:
        raise Denied(snap, Forbidden(denied))
    return snap
