"""The lifecycle through the service, on SQLite and PostgreSQL: every step, refusal and audit line."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import shanghai
from tests.factories import (
    CLERK,
    HEAD,
    SIGNER2,
    new_draft,
    seed_bureau,
    to_plan,
    to_published,
    to_signed,
    to_signoff,
)
from workflow.kernel import audit
from workflow.kernel.errors import ConcurrentChange, Forbidden, InvalidInput, NotFound, Refused
from workflow.kernel.models import AuditEvent, Document
from workflow.services.documents import Workflow


@pytest.fixture
def wf(db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    return Workflow(db, clock, settings)


def events(db, doc_id: int) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.chain == f"doc:{doc_id}").order_by(AuditEvent.seq))
        )


def doc_row(db, doc_id: int) -> Document:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return s.get(Document, doc_id)


def test_the_whole_lifecycle_on_time(wf: Workflow, db, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(shanghai(2024, 2, 9, 10, 0))  # Friday before the 2024 Spring Festival holiday
    doc = to_published(wf)
    row = doc_row(db, doc)
    assert row.state == "published"
    # Published Fri 2024-02-09 → holiday 10–17 Feb, Sun 18 is a make-up working day → due Tue 20.
    assert row.due_at == shanghai(2024, 2, 20, 23, 59, 59).replace(microsecond=row.due_at.microsecond)
    assert row.due_provisional is False
    clock.set(shanghai(2024, 2, 19, 15, 0))
    wf.record_posting(CLERK, doc, channel="portal", url="https://jtj.fuzhou.example.cn/jd/1.htm")
    assert doc_row(db, doc).state == "published"
    out = wf.record_posting(CLERK, doc, channel="news_media", outlet="福州日报", evidence="2024-02-19 第3版")
    assert out.state_after == "interpretation_posted"
    row = doc_row(db, doc)
    assert row.on_time is True and row.working_days_late == 0
    assert row.working_days_taken == 2  # Sun 18 (make-up) and Mon 19
    actions = [e.action for e in events(db, doc)]
    assert actions[:3] == ["create", "prepare_plan", "edit"]
    assert actions[-2:] == ["record_posting", "post_interpretation"]
    assert all(e.outcome == "allowed" for e in events(db, doc))


def test_late_posting_is_recorded_for_good(wf: Workflow, db, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(shanghai(2024, 2, 9, 10, 0))
    doc = to_published(wf)
    # Due Tue 20; Thu 22 09:00: Wed 21 has fully passed, Thu 22 has not → 1 working day late.
    clock.set(shanghai(2024, 2, 22, 9, 0))
    wf.record_posting(CLERK, doc, channel="portal", url="https://p.example.cn/1")
    wf.record_posting(CLERK, doc, channel="news_media", url="https://news.example.cn/1")
    row = doc_row(db, doc)
    assert (row.state, row.on_time, row.working_days_late) == ("interpretation_posted", False, 1)


def test_refused_trigger_changes_nothing_but_writes_one_audit_line(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    before = doc_row(db, doc)
    count = len(events(db, doc))
    with pytest.raises(Refused) as err:
        wf.fire(CLERK, doc, "request_signoff")
    assert {r.code for r in err.value.reasons} == {
        "missing_plan",
        "missing_material",
        "missing_interpreter",
        "missing_signers",
        "missing_unit_head_signer",
        "missing_leader_signer",
    }
    assert "缺少解读方案" in err.value.message("zh")
    after = doc_row(db, doc)
    assert (after.state, after.version) == (before.state, before.version)
    evs = events(db, doc)
    assert len(evs) == count + 1
    assert (evs[-1].action, evs[-1].outcome, evs[-1].state_after) == (
        "request_signoff",
        "refused",
        "interpretation_plan",
    )
    assert "missing_plan" in evs[-1].details


def test_outsiders_are_refused_and_audited(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    with pytest.raises(Forbidden):
        wf.edit_document("xu.kxc", doc, {"plan": "别人的方案"})
    with pytest.raises(Forbidden):
        wf.fire("xu.kxc", doc, "withdraw", reason="不是我的")
    with pytest.raises(Forbidden):
        wf.read_document("xu.kxc", doc)
    refused = [e for e in events(db, doc) if e.outcome == "refused"]
    assert [(e.action, e.actor) for e in refused] == [
        ("edit", "xu.kxc"),
        ("withdraw", "xu.kxc"),
        ("read", "xu.kxc"),
    ]
    assert doc_row(db, doc).plan is None
    # Supervisors, auditors and signers read; the drafting unit's head too.
    assert wf.read_document("lin.zfc", doc).id == doc
    assert wf.read_document("audit.cs", doc).id == doc


def test_only_named_signers_sign_and_reject(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_signoff(wf)
    with pytest.raises(Forbidden):
        wf.sign(CLERK, doc)
    with pytest.raises(Forbidden):
        wf.fire(CLERK, doc, "reject", reason="自己退回")
    wf.sign(HEAD, doc)
    with pytest.raises(Refused) as err:
        wf.sign(HEAD, doc)
    assert err.value.reasons[0].code == "already_signed"
    with pytest.raises(Refused) as err:
        wf.fire(CLERK, doc, "publish", publication_url="https://p.example.cn/1")
    assert [r.code for r in err.value.reasons] == ["unsigned"]


def test_any_change_to_the_package_voids_signatures(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_signed(wf)
    old_hash = doc_row(db, doc).package_hash
    wf.add_material(CLERK, doc, form="graphic", title="图解", uri="https://p.example.cn/tj.png")
    assert doc_row(db, doc).package_hash != old_hash
    voided = [e for e in events(db, doc) if e.action == "signatures_voided"]
    assert voided and json.loads(voided[-1].details)["signers"] == sorted([HEAD, SIGNER2])
    with pytest.raises(Refused) as err:
        wf.fire(CLERK, doc, "publish", publication_url="https://p.example.cn/1")
    assert "unsigned" in [r.code for r in err.value.reasons]
    wf.sign(HEAD, doc)
    wf.sign(SIGNER2, doc)
    assert wf.fire(CLERK, doc, "publish", publication_url="https://p.example.cn/1").state_after == "published"


def test_edit_of_text_plan_or_interpreter_voids_signatures_but_naming_signers_does_not(
    wf: Workflow, db
) -> None:  # type: ignore[no-untyped-def]
    for change in ({"body": "第一条 修改后"}, {"plan": "新方案"}, {"title": "新标题"}):
        doc = to_signed(wf)
        wf.edit_document(CLERK, doc, change)
        assert not wf.read_document(CLERK, doc).signers[0].signed
    doc = to_signed(wf)
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2, "wang.bgs"])
    signers = {s.login: s.signed for s in wf.read_document(CLERK, doc).signers}
    assert signers == {HEAD: True, SIGNER2: True, "wang.bgs": False}


def test_rejection_goes_back_with_reason_and_voids_signatures(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_signoff(wf)
    wf.sign(HEAD, doc)
    with pytest.raises(Refused) as err:
        wf.fire(SIGNER2, doc, "reject", reason="  ")
    assert err.value.reasons[0].code == "missing_reason"
    out = wf.fire(SIGNER2, doc, "reject_to_draft", reason="政策依据需补充")
    assert (out.state_before, out.state_after) == ("joint_signoff", "draft")
    view = wf.read_document(CLERK, doc)
    assert not any(s.signed for s in view.signers)
    last = events(db, doc)[-1]
    assert json.loads(last.details)["reason"] == "政策依据需补充"


def test_undisclosed_documents_never_reach_published(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_signed(wf, disclosure="not_disclosed")
    with pytest.raises(Refused) as err:
        wf.fire(CLERK, doc, "publish", publication_url="https://p.example.cn/1")
    assert "not_disclosed" in [r.code for r in err.value.reasons]
    assert wf.fire(CLERK, doc, "file_undisclosed").state_after == "filed"


def test_withdraw_before_publication_only(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = new_draft(wf)
    assert wf.fire(CLERK, doc, "withdraw", reason="并入其他文件").state_after == "withdrawn"
    with pytest.raises(Refused):
        wf.edit_document(CLERK, doc, {"title": "改"})
    pub = to_published(wf)
    with pytest.raises(Refused) as err:
        wf.fire(CLERK, pub, "withdraw", reason="晚了")
    assert err.value.reasons[0].code == "wrong_state"


def test_bad_input_is_refused_before_anything_is_written(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_signed(wf)
    count = len(events(db, doc))
    with pytest.raises(InvalidInput):
        wf.fire(CLERK, doc, "publish", publication_url="javascript:alert(1)")
    with pytest.raises(InvalidInput):
        wf.add_material(CLERK, doc, form="hologram", title="x", body="y")
    with pytest.raises(InvalidInput):
        wf.edit_document(CLERK, doc, {"title": "a\r\nBcc: evil@example.com"})
    with pytest.raises(InvalidInput):
        wf.edit_document(CLERK, doc, {"disclosure": "public"})
    with pytest.raises(NotFound):
        wf.fire(CLERK, 9999, "publish")
    with pytest.raises(NotFound):
        wf.fire("nobody", doc, "publish")
    assert len(events(db, doc)) == count


def test_publication_time_cannot_lie_in_the_future(wf: Workflow, db, clock) -> None:  # type: ignore[no-untyped-def]
    doc = to_signed(wf)
    with pytest.raises(Refused) as err:
        wf.fire(
            CLERK,
            doc,
            "publish",
            publication_url="https://p.example.cn/1",
            published_at=clock.now() + timedelta(days=1),
        )
    assert err.value.reasons[0].code == "publication_in_future"


def test_stale_version_is_a_concurrent_change(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = new_draft(wf)
    version = doc_row(db, doc).version
    wf.edit_document(CLERK, doc, {"body": "第一条 甲"}, expected_version=version)
    with pytest.raises(ConcurrentChange) as err:
        wf.edit_document(CLERK, doc, {"body": "第一条 乙"}, expected_version=version)
    assert "reload" in err.value.message("en") and "重新载入" in err.value.message("zh")
    assert doc_row(db, doc).body == "第一条 甲"


def test_listing_follows_the_reading_rules(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    mine = new_draft(wf)
    theirs = wf.create_document(
        "xu.kxc", title="科信处文件", doc_number="x", disclosure="proactive", risk_assessment_needed=False
    ).document_id
    assert [d.id for d in wf.list_documents(CLERK)] == [mine]
    assert {d.id for d in wf.list_documents("lin.zfc")} == {mine, theirs}
    assert [d.id for d in wf.list_documents("lin.zfc", unit_code="kxc")] == [theirs]
    assert wf.list_documents("lin.zfc", state="published") == []


def test_the_chain_verifies_after_a_whole_lifecycle(wf: Workflow, db, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(shanghai(2024, 2, 9, 10, 0))
    to_published(wf)
    with db.transaction() as s:
        audit.checkpoint(s, clock.now())
    with db.transaction() as s:
        report = audit.verify(s)
        assert report.ok, report.as_dict()
        assert report.events == s.scalar(select(func.count()).select_from(AuditEvent))


def test_read_models_are_typed_and_keep_the_json_the_interfaces_put_out(wf: Workflow, clock) -> None:  # type: ignore[no-untyped-def]
    """The reads return frozen dataclasses; ``as_dict`` has the keys, in the order, the API
    schema and ``doc show --json`` have always had."""
    import dataclasses

    from workflow.entrypoints.api import schemas
    from workflow.services.documents import views

    clock.set(shanghai(2024, 2, 9, 10, 0))
    doc = to_published(wf)
    view = wf.read_document(CLERK, doc)
    assert isinstance(view, views.DocumentView) and dataclasses.is_dataclass(view)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.state = "draft"  # type: ignore[misc]
    plain = view.as_dict()
    assert list(plain) == [k for k in schemas.DocumentView.model_fields if k != "timeline"]
    assert list(plain["next_steps"][0]) == list(schemas.NextStep.model_fields)
    assert isinstance(plain["materials"], list) and isinstance(plain["next_steps"][0]["missing"], list)
    assert list(plain["materials"][0]) == list(schemas.MaterialOut.model_fields)
    assert list(wf.list_documents(CLERK)[0].as_dict()) == list(schemas.DocumentSummary.model_fields)
    events = wf.timeline(CLERK, doc)
    assert list(events[0].as_dict()) == list(schemas.TimelineEvent.model_fields)
    assert events[0].action == "create" and isinstance(events[0].details, dict)
