"""Who is emailed, resolved from the directory (units and users) at the moment of the change.

Every resolver returns :class:`Recipient` objects; inactive users and empty or invalid addresses
are skipped (and reported, so the audit trail can say who could not be reached), and the same
address never appears twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.addresses import clean_text, is_valid_address, validate_address
from workflow.kernel.models import Document, Unit, User

T = TypeVar("T")


@dataclass(frozen=True)
class Recipient:
    """A display name and a validated address."""

    name: str
    address: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address}


@dataclass
class Resolved:
    """To and Cc lists after de-duplication, plus who was skipped and why."""

    to: list[Recipient] = field(default_factory=list)
    cc: list[Recipient] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.to and not self.cc


class _Collector:
    """Accumulates candidates, validating and de-duplicating addresses (case-insensitively)."""

    def __init__(self) -> None:
        self.items: list[Recipient] = []
        self.skipped: list[str] = []
        self._seen: set[str] = set()

    def add(self, name: str | None, address: str | None, who: str) -> None:
        if not address or not address.strip():
            self.skipped.append(f"{who}: no address")
            return
        if not is_valid_address(address):
            self.skipped.append(f"{who}: invalid address")
            return
        normalised = validate_address(address)  # memoised: the check above did the work
        key = normalised.lower()
        if key in self._seen:
            return
        self._seen.add(key)
        self.items.append(Recipient(clean_text(name, limit=200), normalised))

    def add_user(self, user: User | None, who: str) -> None:
        if user is None:
            self.skipped.append(f"{who}: no such user")
        elif not user.active:
            self.skipped.append(f"{who} {user.login}: inactive")
        else:
            self.add(user.name, user.email, f"{who} {user.login}")

    def add_unit(self, unit: Unit | None, who: str) -> None:
        if unit is not None:
            self.add(unit.name, unit.mailbox, f"{who} {unit.code}")


_MEMO = "santongbu.recipients"


def _memo(session: Session, key: tuple[object, ...], load: Callable[[], T]) -> T:
    """A directory look-up, done once per transaction.

    A sweep batch emails the same supervisors, leaders and unit heads for document after
    document, and the session's identity map holds rows only weakly, so every repeat was another
    query (benchmarked: 7 of the ~21 statements per escalated document). The memo lives as long
    as the session's current root transaction — nothing that enqueues emails changes the
    directory in the same transaction — and a new transaction starts with an empty one.
    """
    txn = session.get_transaction()
    found = session.info.get(_MEMO)
    if found is None or found[0] is not txn:
        found = session.info[_MEMO] = (txn, {})
    cache: dict[tuple[object, ...], Any] = found[1]
    if key not in cache:
        cache[key] = load()
    return cache[key]


def known_users(session: Session, users: Iterable[User]) -> None:
    """Users this transaction has read already (a document command's one read): a look-up by
    login of one of them (:func:`head_of`) is answered from here, not by another query."""
    for user in users:
        _memo(session, ("login", user.login), lambda user=user: user)  # type: ignore[misc]


def unit_of(session: Session, document: Document) -> Unit | None:
    return _memo(session, ("unit", document.unit_id), lambda: session.get(Unit, document.unit_id))


def head_of(session: Session, unit: Unit | None) -> User | None:
    """The unit head: the user whose login is ``unit.head_login``."""
    if unit is None or not unit.head_login:
        return None
    login = unit.head_login
    return _memo(
        session, ("login", login), lambda: session.scalars(select(User).where(User.login == login)).first()
    )


def unit_mailbox(session: Session, document: Document) -> list[Recipient]:
    """The drafting unit's shared mailbox."""
    return _group(session, document, "unit", [])


def unit_head(session: Session, document: Document) -> list[Recipient]:
    """The drafting unit's head (the user named by ``head_login``)."""
    return _group(session, document, "head", [])


def interpreter(session: Session, document: Document) -> list[Recipient]:
    """The interpreter named on the document (谁起草谁解读)."""
    return _group(session, document, "interpreter", [])


def signers(session: Session, document: Document) -> list[Recipient]:
    """Everyone named to sign the package."""
    return _group(session, document, "signers", [])


def units_of_kind(session: Session, kind: str) -> list[Unit]:
    """Every unit of ``kind`` (supervising, leadership), by code; once per transaction."""
    return _memo(
        session,
        ("kind", kind),
        lambda: list(session.scalars(select(Unit).where(Unit.kind == kind).order_by(Unit.code))),
    )


def _users_with_role(session: Session, role: str) -> list[User]:
    def load() -> list[User]:
        users = session.scalars(select(User).where(User.roles.contains(role)).order_by(User.login))
        return [u for u in users if role in u.role_set]

    return _memo(session, ("role", role), load)


def supervisors(session: Session, c: _Collector | None = None) -> list[Recipient]:
    """Mailboxes and heads of supervising units (政法处, 信息公开办), then users with the
    ``supervisor`` role, who by docs/design.md §7 receive escalations too."""
    c = c or _Collector()
    for unit in units_of_kind(session, "supervising"):
        c.add_unit(unit, "supervising unit")
        if unit.head_login:
            c.add_user(head_of(session, unit), "head")
    for user in _users_with_role(session, "supervisor"):
        c.add_user(user, "supervisor")
    return c.items


def leadership(session: Session, c: _Collector | None = None) -> list[Recipient]:
    """Mailboxes and heads of leadership units, then users with the ``leader`` role."""
    c = c or _Collector()
    for unit in units_of_kind(session, "leadership"):
        c.add_unit(unit, "leadership unit")
        if unit.head_login:
            c.add_user(head_of(session, unit), "head")
    for user in _users_with_role(session, "leader"):
        c.add_user(user, "leader")
    return c.items


# Which groups are emailed for which event, as (to, cc). docs/design.md §4 and the notifications issue.
ROUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "signoff_requested": (("signers",), ()),
    "rejected": (("unit", "interpreter", "head"), ()),
    "published": (("unit", "interpreter"), ()),
    "reminder": (("unit", "interpreter"), ()),
    "overdue": (("unit", "head"), ("supervisors",)),
    "escalated": (("supervisors",), ("unit", "head")),
    "escalated_high": (("leadership",), ("supervisors",)),
    "posted_late": (("unit", "head"), ("supervisors",)),
    # A posting's page unreachable or mismatched for a day (docs/evidence.md): the drafting unit.
    "evidence_problem": (("unit", "interpreter"), ()),
}


