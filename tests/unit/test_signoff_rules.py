"""The sign-off rule on pure snapshots (states/signoff.py) and its setting, checked at start-up."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from states.signoff import DEFAULT_RULE, SignerRule, conflicts, rule_missing
from states.snapshot import DocumentSnapshot, SignerSnapshot
from workflow.kernel.settings import Settings

HEAD = SignerSnapshot("chen", frozenset({"member", "signer"}), "spc", "drafting")
LEADER = SignerSnapshot("zhang", frozenset({"member", "leader"}), "jld", "leadership")
LEADERSHIP_SIGNER = SignerSnapshot("deputy", frozenset({"member", "signer"}), "jld", "leadership")
LEGAL = SignerSnapshot("lin", frozenset({"supervisor", "signer"}), "zfc", "supervising")
DOC = DocumentSnapshot(
    state="interpretation_plan",
    unit_code="spc",
    creator_login="liu",
    interpreter_login="liu",
    editor_logins=frozenset({"liu", "wang"}),
    unit_head_login="chen",
)


def with_signers(doc: DocumentSnapshot, *signers: SignerSnapshot) -> DocumentSnapshot:
    return dataclasses.replace(doc, signers=signers, signer_logins=frozenset(s.login for s in signers))


def codes(reasons: list) -> list[str]:  # type: ignore[type-arg]
    return [r.code for r in reasons]


def test_the_default_rule_is_unit_head_leader_and_legality_when_flagged() -> None:
    assert SignerRule.parse("unit_head,leader,legality_if_risk", "zfc") == DEFAULT_RULE
    assert rule_missing(with_signers(DOC, HEAD, LEADER)) == []
    assert rule_missing(with_signers(DOC, HEAD, LEADERSHIP_SIGNER)) == []  # a leadership unit's signer
    risky = dataclasses.replace(DOC, risk_assessment_needed=True)
    assert codes(rule_missing(with_signers(risky, HEAD, LEADER))) == ["missing_legality_signer"]
    assert rule_missing(with_signers(risky, HEAD, LEADER, LEGAL)) == []


def test_a_conflicted_signer_counts_for_nothing() -> None:
    edited = dataclasses.replace(DOC, editor_logins=DOC.editor_logins | {"chen"})
    assert codes(rule_missing(with_signers(edited, HEAD, LEADER))) == [
        "signer_is_editor",
        "missing_unit_head_signer",
    ]


def test_every_conflict_of_a_person_is_named() -> None:
    assert codes(conflicts("liu", {"member"}, DOC)) == [
        "signer_role_missing",
        "signer_is_creator",
        "signer_is_interpreter",
        "signer_is_editor",
    ]
    assert codes(conflicts("wang", {"signer"}, DOC, active=False)) == ["inactive_user", "signer_is_editor"]
    assert conflicts("zhang", {"leader"}, DOC) == []


@pytest.mark.parametrize(
    "text, wanted",
    [
        ("", set()),
        ("leader", {"leader"}),
        (" unit_head ; leader ", {"unit_head", "leader"}),
        ("legality,legality_if_risk", {"legality"}),
    ],
)
def test_rules_parse(text: str, wanted: set[str]) -> None:
    assert SignerRule.parse(text).requirements == wanted


@pytest.mark.parametrize(
    "env", [{"signer_rule": "unit_head,boss"}, {"legality_unit": "政法处"}, {"legality_unit": ""}]
)
def test_a_bad_rule_fails_at_start_up(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings(**env)  # type: ignore[arg-type]


def test_the_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANTONGBU_SIGNER_RULE", "leader,legality")
    monkeypatch.setenv("SANTONGBU_LEGALITY_UNIT", "fgc")
    rule = Settings().signoff_rule
    assert rule.requirements == {"leader", "legality"} and rule.legality_unit == "fgc"
