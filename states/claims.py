"""Whose clock counts: claimed instants against recorded ones (docs/design.md §2, §7).

A clerk may say when something happened (``--at``): that is the *claimed* instant. The server
notes when it was told: the *recorded* instant. A claim within the grace window of its
recording (``SANTONGBU_CLAIM_GRACE_HOURS``, default 24) counts as it is. An older claim is a
*claim awaiting confirmation*: until a supervisor confirms it with a reason, a posting counts
from when it was recorded. Rows from before recorded instants existed are *migrated* history
and count as claimed.

A publication claimed more than the window in the past needs an explicit ``backdated`` (the
guard ``publication_facts``), so a typo cannot start the escalation ladder by itself. Its
deadline is counted from the claimed instant (an earlier publication only makes the deadline
stricter), and the claim waits for a supervisor's confirmation like a posting's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from states.reasons import Reason
from states.snapshot import ActorSnapshot, DocumentSnapshot

CONFIRMING_ROLES = frozenset({"supervisor"})
WHAT = ("publication", "portal", "news_media")
"""What a supervisor confirms or corrects: the publication, or a channel's postings."""


def is_backdated(claimed: datetime, recorded: datetime, grace: timedelta) -> bool:
    """Claimed more than the grace window before it was recorded."""
    return recorded - claimed > grace


def awaiting_confirmation(
    claimed: datetime, recorded: datetime | None, grace: timedelta, *, confirmed: bool, migrated: bool
) -> bool:
    if migrated or confirmed or recorded is None:
        return False
    return is_backdated(claimed, recorded, grace)


def counted_instant(
    claimed: datetime, recorded: datetime | None, grace: timedelta, *, confirmed: bool, migrated: bool
) -> datetime:
    """The instant a posting counts from: the claim, unless it awaits confirmation."""
    if awaiting_confirmation(claimed, recorded, grace, confirmed=confirmed, migrated=migrated):
        assert recorded is not None
        return recorded
    return claimed


def may_confirm(actor: ActorSnapshot, doc: DocumentSnapshot) -> list[Reason]:
    """Confirming a claim, or making a correction favourable to the drafting unit: a supervisor
    who is not a member of the drafting unit (nobody vouches for their own unit's record)."""
    if not actor.active:
        return [Reason("inactive_user", {"login": actor.login})]
    reasons = []
    if not actor.roles & CONFIRMING_ROLES:
        reasons.append(Reason("not_supervisor", {"login": actor.login}))
    if actor.unit_id is not None and actor.unit_id == doc.unit_id:
        reasons.append(Reason("confirmer_in_unit", {"login": actor.login, "unit": doc.unit_code}))
    return reasons


def favourable_to_unit(what: str, before: datetime | None, after: datetime | None) -> bool:
    """Would this change of an instant make the drafting unit's record look better: a later
    publication (a later deadline) or an earlier posting (an earlier result)?"""
    if before is None or after is None or before == after:
        return False
    return after > before if what == "publication" else after < before
