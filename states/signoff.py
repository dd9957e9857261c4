"""Separate duties in sign-off (同步审签), as pure rules (docs/design.md §7).

Nobody who prepared the package signs it: the document's creator, its interpreter, and anyone
who changed the text, plan, materials or interpreter since the last completed sign-off round
are refused as signers, when they are named and when they sign. A signer holds the ``signer``
or ``leader`` role.

Which signers a package needs is the installation's :class:`SignerRule`
(``SANTONGBU_SIGNER_RULE``, checked at start-up): by default the drafting unit's head, at least
one bureau leader (局领导: the ``leader`` role or a member of a ``leadership`` unit), and, when
the public-opinion risk assessment is flagged, the legality reviewer (a signer from the
legality unit, ``SANTONGBU_LEGALITY_UNIT``, 政法处 by default).

Every function returns *all* its reasons, as the guards do, so one refusal lists everything
that is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from states.reasons import Reason
from states.snapshot import ActorSnapshot, DocumentSnapshot, SignerSnapshot

SIGNING_ROLES = frozenset({"signer", "leader"})
REQUIREMENTS = ("unit_head", "leader", "legality", "legality_if_risk")
"""What a rule may ask for: the drafting unit's head; a bureau leader; the legality reviewer
always, or only when the risk assessment is flagged."""
DEFAULT_RULE_TEXT = "unit_head,leader,legality_if_risk"


@dataclass(frozen=True)
class SignerRule:
    """The signers every package needs, besides "nobody signs what they prepared"."""

    requirements: frozenset[str] = frozenset({"unit_head", "leader", "legality_if_risk"})
    legality_unit: str = "zfc"

    @classmethod
    def parse(cls, text: str, legality_unit: str = "zfc") -> SignerRule:
        """``"unit_head,leader,legality_if_risk"``; an empty text asks for no one in particular
        (separation of duties and the signing roles still hold). Unknown words raise
        :class:`ValueError`, so a typo fails at start-up."""
        items = {w.strip() for w in text.replace(";", ",").split(",") if w.strip()}
        unknown = sorted(items - set(REQUIREMENTS))
        if unknown:
            raise ValueError(f"unknown requirement(s) {', '.join(unknown)}; known: {', '.join(REQUIREMENTS)}")
        if "legality" in items:
            items.discard("legality_if_risk")
        if not legality_unit.strip():
            raise ValueError("the legality unit's code is empty")
        return cls(frozenset(items), legality_unit.strip())

    def describe(self) -> str:
        return ",".join(r for r in REQUIREMENTS if r in self.requirements) or "(none)"

    def needs_legality(self, doc: DocumentSnapshot) -> bool:
        return "legality" in self.requirements or (
            "legality_if_risk" in self.requirements and bool(doc.risk_assessment_needed)
        )


DEFAULT_RULE = SignerRule()


def is_leader(signer: SignerSnapshot) -> bool:
    return "leader" in signer.roles or signer.unit_kind == "leadership"


def conflicts(
    login: str, roles: Iterable[str], doc: DocumentSnapshot, *, active: bool = True
) -> list[Reason]:
    """Why ``login`` may not sign this package (empty: they may)."""
    reasons = []
    if not active:
        reasons.append(Reason("inactive_user", {"login": login}))
    if not SIGNING_ROLES & set(roles):
        reasons.append(Reason("signer_role_missing", {"login": login}))
    if doc.creator_login is not None and login == doc.creator_login:
        reasons.append(Reason("signer_is_creator", {"login": login}))
    if doc.interpreter_login is not None and login == doc.interpreter_login:
        reasons.append(Reason("signer_is_interpreter", {"login": login}))
    if login in doc.editor_logins:
        reasons.append(Reason("signer_is_editor", {"login": login}))
    return reasons


def may_sign_package(actor: ActorSnapshot, doc: DocumentSnapshot) -> list[Reason]:
    """At signing: the named signer is still free of the package and holds a signing role."""
    return conflicts(actor.login, actor.roles, doc, active=actor.active)


def naming_conflicts(candidates: Iterable[SignerSnapshot], doc: DocumentSnapshot) -> list[Reason]:
    """At naming: every reason any of ``candidates`` may not sign this package."""
    reasons: list[Reason] = []
    for c in candidates:
        reasons.extend(conflicts(c.login, c.roles, doc, active=c.active))
    return reasons


def _facts(doc: DocumentSnapshot) -> list[SignerSnapshot]:
    known = {s.login: s for s in doc.signers}
    return [known.get(login, SignerSnapshot(login)) for login in sorted(doc.signer_logins)]


def rule_missing(doc: DocumentSnapshot, rule: SignerRule = DEFAULT_RULE) -> list[Reason]:
    """What the named signers lack under ``rule``, and every named signer who may not sign.

    A signer with a conflict does not count towards a requirement: a unit head who edited the
    text is reported as an editor *and* the unit head's signature as missing.
    """
    named = _facts(doc)
    reasons = naming_conflicts(named, doc)
    eligible = [s for s in named if not conflicts(s.login, s.roles, doc, active=s.active)]
    if "unit_head" in rule.requirements:
        if not doc.unit_head_login:
            reasons.append(Reason("unit_has_no_head", {"unit": doc.unit_code}))
        elif not any(s.login == doc.unit_head_login for s in eligible):
            reasons.append(Reason("missing_unit_head_signer", {"login": doc.unit_head_login}))
    if "leader" in rule.requirements and not any(is_leader(s) for s in eligible):
        reasons.append(Reason("missing_leader_signer"))
    if rule.needs_legality(doc) and not any(s.unit_code == rule.legality_unit for s in eligible):
        reasons.append(Reason("missing_legality_signer", {"unit": rule.legality_unit}))
    return reasons
