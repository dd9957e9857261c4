"""Checkpoints that leave the database (issue 15, parts 2 and 3): signed, linked anchor files;
beat's decision when to take one; verify against the anchors, in full and incrementally; its
exit statuses and the HTTP route. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.audit_support import build_trail, insider, keyring_in_use
from tests.factories import CLERK, HEAD, to_signoff
from workers.sweep_tasks import beat_entries, run_checkpoint
from workflow.bootstrap import bootstrap
from workflow.entrypoints.cli.main import app
from workflow.kernel import audit
from workflow.kernel.audit_verify import VerifyOptions, verify
from workflow.kernel.auditkeys import load_public_keyring, read_anchors
from workflow.kernel.db import Database
from workflow.services.audit_admin import AuditAdmin
from workflow.services.documents import Workflow


@pytest.fixture
def keyed(db, clock, settings, tmp_path):  # type: ignore[no-untyped-def]
    """A keyed trail with four documents; the keyring file is tmp_path/audit.key."""
    previous = audit.use_keyring(None)
    with keyring_in_use(tmp_path, clock) as keyring:
        ids = build_trail(db, clock, settings)
        yield ids, keyring
    audit.use_keyring(previous)


def cli(db: Database, tmp_path: Path, *args: str, key: bool = True):  # type: ignore[no-untyped-def]
    env = {"SANTONGBU_AUDIT_KEY_FILE": str(tmp_path / "audit.key")} if key else {}
    return CliRunner().invoke(
        app, ["--db", db.url, "--now", "2024-02-07T10:00+08:00", "--lang", "en", *args], env=env
    )


def test_checkpoint_export_writes_signed_anchors_linked_in_a_series(
    db, keyed, tmp_path, clock, settings
) -> None:  # type: ignore[no-untyped-def]
    ids, keyring = keyed
    anchors = tmp_path / "anchors"
    first = cli(db, tmp_path, "audit", "checkpoint", "--export", str(anchors))
    assert first.exit_code == 0, first.output
    assert f"key {keyring.active.key_id}" in first.stdout and "checkpoint-00000001.json" in first.stdout
    Workflow(db, clock, settings).edit_document(CLERK, ids["draft"], {"title": "福州市草稿管理办法(修订)"})
    second = cli(db, tmp_path, "audit", "checkpoint", "--export", str(anchors), "--json")
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["anchor"].endswith("checkpoint-00000002.json")
    trusted, findings = read_anchors(anchors, load_public_keyring(tmp_path / "audit.key.pub"))
    assert findings == [] and [a.seq for a in trusted] == [1, 2]
    one, two = trusted
    assert two.previous_hash == one.digest() and two.key_id == keyring.active.key_id
    assert two.event_count == one.event_count + 1
    assert two.heads[f"doc:{ids['draft']}"][0] == one.heads[f"doc:{ids['draft']}"][0] + 1
    with db.transaction() as s:
        total = s.execute(text("SELECT count(*) FROM audit_events")).scalar()
    assert two.event_count == total and set(two.heads) == {"sys", *(f"doc:{d}" for d in ids.values())}


def test_exporting_without_a_keyring_is_a_usage_error(db, clock, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import seed_bureau

    seed_bureau(db, clock)
    out = cli(db, tmp_path, "audit", "checkpoint", "--export", str(tmp_path / "anchors"), key=False)
    assert out.exit_code == 2 and "needs the audit keyring" in out.output


def test_an_anchored_verify_of_a_fresh_export_passes_and_of_an_emptied_trail_fails(
    db, keyed, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Done-when of issue 15, as an auditor runs it: the public keyring and the anchors only."""
    ids, _keyring = keyed
    anchors = tmp_path / "anchors"
    assert cli(db, tmp_path, "audit", "checkpoint", "--export", str(anchors)).exit_code == 0
    auditor = ("audit", "verify", "--anchors", str(anchors), "--public-key", str(tmp_path / "audit.key.pub"))
    fresh = cli(db, tmp_path, *auditor, key=False)
    assert fresh.exit_code == 0 and "audit trail intact" in fresh.stdout, fresh.output
    assert "1 anchor(s)" in fresh.stdout and "4 documents" in fresh.stdout
    with insider(db) as conn:
        for table in ("audit_events", "audit_heads", "audit_checkpoints"):
            conn.execute(text(f"DELETE FROM {table}"))
    emptied = cli(db, tmp_path, *auditor, key=False)
    assert emptied.exit_code == 1 and "audit trail BROKEN" in emptied.stdout, emptied.output
    assert "checked 0 events" in emptied.stdout
    for doc in ids.values():
        assert f"BROKEN doc:{doc} at seq" in emptied.stdout
    assert "history removed" in emptied.stdout and "fewer than the" in emptied.stdout
    # Without the anchors the documents still give it away: never "intact" for an empty trail.
    bare = cli(db, tmp_path, "audit", "verify", key=False)
    assert bare.exit_code == 1 and "has no audit chain" in bare.stdout, bare.output


