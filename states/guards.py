"""Named guards: pure functions of a document snapshot (and the trigger's arguments).

Each returns the list of what is missing; an empty list means the guard passes. Every guard
returns *all* its reasons, so a clerk sees everything to fix at once, not one item per try.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from states.claims import is_backdated
from states.instants import shown
from states.reasons import Reason
from states.signoff import DEFAULT_RULE, rule_missing
from states.snapshot import REQUIRED_CHANNELS, DocumentSnapshot

DEFAULT_GRACE = timedelta(hours=24)
Guard = Callable[[DocumentSnapshot, Mapping[str, Any]], list[Reason]]


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def draft_complete(doc: DocumentSnapshot, args: Mapping[str, Any]) -> list[Reason]:
    """起草 → 解读方案: title, unit, number or working title, disclosure, risk flag decided."""
    missing = []
    if _blank(doc.title):
        missing.append(Reason("missing_title"))
    if doc.unit_id is None:
        missing.append(Reason("missing_unit"))
    if _blank(doc.doc_number):
        missing.append(Reason("missing_doc_number"))
    if doc.disclosure is None:
        missing.append(Reason("missing_disclosure"))
    if doc.risk_assessment_needed is None:
        missing.append(Reason("missing_risk_flag"))
    return missing


def plan_complete(doc: DocumentSnapshot, args: Mapping[str, Any]) -> list[Reason]:
    """解读方案 → 同步审签: plan, a material with its form, interpreter from the unit,
    risk assessment and response plan when flagged, and signers named who satisfy the
    installation's signer rule (``args["signer_rule"]``, default :data:`DEFAULT_RULE`), none of
    whom prepared the package (states/signoff.py)."""
    missing = draft_complete(doc, args)
    if _blank(doc.plan):
        missing.append(Reason("missing_plan"))
    if not any(m.form and not _blank(m.title) for m in doc.materials):
        missing.append(Reason("missing_material"))
    if doc.interpreter_login is None:
        missing.append(Reason("missing_interpreter"))
    elif doc.interpreter_unit_id != doc.unit_id:
        missing.append(Reason("interpreter_not_in_unit", {"login": doc.interpreter_login}))
    if doc.risk_assessment_needed:
        if _blank(doc.risk_assessment):
            missing.append(Reason("missing_risk_assessment"))
        if _blank(doc.response_plan):
            missing.append(Reason("missing_response_plan"))
    if not doc.signer_logins:
        missing.append(Reason("missing_signers"))
    missing.extend(rule_missing(doc, args.get("signer_rule") or DEFAULT_RULE))
    return missing


def package_signed(doc: DocumentSnapshot, args: Mapping[str, Any]) -> list[Reason]:
    """Every required signer has signed this exact package (its current hash)."""
    missing = plan_complete(doc, args)
    unsigned = sorted(doc.signer_logins - doc.signed_logins)
    if unsigned:
        missing.append(Reason("unsigned", {"logins": ", ".join(unsigned)}))
    return missing


def may_be_disclosed(doc: DocumentSnapshot, args: Mapping[str, Any]) -> list[Reason]:
    """不予公开 documents never enter ``published``."""
    return [Reason("not_disclosed")] if doc.disclosure == "not_disclosed" else []


def is_undisclosed(doc: DocumentSnapshot, args: Mapping[str, Any]) -> list[Reason]:
    return [] if doc.disclosure == "not_disclosed" else [Reason("not_undisclosed")]


def publication_facts(doc: DocumentSnapshot, args: Mapping[str, Any]) -> list[Reason]:
    """The portal URL and the publication instant, not later than now; claimed more than the
    grace window (``args["grace"]``) in the past only when said to be ``backdated``."""
    missing = []
    if _blank(args.get("publication_url")):
        missing.append(Reason("missing_publication_url"))
    published_at: datetime | None = args.get("published_at")
    now: datetime | None = args.get("now")
    grace: timedelta = args.get("grace") or DEFAULT_GRACE
    tz: str = args.get("tz") or "Asia/Shanghai"  # the working zone, in which people read times
    if published_at is None:
        missing.append(Reason("missing_publication_time"))
    elif now is not None and published_at > now:
        missing.append(Reason("publication_in_future", {"at": shown(published_at, tz)}))
    elif now is not None and is_backdated(published_at, now, grace) and not args.get("backdated"):
        missing.append(
            Reason(
                "publication_backdated",
                {"at": shown(published_at, tz), "hours": f"{grace.total_seconds() / 3600:g}"},
            )
        )
    return missing


def posted_everywhere(doc: DocumentSnapshot, args: Mapping[str, Any]) -> list[Reason]:
    """解读发布: on the portal and at least one news-media channel, each with URL or evidence."""

    def has(channel: str) -> bool:
        return any(p.channel == channel and not (_blank(p.url) and _blank(p.evidence)) for p in doc.postings)

    return [Reason(_MISSING_POSTING[c]) for c in REQUIRED_CHANNELS if not has(c)]


# The reason given for each required channel that has no posting yet.
_MISSING_POSTING = {"portal": "missing_portal_posting", "news_media": "missing_media_posting"}


def reason_given(doc: DocumentSnapshot, args: Mapping[str, Any]) -> list[Reason]:
    return [Reason("missing_reason")] if _blank(args.get("reason")) else []


GUARDS: dict[str, Guard] = {
    g.__name__: g
    for g in (
        draft_complete,
        plan_complete,
        package_signed,
        may_be_disclosed,
        is_undisclosed,
        publication_facts,
        posted_everywhere,
        reason_given,
    )
}