def _group(session: Session, document: Document, name: str, skipped: list[str]) -> list[Recipient]:
    # The groups that do not depend on the document itself are resolved once per transaction
    # (a sweep batch emails the same supervisors for hundreds of documents).
    key: tuple[object, ...] | None = (
        ("group", name)
        if name in ("supervisors", "leadership")
        else ("group", name, document.unit_id)
        if name in ("unit", "head")
        else None
    )
    if key is None:
        items, missed = _collect(session, document, name)
    else:
        items, missed = _memo(session, key, lambda: _collect(session, document, name))
    skipped.extend(missed)
    return list(items)


def _collect(session: Session, document: Document, name: str) -> tuple[list[Recipient], list[str]]:
    c = _Collector()
    if name == "unit":
        c.add_unit(unit_of(session, document), "unit")
    elif name == "head":
        unit = unit_of(session, document)
        if unit is not None and unit.head_login:
            c.add_user(head_of(session, unit), "head")
    elif name == "interpreter":
        if document.interpreter_id is not None:
            c.add_user(session.get(User, document.interpreter_id), "interpreter")
    elif name == "signers":
        for s in document.signers:
            c.add_user(session.get(User, s.user_id), "signer")
    elif name == "supervisors":
        supervisors(session, c)
    elif name == "leadership":
        leadership(session, c)
    else:  # a programming error, not user input
        raise ValueError(f"unknown recipient group {name!r}")
    return c.items, c.skipped


def _dedupe(items: Iterable[Recipient], taken: set[str]) -> list[Recipient]:
    out: list[Recipient] = []
    for r in items:
        key = r.address.lower()
        if key not in taken:
            taken.add(key)
            out.append(r)
    return out


def resolve(session: Session, document: Document, event: str) -> Resolved:
    """To and Cc for ``event``; an address already in To is not repeated in Cc."""
    if event not in ROUTES:
        raise ValueError(f"unknown notification event {event!r}")
    to_groups, cc_groups = ROUTES[event]
    result = Resolved()
    taken: set[str] = set()
    for g in to_groups:
        result.to.extend(_dedupe(_group(session, document, g, result.skipped), taken))
    for g in cc_groups:
        result.cc.extend(_dedupe(_group(session, document, g, result.skipped), taken))
    if not result.to and result.cc:  # never send a message with only copies
        result.to, result.cc = result.cc, []
    return result
