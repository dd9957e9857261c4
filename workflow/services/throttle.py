"""Failed authentications, throttled in the database so every process shares one count (ASVS V2.2.1).

A key is what is being guessed at or guessed from: an account (``web:acct:<login>``), a client
address (``web:addr:<ip>``, ``api:addr:<ip>``), or an account from an address where it signed
in before (``web:pair:<login>|<ip>``). Each key has a number of free failures; after that every
further attempt must wait, and the wait doubles with each failure (``throttle_base_delay_seconds``,
2×, 4×, … up to ``throttle_max_delay_seconds``). This is a delay, never a lockout: the right
password is accepted as soon as the wait is over. Failures are forgotten after an hour without
one, and a success clears its account's count.

**Counted before checking.** :meth:`Throttle.admit` counts the attempt as a failure *before* the
password is checked, in one short transaction that holds the keys' rows (``SELECT … FOR UPDATE``
on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` admits one writer). Two processes racing therefore
cannot both check a password on the last free failure; :meth:`Throttle.succeeded` gives the
attempt back when the password was right.

**Strangers cannot lock a user out.** The account key counts failures from every address. An
address where the account signed in successfully in the last 30 days (a ``web:ok:`` row) is
checked against that account-and-address key instead, so a stranger's failures elsewhere do not
delay the user at their own desk. Failures still count against the address, which stops one
address from guessing across many accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from states.reasons import Reason
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import SantongbuError
from workflow.kernel.models.access import AuthThrottle
from workflow.kernel.settings import Settings

T = TypeVar("T")
FORGET_AFTER = timedelta(hours=1)
KNOWN_FOR = timedelta(days=30)
TRIES = 8


class TooManyAttempts(SantongbuError):
    """Refused by the throttle before anything was checked: wait ``retry_after`` seconds."""

    code = "throttled"
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(Reason("throttled", {"seconds": retry_after}))


@dataclass(frozen=True)
class Key:
    """A throttled key and how many failures it gets free; ``resets`` on a success."""

    name: str
    free: int
    resets: bool = True


@dataclass
class Admission:
    """The answer of :meth:`Throttle.admit`: go ahead, or wait ``retry_after`` seconds."""

    allowed: bool
    keys: list[Key] = field(default_factory=list)
    retry_after: int = 0
    blocked_by: str | None = None


def _address(address: str | None) -> str:
    return (address or "unknown")[:64]


class Throttle:
    """Admit or delay authentication attempts by key."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    # ------------------------------------------------------------------ keys
    def sign_in_keys(self, login: str | None, address: str | None) -> list[Key]:
        """The keys of one sign-in attempt: the address always; the account (or the account
        from this address, if it signed in here before) when the login is well formed."""
        s = self.settings
        addr = _address(address)
        keys = [Key(f"web:addr:{addr}", s.throttle_address_failures, resets=False)]
        if login:
            known = self._known(login, addr)
            keys.append(
                Key(f"web:pair:{login}|{addr}" if known else f"web:acct:{login}", s.throttle_account_failures)
            )
        return keys

    def token_keys(self, address: str | None) -> list[Key]:
        return [Key(f"api:addr:{_address(address)}", self.settings.throttle_address_failures, resets=False)]

    def _known(self, login: str, addr: str) -> bool:
        with self.db.transaction() as session:
            seen = session.scalar(
                select(AuthThrottle.last_success_at).where(AuthThrottle.key == f"web:ok:{login}|{addr}")
            )
        return seen is not None and self.clock.now() - seen < KNOWN_FOR

    def delay(self, failures: int, free: int) -> timedelta:
        """The wait after ``failures`` failures of a key with ``free`` free ones."""
        s = self.settings
        seconds = s.throttle_base_delay_seconds * (2 ** min(max(failures - free, 0), 30))
        return timedelta(seconds=min(seconds, s.throttle_max_delay_seconds))

    # ------------------------------------------------------------------ the two steps
    def admit(self, keys: Sequence[Key]) -> Admission:
        """Count this attempt against every key, unless one of them says wait."""
        return self._retrying(lambda session: self._admit(session, list(keys)))

    def _admit(self, session: Session, keys: list[Key]) -> Admission:
        now = self.clock.now()
        rows = self._rows(session, [k.name for k in keys])
        for row in rows.values():
            if row.last_failure_at is not None and now - row.last_failure_at >= FORGET_AFTER:
                row.failures, row.blocked_until = 0, None
        waiting = [
            (row.blocked_until, name)
            for name, row in rows.items()
            if row.blocked_until is not None and row.blocked_until > now
        ]
        if waiting:
            until, name = max(waiting)
            return Admission(False, keys, max(1, int((until - now).total_seconds() + 0.999)), name)
        for key in keys:
            row = rows[key.name]
            row.failures += 1
            row.last_failure_at = now
            if row.failures >= key.free:
                row.blocked_until = now + self.delay(row.failures, key.free)
        return Admission(True, keys)

    def succeeded(
        self, admission: Admission, *, login: str | None = None, address: str | None = None
    ) -> None:
        """Give back the attempt :meth:`admit` counted: clear the account's keys, take one off
        the address's, and remember the address as one this account signs in from."""

        def work(session: Session) -> None:
            now = self.clock.now()
            names = [k.name for k in admission.keys]
            extra = [f"web:ok:{login}|{_address(address)}"] if login else []
            rows = self._rows(session, names + extra)
            for key in admission.keys:
                row = rows[key.name]
                row.failures = 0 if key.resets else max(row.failures - 1, 0)
                if key.resets or row.failures < key.free:
                    row.blocked_until = None
            for name in extra:
                rows[name].last_success_at = now

        self._retrying(work)

    # ------------------------------------------------------------------ plumbing
    def _rows(self, session: Session, names: list[str]) -> dict[str, AuthThrottle]:
        """The rows of ``names``, created if missing and locked, in key order (no deadlock)."""
        names = sorted(set(names))
        maker = sqlite_insert if self.db.is_sqlite else pg_insert
        session.execute(
            maker(AuthThrottle)
            .values([{"key": n, "failures": 0} for n in names])
            .on_conflict_do_nothing(index_elements=["key"])
        )
        stmt = select(AuthThrottle).where(AuthThrottle.key.in_(names)).order_by(AuthThrottle.key)
        if not self.db.is_sqlite:
            stmt = stmt.with_for_update()
        return {row.key: row for row in session.scalars(stmt)}

    def _retrying(self, work: Callable[[Session], T]) -> T:
        for attempt in range(TRIES):
            try:
                with self.db.transaction() as session:
                    return work(session)
            except (IntegrityError, OperationalError):
                if attempt == TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def prune(self) -> int:
        """Forget keys with nothing left to remember: no failure for a day, no success to keep
        (the beat runs this with the audit bursts); how many rows went."""
        now: datetime = self.clock.now()
        with self.db.transaction() as session:
            gone = session.execute(
                delete(AuthThrottle)
                .where(
                    or_(
                        AuthThrottle.last_failure_at.is_(None),
                        AuthThrottle.last_failure_at < now - timedelta(days=1),
                    ),
                    or_(
                        AuthThrottle.last_success_at.is_(None), AuthThrottle.last_success_at < now - KNOWN_FOR
                    ),
                )
                .execution_options(synchronize_session=False)
            )
            return int(getattr(gone, "rowcount", 0) or 0)
