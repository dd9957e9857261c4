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


def test_v4_1_1_a_deactivated_user_can_list_nothing(db: Database, clock: FixedClock, settings: Settings,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
        lines = [(e.actor, e.outcome) for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "list"))]
    assert lines == [(CLERK, "refused"), (CLERK, "refused")]
