"""Every guard and permission rule, on pure snapshots (no database)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from states import decide
from states.guards import (
    draft_complete,
    is_undisclosed,
    may_be_disclosed,
    package_signed,
    plan_complete,
    posted_everywhere,
    publication_facts,
    reason_given,
)
from states.lifecycle import _MACHINE, State, Trigger
from states.permissions import (
    may_administer,
    may_audit,
    may_edit,
    may_fire,
    may_list_tokens,
    may_list_units,
    may_list_users,
    may_read,
    may_sign,
)
from states.reasons import Reason, render
from states.snapshot import ActorSnapshot, DocumentSnapshot, MaterialSnapshot, PostingSnapshot, SignerSnapshot

NOW = datetime(2024, 2, 9, 2, 0, tzinfo=UTC)

COMPLETE = DocumentSnapshot(
    state="joint_signoff",
    unit_id=1,
    unit_code="spc",
    id=7,
    title="办法",
    doc_number="榕交〔2024〕1号",
    body="正文",
    disclosure="proactive",
    risk_assessment_needed=False,
    plan="方案",
    interpreter_login="liu",
    interpreter_unit_id=1,
    materials=(MaterialSnapshot("text", "文字解读", "h"),),
    signer_logins=frozenset({"chen", "zhang"}),
    signed_logins=frozenset({"chen", "zhang"}),
    package_hash="p",
    # The default signer rule: the unit's head and a bureau leader; liu prepared the package.
    creator_login="liu",
    editor_logins=frozenset({"liu"}),
    unit_head_login="chen",
    signers=(
        SignerSnapshot("chen", frozenset({"member", "signer"}), "spc", "drafting"),
        SignerSnapshot("zhang", frozenset({"member", "leader", "signer"}), "jld", "leadership"),
    ),
)


def codes(reasons: list[Reason] | tuple[Reason, ...]) -> list[str]:
    return [r.code for r in reasons]


def test_draft_complete_names_every_missing_fact() -> None:
    empty = DocumentSnapshot(state="draft")
    assert codes(draft_complete(empty, {})) == [
        "missing_title",
        "missing_unit",
        "missing_doc_number",
        "missing_disclosure",
        "missing_risk_flag",
    ]
    assert draft_complete(COMPLETE, {}) == []
    # "No risk assessment needed" is a decision; only "not decided" is missing.
    assert draft_complete(dataclasses.replace(COMPLETE, risk_assessment_needed=False), {}) == []


def test_plan_complete_requires_plan_material_interpreter_and_signers() -> None:
    doc = dataclasses.replace(
        COMPLETE, plan=" ", materials=(), interpreter_login=None, signer_logins=frozenset()
    )
    assert codes(plan_complete(doc, {})) == [
        "missing_plan",
        "missing_material",
        "missing_interpreter",
        "missing_signers",
        "missing_unit_head_signer",
        "missing_leader_signer",
    ]
    assert plan_complete(COMPLETE, {}) == []


def test_interpreter_must_come_from_the_drafting_unit() -> None:
    doc = dataclasses.replace(COMPLETE, interpreter_unit_id=2)
    assert codes(plan_complete(doc, {})) == ["interpreter_not_in_unit"]


def test_flagged_risk_needs_assessment_and_response_plan() -> None:
    doc = dataclasses.replace(COMPLETE, risk_assessment_needed=True)
    assert codes(plan_complete(doc, {})) == [
        "missing_risk_assessment",
        "missing_response_plan",
        "missing_legality_signer",
    ]
    done = dataclasses.replace(doc, risk_assessment="评估", response_plan="预案")
    assert codes(plan_complete(done, {})) == ["missing_legality_signer"]
    lin = SignerSnapshot("lin", frozenset({"supervisor", "signer"}), "zfc", "supervising")
    reviewed = dataclasses.replace(
        done, signer_logins=done.signer_logins | {"lin"}, signers=(*done.signers, lin)
    )
    assert plan_complete(reviewed, {}) == []


def test_package_signed_requires_every_signer_on_the_current_package() -> None:
    doc = dataclasses.replace(COMPLETE, signed_logins=frozenset({"chen"}))
    reasons = package_signed(doc, {})
    assert codes(reasons) == ["unsigned"] and reasons[0].params["logins"] == "zhang"
    assert package_signed(COMPLETE, {}) == []


def test_disclosure_guards() -> None:
    secret = dataclasses.replace(COMPLETE, disclosure="not_disclosed")
    assert codes(may_be_disclosed(secret, {})) == ["not_disclosed"]
    assert may_be_disclosed(COMPLETE, {}) == []
    assert is_undisclosed(secret, {}) == []
    assert codes(is_undisclosed(COMPLETE, {})) == ["not_undisclosed"]


def test_publication_facts() -> None:
    assert codes(publication_facts(COMPLETE, {})) == ["missing_publication_url", "missing_publication_time"]
    future = {"publication_url": "https://x", "published_at": NOW + timedelta(minutes=1), "now": NOW}
    assert codes(publication_facts(COMPLETE, future)) == ["publication_in_future"]
    assert (
        publication_facts(COMPLETE, {"publication_url": "https://x", "published_at": NOW, "now": NOW}) == []
    )


def test_posted_everywhere_needs_portal_and_news_media_with_url_or_evidence() -> None:
    portal = PostingSnapshot("portal", "https://p", None, NOW)
    media = PostingSnapshot("news_media", None, "福州日报 2024-02-10 第3版", NOW)
    new_media = PostingSnapshot("new_media", "https://weixin", None, NOW)
    doc = dataclasses.replace(COMPLETE, state="published")
    assert codes(posted_everywhere(doc, {})) == ["missing_portal_posting", "missing_media_posting"]
    assert codes(posted_everywhere(dataclasses.replace(doc, postings=(portal, new_media)), {})) == [
        "missing_media_posting"
    ]
    assert posted_everywhere(dataclasses.replace(doc, postings=(portal, media)), {}) == []
    blank = PostingSnapshot("news_media", " ", None, NOW)
    assert codes(posted_everywhere(dataclasses.replace(doc, postings=(portal, blank)), {})) == [
        "missing_media_posting"
    ]


def test_reason_given() -> None:
    assert codes(reason_given(COMPLETE, {"reason": "  "})) == ["missing_reason"]
    assert reason_given(COMPLETE, {"reason": "有误"}) == []


@pytest.mark.parametrize(
    "state,trigger,dest",
    [
        ("draft", "prepare_plan", "interpretation_plan"),
        ("interpretation_plan", "request_signoff", "joint_signoff"),
        ("joint_signoff", "reject", "interpretation_plan"),
        ("joint_signoff", "reject_to_draft", "draft"),
        ("draft", "withdraw", "withdrawn"),
        ("interpretation_plan", "withdraw", "withdrawn"),
        ("joint_signoff", "withdraw", "withdrawn"),
    ],
)
def test_forward_and_side_paths(state: str, trigger: str, dest: str) -> None:
    decision = decide(dataclasses.replace(COMPLETE, state=state), trigger, {"reason": "理由"})
    assert decision.allowed and decision.dest == dest


def test_publish_and_undisclosed_documents() -> None:
    args = {"publication_url": "https://x", "published_at": NOW, "now": NOW}
    assert decide(COMPLETE, "publish", args).dest == "published"
    secret = dataclasses.replace(COMPLETE, disclosure="not_disclosed")
    refused = decide(secret, "publish", args)
    assert not refused.allowed and "not_disclosed" in codes(refused.reasons)
    assert decide(secret, "file_undisclosed", {}).dest == "filed"


def test_nothing_leaves_a_terminal_state_and_wrong_state_is_named() -> None:
    for terminal in ("interpretation_posted", "withdrawn", "filed"):
        for trigger in Trigger:
            d = decide(dataclasses.replace(COMPLETE, state=terminal), trigger, {"reason": "x"})
            assert not d.allowed and codes(d.reasons) == ["wrong_state"]
    d = decide(dataclasses.replace(COMPLETE, state="published"), "withdraw", {"reason": "x"})
    assert codes(d.reasons) == ["wrong_state"]
    assert codes(decide(COMPLETE, "explode").reasons) == ["unknown_trigger"]


def test_decisions_leave_no_model_attached_to_the_shared_machine() -> None:
    for _ in range(100):
        decide(COMPLETE, "publish", {})
    assert _MACHINE.models == []


def test_refusals_read_in_chinese_and_english() -> None:
    reasons = decide(DocumentSnapshot(state="draft"), "prepare_plan").reasons
    assert "缺少标题" in render(reasons, "zh")
    assert "the title is missing" in render(reasons, "en")
    wrong = decide(DocumentSnapshot(state="draft"), "publish").reasons
    assert render(wrong, "zh") == "当前状态为「起草」,不能执行「公开发布」"


CLERK = ActorSnapshot("liu", 1, "spc")
OUTSIDER = ActorSnapshot("xu", 2, "kxc")
SIGNER = ActorSnapshot("zhang", 9, "jld", frozenset({"leader", "signer"}))
SUPERVISOR = ActorSnapshot("lin", 3, "zfc", frozenset({"supervisor"}))
ADMIN = ActorSnapshot("admin", 4, "bgs", frozenset({"admin"}))


def test_permissions() -> None:
    assert may_edit(CLERK, COMPLETE) == []
    assert codes(may_edit(OUTSIDER, COMPLETE)) == ["not_member"]
    assert codes(may_edit(dataclasses.replace(CLERK, active=False), COMPLETE)) == ["inactive_user"]
    assert may_sign(SIGNER, COMPLETE) == []
    assert codes(may_sign(CLERK, COMPLETE)) == ["not_signer"]
    assert may_fire(SIGNER, COMPLETE, "reject") == []
    assert codes(may_fire(CLERK, COMPLETE, "reject")) == ["not_signer"]
    assert codes(may_fire(SIGNER, COMPLETE, "publish")) == ["not_member"]
    assert may_read(SUPERVISOR, COMPLETE) == [] and may_read(SIGNER, COMPLETE) == []
    assert codes(may_read(OUTSIDER, COMPLETE)) == ["not_reader"]
    assert may_administer(ADMIN) == [] and codes(may_administer(SUPERVISOR)) == ["not_admin"]
    assert may_audit(SUPERVISOR) == [] and codes(may_audit(CLERK)) == ["not_auditor"]


def test_who_may_list_tokens_users_and_units() -> None:
    """The lists the CLI and the API share (token list, user list, unit list)."""
    assert may_list_tokens(ADMIN, None) == [] and may_list_tokens(ADMIN, "liu") == []
    assert may_list_tokens(CLERK, "liu") == []  # their own
    assert codes(may_list_tokens(CLERK, None)) == ["not_own_tokens"]  # everyone's
    assert codes(may_list_tokens(CLERK, "lin")) == ["not_own_tokens"]  # another's
    assert codes(may_list_tokens(SUPERVISOR, None)) == ["not_own_tokens"]
    assert may_list_users(SUPERVISOR) == [] and codes(may_list_users(CLERK)) == ["not_auditor"]
    assert may_list_units(CLERK) == []
    inactive = dataclasses.replace(CLERK, active=False)
    for refused in (may_list_units(inactive), may_list_tokens(inactive, "liu")):
        assert codes(refused) == ["inactive_user"]


def test_every_state_is_declared() -> None:
    assert set(_MACHINE.states) == {s.value for s in State}


def test_every_transition_row_says_who_fires_it_and_its_effect() -> None:
    from states.lifecycle import DRAFTING_UNIT, EFFECTS, FIRED_BY, SIGNER, SIGNER_TRIGGERS, TRANSITIONS

    assert {str(t["trigger"]) for t in TRANSITIONS} == {str(t) for t in Trigger}
    assert all(t["by"] in (DRAFTING_UNIT, SIGNER) for t in TRANSITIONS)
    assert all("effect" in t for t in TRANSITIONS)
    assert {Trigger.REJECT, Trigger.REJECT_TO_DRAFT} == SIGNER_TRIGGERS
    assert set(FIRED_BY) == set(EFFECTS) == {str(t) for t in Trigger}


def test_the_effect_table_covers_every_effect_the_lifecycle_names() -> None:
    from states.lifecycle import TRANSITIONS
    from workflow.services.documents.effects import EFFECT_METHODS

    named = {t["effect"] for t in TRANSITIONS if t["effect"] is not None}
    assert named == set(EFFECT_METHODS)


@pytest.mark.parametrize(
    ("state", "disclosure", "trigger"),
    [
        ("draft", None, "prepare_plan"),
        ("interpretation_plan", "proactive", "request_signoff"),
        ("joint_signoff", "proactive", "publish"),
        ("joint_signoff", "not_disclosed", "file_undisclosed"),
        ("published", "proactive", "post_interpretation"),
        ("interpretation_posted", "proactive", None),
        ("withdrawn", None, None),
        ("filed", "not_disclosed", None),
        ("nonsense", None, None),
    ],
)
def test_the_forward_step_comes_from_the_declared_path(
    state: str, disclosure: str | None, trigger: str | None
) -> None:
    from states.lifecycle import forward_trigger

    assert forward_trigger(state, disclosure) == trigger
