"""Loading a schedule file on behalf of a user: the one entry point the CLI and the HTTP API share.

Resolves the acting user, lets :func:`load_year` do the work in one transaction, and records a
refusal (not an administrator) in a transaction of its own, since the refused one rolls back.
"""
from __future__ import annotations

from sqlalchemy import select

from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange, Forbidden, NotFound
from workflow.kernel.models import User
from workflow.kernel.settings import Settings
from workflow.kernel.snapshots import actor_snapshot
from states.permissions import may_administer
from states.reasons import Reason
from states.snapshot import ActorSnapshot

from workflow.kernel.calendar.fileformat import parse_schedule
from workflow.kernel.calendar.store import LoadResult, load_year, record_refusal

ATTEMPTS = 3


class _Refused(Exception):
    def __init__(self, actor: ActorSnapshot, error: Forbidden) -> None:
        self.actor, self.error = actor, error


def load_schedule_file(
    db: Database, clock: Clock, settings: Settings, *, login: str, data: bytes, name: str,
) -> LoadResult:
    """Validate ``data`` (the file named ``name``) and load it as ``login``; all or nothing.

    Raises :class:`NotFound` for an unknown login, :class:`Forbidden` (after auditing the
    refusal) for a non-administrator and :class:`~workflow.kernel.errors.InvalidInput` for a bad file.
    A load that races another audit append on the same chain is retried from scratch.
    """
    for attempt in range(ATTEMPTS):
        try:
            with db.transaction() as session:
                user = session.scalars(select(User).where(User.login == login)).first()
                if user is None:
                    raise NotFound(Reason("no_such_user", {"login": login}))
                actor = actor_snapshot(user)
                denied = may_administer(actor)
                if denied:  # before reading the file: a refusal is a refusal, whatever the file
                    raise _Refused(actor, Forbidden(denied))
                schedule = parse_schedule(data, name=name)
                return load_year(session, schedule, actor=actor, at=clock.now(), settings=settings)
        except _Refused as refused:
            with db.transaction() as session:
                record_refusal(session, actor=refused.actor, at=clock.now(),
                               reasons=refused.error.reasons, file=name)
            raise refused.error from None
        except ConcurrentChange:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