def test_verify_usage_errors_exit_2(db, keyed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty").mkdir()
    assert cli(db, tmp_path, "audit", "verify", "--since-anchor").exit_code == 2
    assert cli(db, tmp_path, "audit", "verify", "--anchors", str(tmp_path / "nowhere")).exit_code == 2
    no_key = cli(db, tmp_path, "audit", "verify", "--anchors", str(tmp_path / "empty"), key=False)
    assert no_key.exit_code == 2 and "--public-key" in no_key.output
    # An existing but empty anchor folder is a finding (someone removed them), not a usage error.
    assert cli(db, tmp_path, "audit", "verify", "--anchors", str(tmp_path / "empty")).exit_code == 1
    out = cli(db, tmp_path, "audit", "verify", "--json")
    body = json.loads(out.stdout)
    assert out.exit_code == 0 and body["ok"] and body["keyed"] and body["documents"] == 4, out.output


def test_incremental_verify_reads_only_what_the_newest_anchor_does_not_vouch_for(
    db, keyed, tmp_path, clock, settings
) -> None:  # type: ignore[no-untyped-def]
    ids, keyring = keyed
    anchors = tmp_path / "anchors"
    AuditAdmin(db, clock, settings).checkpoint(export_dir=anchors)
    wf = Workflow(db, clock, settings)
    wf.edit_document(CLERK, ids["draft"], {"title": "福州市草稿管理办法(二稿)"})
    fresh = to_signoff(wf, title="福州市新文件管理办法")

    def run(**kw: object):  # type: ignore[no-untyped-def]
        with db.snapshot() as s:
            return verify(s, VerifyOptions(keyring=keyring, anchors=anchors, **kw))  # type: ignore[arg-type]

    full, quick = run(), run(since_anchor=True)
    assert full.ok and quick.ok, (full.as_dict(), quick.as_dict())
    assert quick.since_anchor == 1 and quick.events < full.events
    assert quick.documents == 2  # the edited draft and the new document; the others did not move
    # An edit after the anchor is found incrementally; so is an anchored event that vanished.
    with insider(db) as conn:
        conn.execute(
            text("UPDATE audit_events SET actor = 'x' WHERE chain = :c AND seq = 2"), {"c": f"doc:{fresh}"}
        )
        conn.execute(
            text(
                "DELETE FROM audit_events WHERE chain = :c AND seq = (SELECT max(seq) FROM "
                "audit_events WHERE chain = :c)"
            ),
            {"c": f"doc:{ids['posted']}"},
        )
    found = {b.chain: b for b in run(since_anchor=True).breaks}
    assert "edited" in found[f"doc:{fresh}"].problem
    assert f"doc:{ids['posted']}" in found


def test_beat_checkpoints_after_the_interval_or_a_milestone_and_exports(
    db, keyed, tmp_path, clock, settings
) -> None:  # type: ignore[no-untyped-def]
    ids, _keyring = keyed
    settings = settings.model_copy(
        update={
            "audit_key_file": tmp_path / "audit.key",
            "audit_export_dir": tmp_path / "anchors",
            "audit_checkpoint_interval_seconds": 300.0,
        }
    )
    services = bootstrap(settings, db=db, clock=clock)  # as the worker's: the same keyring file
    assert run_checkpoint(services)["why"] == "first"
    assert run_checkpoint(services)["id"] is None  # nothing appended since
    wf = services.workflow
    wf.edit_document(CLERK, ids["draft"], {"title": "福州市草稿管理办法(三稿)"})
    assert run_checkpoint(services)["id"] is None  # an edit can wait for the interval
    clock.set(clock.now() + timedelta(seconds=301))
    assert run_checkpoint(services)["why"] == "interval"
    doc = to_signoff(wf, title="福州市会签管理办法")
    assert run_checkpoint(services)["id"] is None
    wf.sign(HEAD, doc)  # a sign-off is anchored at once
    done = run_checkpoint(services)
    assert done["why"] == "milestone" and done["anchor"].endswith("checkpoint-00000003.json")
    assert sorted(p.name for p in (tmp_path / "anchors").iterdir()) == [
        "checkpoint-00000001.json",
        "checkpoint-00000002.json",
        "checkpoint-00000003.json",
    ]


def test_beat_takes_a_keyed_checkpoint_as_soon_as_the_key_is_set_up(db, clock, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An installation keyed after it ran: its next tick vouches for the unkeyed history, even
    with nothing new appended, so verify with the key does not name it for long."""
    previous = audit.use_keyring(None)
    try:
        build_trail(db, clock, settings)
        unkeyed = bootstrap(settings, db=db, clock=clock)
        assert run_checkpoint(unkeyed)["key_id"] is None
        assert run_checkpoint(unkeyed)["id"] is None
        clock.set(clock.now() + timedelta(minutes=1))  # the key is made after that checkpoint
        with keyring_in_use(tmp_path, clock) as keyring:
            # The worker restarted with SANTONGBU_AUDIT_KEY_FILE set.
            keyed = bootstrap(
                settings.model_copy(update={"audit_key_file": tmp_path / "audit.key"}), db=db, clock=clock
            )
            done = run_checkpoint(keyed)
            assert done["why"] == "keyed" and done["key_id"] == keyring.active.key_id
            with db.snapshot() as s:
                assert verify(s, VerifyOptions(keyring=keyring)).ok
    finally:
        audit.use_keyring(previous)


def test_the_beat_entry_polls_at_most_every_minute(settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.audit_checkpoint_interval_seconds == 300
    assert beat_entries(settings)["audit-checkpoint"]["schedule"] == 60.0
    quick = settings.model_copy(update={"audit_checkpoint_interval_seconds": 20.0})
    assert beat_entries(quick)["audit-checkpoint"]["schedule"] == 20.0


def test_get_audit_verify_reports_what_disagrees(db, keyed, clock, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from workflow.entrypoints.api import create_app
    from workflow.services.tokens import Tokens

    ids, _keyring = keyed
    settings = settings.model_copy(
        update={"audit_key_file": tmp_path / "audit.key", "audit_export_dir": tmp_path / "anchors"}
    )
    AuditAdmin(db, clock, settings).checkpoint(export_dir=tmp_path / "anchors")
    token, _view = Tokens(db, clock).create("admin", "audit.cs", "verify")
    client = TestClient(create_app(db, clock, settings))
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/audit/verify", headers=headers).json()
    assert body["ok"] and body["keyed"] and body["anchors"] == 1, body
    with insider(db) as conn:
        conn.execute(
            text("UPDATE documents SET on_time = :f WHERE id = :d"), {"f": False, "d": ids["posted"]}
        )
    body = client.get("/audit/verify", headers=headers).json()
    assert not body["ok"]
    bare = TestClient(create_app(db, clock, settings.model_copy(update={"audit_export_dir": None})))
    assert bare.get("/audit/verify?since_anchor=true", headers=headers).status_code == 422
    [b] = body["breaks"]
    assert b["chain"] == f"doc:{ids['posted']}" and b["kind"] == "document" and "on_time" in b["problem"]
