"""An interface that authenticated the user hands the service a Principal, and the service
does not look the user up again (issue 20): shown by renaming the login behind it, which a
look-up by login would no longer find. The rules still apply to the principal's snapshot."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.factories import CLERK, new_draft, seed_bureau, to_signoff
from workflow.kernel.errors import Forbidden, NotFound
from workflow.kernel.models import Document, User
from workflow.kernel.snapshots import actor_snapshot
from workflow.services.authz import Principal
from workflow.services.documents import Workflow


@pytest.fixture
def wf(db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    return Workflow(db, clock, settings)


def principal(db, login: str) -> Principal:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        user = s.scalars(select(User).where(User.login == login)).one()
        return Principal(user.id, actor_snapshot(user))


def test_a_principal_is_not_looked_up_again(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = new_draft(wf)
    clerk = principal(db, CLERK)
    with db.transaction() as s:  # the login is gone: a look-up by it would fail
        s.execute(update(User).where(User.login == CLERK).values(login="renamed.clerk"))
    with pytest.raises(NotFound):
        wf.edit_document(CLERK, doc, {"body": "第一条 修改"})
    out = wf.edit_document(clerk, doc, {"body": "第一条 修改"})
    assert out.action == "edit" and out.details["changed"] == {"body": "<6 characters>"}
    created = wf.create_document(clerk, title="由令牌用户起草")
    assert created.state_after == "draft"
    with db.transaction() as s:  # written as the principal's id, named as its snapshot
        row = s.get(Document, created.document_id)
        assert row is not None and row.created_by == clerk.id


def test_the_rules_still_decide_for_a_principal(wf: Workflow, db) -> None:  # type: ignore[no-untyped-def]
    doc = to_signoff(wf)
    with pytest.raises(Forbidden):  # the clerk is not a named signer
        wf.sign(principal(db, CLERK), doc)
