"""Separate duties in sign-off, through the service, on SQLite and PostgreSQL (docs/design.md §7).

The matrix: every role × (a stranger to the package, its creator, its interpreter, one of its
editors) × (naming the person as a signer, and the person signing). Only a holder of the signer
or leader role who did not prepare the package may be named or sign. Then the installation's
signer rule: the unit head, a bureau leader, the legality reviewer when a risk is flagged; a
refused request lists everything missing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import CLERK, HEAD, LEGALITY, SIGNER2, new_draft, seed_bureau
from workflow.kernel.errors import Forbidden, Refused
from workflow.kernel.models import DocumentEditor, Signer, User
from workflow.kernel.settings import Settings
from workflow.services.directory import Directory
from workflow.services.documents import Workflow

ROLES = ("member", "signer", "supervisor", "auditor", "admin", "leader")
SIGNING = {"signer", "leader"}
RELATIONS = ("stranger", "creator", "interpreter", "editor")
# Creating a document writes its first text: a creator is also one of its editors.
CONFLICT = {
    "creator": {"signer_is_creator", "signer_is_editor"},
    "interpreter": {"signer_is_interpreter"},
    "editor": {"signer_is_editor"},
}


@pytest.fixture
def bureau(db, clock):  # type: ignore[no-untyped-def]
    directory = seed_bureau(db, clock)
    for role in ROLES:  # one member of the drafting unit 审批处 per role
        directory.add_user("admin", {"login": f"x.{role}", "name": role, "unit": "spc", "roles": role})
    return directory


@pytest.fixture
def wf(bureau, db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    return Workflow(db, clock, settings)


def codes(error: Exception) -> set[str]:
    return {r.code for r in error.reasons}  # type: ignore[attr-defined]


def prepared(wf: Workflow, who: str, relation: str) -> int:
    """A document in its plan stage that ``who`` is ``relation`` to (and liu.spc interprets)."""
    doc = new_draft(wf, clerk=who if relation == "creator" else CLERK)
    wf.fire(CLERK, doc, "prepare_plan")
    wf.edit_document(
        CLERK, doc, {"plan": "解读方案", "interpreter": who if relation == "interpreter" else CLERK}
    )
    wf.add_material(CLERK, doc, form="text", title="文字解读", body="一、制定背景")
    if relation == "editor":
        wf.edit_document(who, doc, {"body": "第一条 (修改)"})
    return doc


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("role", ROLES)
def test_naming_matrix(wf: Workflow, role: str, relation: str) -> None:
    who = f"x.{role}"
    doc = prepared(wf, who, relation)
    expected = set()
    if role not in SIGNING:
        expected.add("signer_role_missing")
    if relation in CONFLICT:
        expected |= CONFLICT[relation]
    if not expected:
        wf.set_signers(CLERK, doc, [HEAD, SIGNER2, who])
        wf.fire(CLERK, doc, "request_signoff")
        return
    with pytest.raises(Refused) as err:
        wf.set_signers(CLERK, doc, [HEAD, SIGNER2, who])
    assert codes(err.value) == expected
    assert who in err.value.message("en")
    assert wf.read_document(CLERK, doc).signers == ()  # nothing was named


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("role", ROLES)
def test_signing_matrix(wf: Workflow, bureau: Directory, db, role: str, relation: str) -> None:  # type: ignore[no-untyped-def]
    """Named while free of the package with a signing role; then the role and the relation
    change, and the signature is refused. (A creator cannot be named at all: here the creator is
    a signer row left by an older version, named before the rule existed.)"""
    who = f"x.{role}"
    bureau.update_user("admin", who, {"roles": "signer"})
    doc = prepared(wf, who, "creator" if relation == "creator" else "stranger")
    if relation == "creator":
        wf.set_signers(CLERK, doc, [HEAD, SIGNER2])
        wf.fire(CLERK, doc, "request_signoff")
        with db.transaction() as s:
            uid = s.scalars(select(User.id).where(User.login == who)).one()
            s.add(Signer(document_id=doc, user_id=uid))
    else:
        wf.set_signers(CLERK, doc, [HEAD, SIGNER2, who])
        wf.fire(CLERK, doc, "request_signoff")
    if relation == "interpreter":
        wf.edit_document(CLERK, doc, {"interpreter": who})
    elif relation == "editor":
        wf.edit_document(who, doc, {"plan": "解读方案(修订)"})
    bureau.update_user("admin", who, {"roles": role})
    expected = set()
    if role not in SIGNING:
        expected.add("signer_role_missing")
    if relation in CONFLICT:
        expected |= CONFLICT[relation]
    if not expected:
        wf.sign(who, doc)
        return
    with pytest.raises(Forbidden) as err:
        wf.sign(who, doc)
    assert codes(err.value) == expected
    assert not any(s.signed for s in wf.read_document(CLERK, doc).signers if s.login == who)
    # Nor can the package be published while that person is among its signers.
    wf.sign(HEAD, doc)
    wf.sign(SIGNER2, doc)
    with pytest.raises(Refused) as refused:
        wf.fire(CLERK, doc, "publish", publication_url="https://jtj.example.cn/1.htm")
    assert expected | {"unsigned"} <= codes(refused.value)


def ready(wf: Workflow, *, risk: bool = False, clerk: str = CLERK) -> int:
    """A document whose plan is complete but for its signers."""
    doc = new_draft(wf, clerk=clerk, risk=risk)
    wf.fire(clerk, doc, "prepare_plan")
    changes = {"plan": "解读方案", "interpreter": clerk}
    if risk:
        changes |= {"risk_assessment": "风险评估", "response_plan": "应对处置预案"}
    wf.edit_document(clerk, doc, changes)
    wf.add_material(clerk, doc, form="text", title="文字解读", body="一、制定背景")
    return doc


def test_a_refused_request_lists_everything_the_rule_misses(wf: Workflow) -> None:
    doc = ready(wf, risk=True)
    wf.set_signers(CLERK, doc, ["x.signer"])
    with pytest.raises(Refused) as err:
        wf.fire(CLERK, doc, "request_signoff")
    assert codes(err.value) == {
        "missing_unit_head_signer",
        "missing_leader_signer",
        "missing_legality_signer",
    }
    message = err.value.message("en")
    assert HEAD in message and "bureau leader" in message and "zfc" in message
    assert "局领导" in err.value.message("zh")
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2])
    with pytest.raises(Refused) as err:
        wf.fire(CLERK, doc, "request_signoff")
    assert codes(err.value) == {"missing_legality_signer"}
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2, LEGALITY])
    assert wf.fire(CLERK, doc, "request_signoff").state_after == "joint_signoff"
    # The next steps show the rule too, before anyone tries.
    assert wf.read_document(CLERK, doc).state == "joint_signoff"


def test_the_legality_reviewer_is_asked_for_only_when_a_risk_is_flagged(wf: Workflow) -> None:
    doc = ready(wf, risk=False)
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2])
    wf.fire(CLERK, doc, "request_signoff")


def test_a_unit_head_who_changed_the_package_cannot_sign_it(wf: Workflow) -> None:
    doc = ready(wf)
    wf.edit_document(HEAD, doc, {"body": "第一条 (处长改)"})
    with pytest.raises(Refused) as err:
        wf.set_signers(CLERK, doc, [HEAD, SIGNER2])
    assert codes(err.value) == {"signer_is_editor"}
    # The head's change stays his: only a completed round (which he cannot sign) ends it.
    wf.set_signers(CLERK, doc, [SIGNER2])
    with pytest.raises(Refused) as err:
        wf.fire(CLERK, doc, "request_signoff")
    assert codes(err.value) == {"missing_unit_head_signer"}


def test_a_unit_without_a_head_cannot_meet_the_default_rule(wf: Workflow, bureau: Directory) -> None:
    bureau.add_user("admin", {"login": "qian.csc", "name": "钱科员", "unit": "csc", "roles": "member"})
    doc = ready(wf, clerk="qian.csc")
    wf.set_signers("qian.csc", doc, [SIGNER2])
    with pytest.raises(Refused) as err:
        wf.fire("qian.csc", doc, "request_signoff")
    assert codes(err.value) == {"unit_has_no_head"}


def test_editors_of_an_earlier_completed_round_may_sign_the_next(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = ready(wf)
    wf.edit_document("x.leader", doc, {"plan": "解读方案(领导改)"})  # an editor in round 0
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2])
    wf.fire(CLERK, doc, "request_signoff")
    wf.sign(HEAD, doc)
    assert wf.sign(SIGNER2, doc).details["round"] == 1  # round 1 complete
    wf.edit_document("x.signer", doc, {"body": "第一条 (签后修改)"})  # voids both signatures
    with pytest.raises(Refused) as err:
        wf.set_signers(CLERK, doc, [HEAD, SIGNER2, "x.signer", "x.leader"])
    assert codes(err.value) == {"signer_is_editor"} and "x.signer" in err.value.message("en")
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2, "x.leader"])
    with db.transaction() as s:
        rows = {
            r.user_id: r.round
            for r in s.scalars(select(DocumentEditor).where(DocumentEditor.document_id == doc))
        }
    assert sorted(rows.values()) == [0, 0, 1]  # liu.spc and x.leader in round 0, x.signer in round 1


@pytest.mark.parametrize(
    "rule, signers, missing",
    [
        ("leader", ["director"], set()),
        ("leader", ["chen.spc"], {"missing_leader_signer"}),
        ("", ["x.signer"], set()),
        ("unit_head,leader,legality", ["chen.spc", "director"], {"missing_legality_signer"}),
        ("unit_head", ["x.signer"], {"missing_unit_head_signer"}),
    ],
)
def test_the_installation_chooses_its_rule(
    db,
    clock,
    bureau,
    tmp_path,
    rule: str,
    signers: list[str],  # type: ignore[no-untyped-def]
    missing: set[str],
) -> None:
    wf = Workflow(db, clock, Settings(database_url=db.url, mail_folder=tmp_path / "mail", signer_rule=rule))
    doc = ready(wf)
    wf.set_signers(CLERK, doc, signers)
    if not missing:
        assert wf.fire(CLERK, doc, "request_signoff").state_after == "joint_signoff"
        return
    with pytest.raises(Refused) as err:
        wf.fire(CLERK, doc, "request_signoff")
    assert codes(err.value) == missing


def test_a_clerk_cannot_sign_his_own_package_alone(wf: Workflow, bureau: Directory) -> None:
    """The issue's drill: a clerk names himself as the only signer."""
    bureau.update_user("admin", CLERK, {"roles": "signer"})  # even holding the signer role
    doc = ready(wf)
    with pytest.raises(Refused) as err:
        wf.set_signers(CLERK, doc, [CLERK])
    assert codes(err.value) == {"signer_is_creator", "signer_is_interpreter", "signer_is_editor"}
