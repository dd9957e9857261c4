"""Sensible refusals, on SQLite and PostgreSQL: a second document with the same 文号, an edit that
changes nothing, a text over SANTONGBU_MAX_TEXT_BYTES."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import CLERK, seed_bureau
from workflow.kernel.errors import InvalidInput, Refused
from workflow.kernel.models import AuditEvent, Document
from workflow.kernel.settings import Settings
from workflow.services.documents import Workflow

NUMBER = "榕交〔2024〕7号"


@pytest.fixture
def wf(db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    return Workflow(db, clock, settings)


def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_second_document_with_the_same_number_is_refused_and_audited(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    first = wf.create_document(CLERK, title="福州市道路运输管理办法", doc_number=NUMBER).document_id
    with pytest.raises(Refused) as err:
        wf.create_document(CLERK, title="另一份文件", doc_number=NUMBER)
    assert err.value.reasons[0].code == "duplicate_number"
    assert f"文号 {NUMBER} 已被文件 {first} 使用" in err.value.message("zh")
    assert "--allow-duplicate-number" in err.value.message("en")
    assert count(db, Document) == 1
    refused = AuditEvent.action == "create", AuditEvent.outcome == "refused"
    assert count(db, AuditEvent, *refused) == 1
    # Said to be meant: accepted.
    second = wf.create_document(CLERK, title="另一份文件", doc_number=NUMBER, allow_duplicate_number=True)
    # An edit to a number another document has is refused the same way (and audited).
    third = wf.create_document(CLERK, title="第三份", doc_number="榕交〔2024〕8号").document_id
    with pytest.raises(Refused):
        wf.edit_document(CLERK, third, {"doc_number": NUMBER})
    assert count(db, AuditEvent, AuditEvent.action == "edit", AuditEvent.outcome == "refused") == 1
    wf.edit_document(CLERK, third, {"doc_number": NUMBER}, allow_duplicate_number=True)
    assert second.document_id != first


def test_an_edit_that_changes_nothing_writes_nothing(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = wf.create_document(
        CLERK, title="福州市道路运输管理办法", doc_number=NUMBER, body="第一条"
    ).document_id
    wf.edit_document(CLERK, doc, {"interpreter": CLERK})
    with db.transaction() as s:
        version = s.get(Document, doc).version
    events = count(db, AuditEvent)
    same = wf.edit_document(
        CLERK, doc, {"title": " 福州市道路运输管理办法 ", "body": "第一条", "interpreter": CLERK}
    )
    assert same.details["unchanged"] is True and same.version == version
    assert "nothing changed" in same.details["message"]["en"]
    with db.transaction() as s:
        assert s.get(Document, doc).version == version
    assert count(db, AuditEvent) == events  # no audit event either
    changed = wf.edit_document(CLERK, doc, {"body": "第一条 修改"})
    assert changed.version > version and not changed.details.get("unchanged")


def test_one_text_limit_for_every_text(db, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    settings = Settings(database_url=db.url, mail_folder=tmp_path / "mail", max_text_bytes=1024)
    wf = Workflow(db, clock, settings)
    # 342 Chinese characters are 1,026 bytes in UTF-8: over 1 KiB although under 1,024 characters.
    with pytest.raises(InvalidInput) as err:
        wf.create_document(CLERK, title="t", body="字" * 342)
    assert err.value.reasons[0].code == "text_too_large"
    assert "SANTONGBU_MAX_TEXT_BYTES" in err.value.message("en")
    doc = wf.create_document(
        CLERK,
        title="t",
        doc_number=NUMBER,
        body="字" * 341,
        disclosure="proactive",
        risk_assessment_needed=False,
    ).document_id
    with pytest.raises(InvalidInput):
        wf.edit_document(CLERK, doc, {"plan": "x" * 1025})
    wf.fire(CLERK, doc, "prepare_plan")
    with pytest.raises(InvalidInput):
        wf.add_material(CLERK, doc, form="text", title="文字解读", body="x" * 1025)
    assert count(db, Document) == 1
