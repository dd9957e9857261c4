"""Who may do what (docs/design.md §7), as pure functions returning the reasons for a refusal.

Members of the drafting unit edit and advance their own unit's documents; signers sign (or
reject) what they are named on; supervisors, auditors and leaders read everything;
administrators manage units, users and calendars. Everyone else is refused.
"""

from __future__ import annotations

from states.lifecycle import FIRED_BY, SIGNER
from states.reasons import Reason
from states.snapshot import ActorSnapshot, DocumentSnapshot

READ_ALL_ROLES = frozenset({"supervisor", "auditor", "admin", "leader"})


def _inactive(actor: ActorSnapshot) -> list[Reason]:
    return [] if actor.active else [Reason("inactive_user", {"login": actor.login})]


def may_use(actor: ActorSnapshot) -> list[Reason]:
    """Anything at all, such as listing what one may read: active users only."""
    return _inactive(actor)


def is_member(actor: ActorSnapshot, doc: DocumentSnapshot) -> bool:
    return actor.unit_id is not None and actor.unit_id == doc.unit_id


def may_edit(actor: ActorSnapshot, doc: DocumentSnapshot) -> list[Reason]:
    """Create, edit, attach, name signers, record postings: the drafting unit's members."""
    if not actor.active:
        return _inactive(actor)
    if is_member(actor, doc):
        return []
    return [Reason("not_member", {"login": actor.login, "unit": doc.unit_code})]


def may_fire(actor: ActorSnapshot, doc: DocumentSnapshot, trigger: str) -> list[Reason]:
    """Whoever the trigger's transition row names (``by``): the named signers for the
    rejections, the drafting unit for every other trigger."""
    if FIRED_BY.get(trigger) == SIGNER:
        return may_sign(actor, doc)
    return may_edit(actor, doc)


def may_sign(actor: ActorSnapshot, doc: DocumentSnapshot) -> list[Reason]:
    if not actor.active:
        return _inactive(actor)
    if actor.login in doc.signer_logins:
        return []
    return [Reason("not_signer", {"login": actor.login})]


def may_read(actor: ActorSnapshot, doc: DocumentSnapshot) -> list[Reason]:
    if not actor.active:
        return _inactive(actor)
    if is_member(actor, doc) or actor.login in doc.signer_logins or actor.roles & READ_ALL_ROLES:
        return []
    return [Reason("not_reader", {"login": actor.login})]


def may_administer(actor: ActorSnapshot) -> list[Reason]:
    """Units, users, calendars, tokens and the outbox."""
    if not actor.active:
        return _inactive(actor)
    if "admin" in actor.roles or actor.is_system:
        return []
    return [Reason("not_admin", {"login": actor.login})]


def may_list_units(actor: ActorSnapshot) -> list[Reason]:
    """The list of units: anyone active (a clerk needs the unit codes)."""
    return _inactive(actor)


def may_list_users(actor: ActorSnapshot) -> list[Reason]:
    """The list of users, with their addresses: as for trail-wide reads (:func:`may_audit`)."""
    return may_audit(actor)


def may_list_tokens(actor: ActorSnapshot, owner: str | None) -> list[Reason]:
    """API tokens (id, prefix, expiry, last use; never a secret): an administrator lists every
    one; anyone else only their own, asked for by name (``owner``), so that a clerk cannot
    learn who holds which credential."""
    if not actor.active:
        return _inactive(actor)
    if "admin" in actor.roles or actor.is_system or (owner is not None and owner == actor.login):
        return []
    return [Reason("not_own_tokens", {"login": actor.login})]


def may_audit(actor: ActorSnapshot) -> list[Reason]:
    """Trail-wide queries and reports: supervisors, auditors, leaders and administrators."""
    if not actor.active:
        return _inactive(actor)
    if actor.roles & READ_ALL_ROLES or actor.is_system:
        return []
    return [Reason("not_auditor", {"login": actor.login})]
