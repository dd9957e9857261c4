"""OWASP ASVS 4.0.3, chapter V4 (access control): a deactivated user is refused everything,
reads included, on every interface; ids that a user may not touch answer the same whether or
not they exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import SAMPLE, new_draft
from workflow.entrypoints.cli.main import app as cli_app
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.errors import Forbidden
from workflow.kernel.models import AuditEvent
from workflow.kernel.settings import Settings
from workflow.services.directory import Directory
from workflow.services.documents import Workflow

CLERK = "liu.spc"


def test_v4_1_1_a_deactivated_user_can_list_nothing(
    db: Database, clock: FixedClock, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASVS V4.1.1 / V4.1.3 (least privilege, enforced on a trusted service layer): ``doc list``
    answered a deactivated user with their unit's documents; now the list is refused like every
    other read, and the refusal is audited."""
    directory = Directory(db, clock)
    directory.import_file(None, SAMPLE)
    wf = Workflow(db, clock, settings)
    new_draft(wf)
    assert len(wf.list_documents(CLERK)) == 1
    directory.update_user("admin", CLERK, {"active": False})
    with pytest.raises(Forbidden) as refused:
        wf.list_documents(CLERK)
    assert [r.code for r in refused.value.reasons] == ["inactive_user"]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_app, ["--db", db.url, "--lang", "en", "doc", "list", "--as", CLERK])
    assert result.exit_code != 0 and "deactivated" in result.output and "福州市" not in result.output
    with db.transaction() as s:
        lines = [
            (e.actor, e.outcome) for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "list"))
        ]
    assert lines == [(CLERK, "refused"), (CLERK, "refused")]


def test_v4_2_1_outbox_retry_answers_missing_and_forbidden_ids_alike(
    db: Database, clock: FixedClock, settings: Settings, tmp_path: Path
) -> None:
    """ASVS V4.2.1 (no insecure direct object references) and V7.2.2 (access failures logged):
    ``POST /outbox/{id}/retry`` told a clerk 404 for a missing id and 403 for an existing one,
    so ids could be enumerated. Now both are 403, with the same body, and both are audited."""
    import httpx

    from tests.api_support import live_server
    from tests.factories import to_signoff
    from workflow.entrypoints.api import create_app
    from workflow.kernel.models.outbox import OutboxMessage
    from workflow.services.tokens import Tokens

    Directory(db, clock).import_file(None, SAMPLE)
    to_signoff(Workflow(db, clock, settings))
    with db.transaction() as s:
        row = s.scalars(select(OutboxMessage)).first()
        assert row is not None
    tokens = Tokens(db, clock, settings)
    clerk, admin = (tokens.create("admin", who, "t")[0] for who in (CLERK, "admin"))
    with live_server(create_app(db, clock, settings)) as url:

        def retry(token: str, outbox_id: int) -> httpx.Response:
            return httpx.post(
                f"{url}/outbox/{outbox_id}/retry", headers={"Authorization": f"Bearer {token}"}, timeout=30
            )

        there, missing = retry(clerk, row.id), retry(clerk, 999_999)
        assert there.status_code == missing.status_code == 403
        strip = lambda r: {k: v for k, v in r.json().items() if k != "instance"}  # noqa: E731
        assert strip(there) == strip(missing)
        assert retry(admin, 999_999).status_code == 404  # an administrator may know what exists
    with db.transaction() as s:
        refused = [
            e.details
            for e in s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "email_retry_requested", AuditEvent.outcome == "refused"
                )
            )
        ]
    assert len(refused) == 2 and '"outbox_id": 999999' in refused[1]
