"""The keyed chain (issue 15, part 1): each event's hash is an HMAC under the active key of a
keyring kept outside the database, the row names its key, a rotation applies from a recorded
event on, and an installation without a key still runs but says so. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.audit_support import insider, keyring_in_use
from tests.factories import CLERK, seed_bureau, to_plan
from workflow.entrypoints.cli.main import app
from workflow.kernel import audit
from workflow.kernel.audit_verify import VerifyOptions, verify
from workflow.kernel.auditkeys import load_keyring
from workflow.kernel.db import Database
from workflow.kernel.errors import KeyMissing
from workflow.kernel.models import AuditEvent
from workflow.services.documents import Workflow


@pytest.fixture
def wf(db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    return Workflow(db, clock, settings)


@pytest.fixture(autouse=True)
def _unkeyed_by_default():  # type: ignore[no-untyped-def]
    previous = audit.use_keyring(None)
    yield
    audit.use_keyring(previous)


@pytest.fixture
def keyed(db, clock, settings, tmp_path):  # type: ignore[no-untyped-def]
    """A bureau seeded with the keyring in use from the start: every event keyed."""
    with keyring_in_use(tmp_path, clock) as keyring:
        seed_bureau(db, clock)
        yield Workflow(db, clock, settings), keyring


def events(db: Database, chain: str | None = None) -> list[AuditEvent]:
    with db.transaction() as s:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        return list(s.scalars(stmt.where(AuditEvent.chain == chain) if chain else stmt))


def check(db: Database, **options: object) -> object:
    with db.snapshot() as s:
        return verify(s, VerifyOptions(**options))  # type: ignore[arg-type]


def cli(db: Database, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--db", db.url, "--lang", "en", *args], env=env or {})


def test_each_event_is_hmac_keyed_with_the_active_key_and_names_it(db, keyed) -> None:  # type: ignore[no-untyped-def]
    wf, keyring = keyed
    doc = to_plan(wf)
    wf.edit_document(CLERK, doc, {"plan": "方案"})
    rows = events(db, f"doc:{doc}")
    assert len(rows) == 3 and {r.key_id for r in rows} == {keyring.active.key_id}
    for r in rows:
        fields = {n: getattr(r, n) for n in audit.HASHED_FIELDS}
        assert r.hash == audit.event_hash(keyring.active, **fields) != audit.event_hash(None, **fields)
    report = check(db, keyring=keyring)
    assert report.ok and report.keyed and report.unchecked_keyed_events == 0, report.as_dict()
    # Without the secret the links are followed but the keyed hashes cannot be checked: said.
    blind = check(db)
    assert blind.ok and not blind.keyed and blind.unchecked_keyed_events == len(events(db))
    assert any("not checked" in n for n in blind.notes)


def test_a_process_without_the_key_writes_nothing_to_a_keyed_trail(db, keyed) -> None:  # type: ignore[no-untyped-def]
    """A shell that forgot SANTONGBU_AUDIT_KEY_FILE: its change, and even the audit line of a
    refusal, would be unkeyed events in a keyed chain, which verify reports as tampering. So
    it is refused before anything is written, and the trail stays intact."""
    wf, keyring = keyed
    doc = to_plan(wf)
    before = len(events(db))
    audit.use_keyring(None)
    with pytest.raises(KeyMissing):
        wf.edit_document(CLERK, doc, {"plan": "方案"})  # a change
    with pytest.raises(KeyMissing):
        wf.sign("chen.spc", doc)  # a refusal (wrong state), whose audit line needs the key too
    with pytest.raises(KeyMissing):
        wf.create_document(CLERK, title="无密钥的新文件")  # a new chain: its one read asks too
    assert len(events(db)) == before
    with db.transaction() as s:
        assert s.execute(text("SELECT count(*) FROM documents")).scalar() == 1
    with db.transaction() as s:
        assert s.execute(text("SELECT plan FROM documents WHERE id = :d"), {"d": doc}).scalar() is None
    assert check(db, keyring=keyring).ok
    audit.use_keyring(keyring)
    wf.edit_document(CLERK, doc, {"plan": "方案"})
    assert len(events(db)) == before + 1 and check(db, keyring=keyring).ok


def test_an_unkeyed_installation_still_runs_and_verify_says_it_is_not_keyed(
    db, wf, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    assert {r.key_id for r in events(db)} == {None}
    report = check(db)
    assert report.ok and not report.keyed and audit.NOT_KEYED in report.notes
    monkeypatch.chdir(tmp_path)
    out = cli(db, "audit", "verify")
    assert out.exit_code == 0, out.output
    assert "NOT KEYED" in out.stdout and "not keyed" in out.stdout and "audit trail intact" in out.stdout
    assert doc


def test_an_unkeyed_history_is_accepted_once_a_keyed_checkpoint_covers_it(db, wf, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An installation keyed after it ran: its older, unkeyed events are vouched for by the
    first keyed checkpoint; until then verify names them (a forger could have written them)."""
    doc = to_plan(wf)
    with keyring_in_use(tmp_path, clock) as keyring:
        wf.edit_document(CLERK, doc, {"plan": "方案"})
        before = check(db, keyring=keyring, documents=False)
        assert {b.chain for b in before.breaks} == {"sys", f"doc:{doc}"}
        assert all("no keyed checkpoint or anchor covers" in b.problem for b in before.breaks)
        with db.transaction() as s:
            audit.checkpoint(s, clock.now())
        assert check(db, keyring=keyring).ok


def test_a_keyed_trail_refuses_an_event_forged_without_the_key(db, keyed) -> None:  # type: ignore[no-untyped-def]
    """An insider appends an event with a hash recomputed by the public code and moves the
    head: it is named."""
    wf, keyring = keyed
    doc = to_plan(wf)
    chain = f"doc:{doc}"
    last = events(db, chain)[-1]
    forged = {n: getattr(last, n) for n in audit.HASHED_FIELDS} | {
        "seq": last.seq + 1,
        "prev_hash": last.hash,
        "action": "publish",
        "state_before": "draft",
        "state_after": "published",
    }
    with insider(db) as conn:
        conn.execute(
            text(
                f"INSERT INTO audit_events ({', '.join(audit.HASHED_FIELDS)}, hash, key_id) VALUES "
                f"({', '.join(':' + n for n in audit.HASHED_FIELDS)}, :hash, :key_id)"
            ),
            forged | {"hash": audit.event_hash(None, **forged), "key_id": None},
        )
        conn.execute(
            text("UPDATE audit_heads SET seq = :s, hash = :h WHERE chain = :c"),
            {"s": last.seq + 1, "h": audit.event_hash(None, **forged), "c": chain},
        )
    [b] = check(db, keyring=keyring, documents=False).breaks
    assert (b.chain, b.seq) == (chain, last.seq + 1) and "unkeyed event after keyed ones" in b.problem


def test_keygen_writes_a_private_keyring_and_its_public_half_and_never_overwrites(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "keys" / "audit.key"
    key.parent.mkdir()
    out = cli(db, "audit", "keygen", "--output", str(key))
    assert out.exit_code == 0, out.output
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert (tmp_path / "keys" / "audit.key.pub").exists() and "SANTONGBU_AUDIT_KEY_FILE" in out.stdout
    again = cli(db, "audit", "keygen", "--output", str(key))
    assert again.exit_code == 2 and "already exists" in again.output
    # A keyring others can read is refused where it is used.
    os.chmod(key, 0o644)
    bad = cli(db, "audit", "verify", env={"SANTONGBU_AUDIT_KEY_FILE": str(key)})
    assert bad.exit_code == 2 and "chmod 600" in bad.output


def test_rotation_applies_from_a_recorded_event_and_old_events_stay_verifiable(
    db, clock, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "audit.key"
    env = {"SANTONGBU_AUDIT_KEY_FILE": str(key)}
    assert cli(db, "audit", "keygen", "--output", str(key)).exit_code == 0
    first = load_keyring(key)
    audit.use_keyring(first)
    seed_bureau(db, clock)
    wf = Workflow(db, clock, settings)
    doc = to_plan(wf)
    out = cli(
        db, "--now", "2024-02-06T09:00+08:00", "audit", "keygen", "--output", str(key), "--rotate", env=env
    )
    assert out.exit_code == 0, out.output
    rotated = load_keyring(key)
    assert rotated.key_ids[0] == first.active.key_id and rotated.active.key_id != first.active.key_id
    [event] = [e for e in events(db, "sys") if e.action == "key_rotated"]
    assert event.key_id == rotated.active.key_id and first.active.key_id in event.details
    audit.use_keyring(rotated)  # what a restarted server loads
    wf.edit_document(CLERK, doc, {"plan": "方案"})
    assert [e.key_id for e in events(db, f"doc:{doc}")] == [first.active.key_id] * 2 + [rotated.active.key_id]
    out = cli(db, "audit", "verify", env=env)
    assert out.exit_code == 0 and "audit trail intact" in out.stdout, out.output
    # The old keyring alone cannot vouch for what the new key tagged: named, not waved through.
    stale = check(db, keyring=first, documents=False)
    assert {b.chain for b in stale.breaks} == {"sys", f"doc:{doc}"}
    assert all("not in the keyring" in b.problem for b in stale.breaks)
    # A retired key does not come back: an event it keys after the new key's is named.
    audit.use_keyring(first)
    wf.edit_document(CLERK, doc, {"plan": "方案(二)"})
    [b] = check(db, keyring=rotated, documents=False).breaks
    assert (b.chain, b.seq) == (f"doc:{doc}", 4) and "older than the key" in b.problem


def test_health_says_whether_the_trail_is_keyed(db, clock, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from workflow.entrypoints.api import create_app

    body = TestClient(create_app(db, clock, settings)).get("/health").json()
    assert body["status"] == "ok" and body["audit"]["status"] == "unkeyed"
    with keyring_in_use(tmp_path, clock):
        keyed = settings.model_copy(update={"audit_key_file": tmp_path / "audit.key"})
        body = TestClient(create_app(db, clock, keyed)).get("/health").json()
        assert body["audit"] == {
            "status": "ok",
            "detail": f"keyed with key {load_keyring(tmp_path / 'audit.key').active.key_id}",
        }


def test_the_keyring_file_in_the_settings_is_loaded_once_per_version(tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from workflow.kernel.settings import Settings

    with keyring_in_use(tmp_path, clock) as keyring:
        settings = Settings(audit_key_file=tmp_path / "audit.key")
        assert audit.configure(settings, announce=False).active.key_id == keyring.active.key_id
        assert audit.configure(settings, announce=False) is audit.current_keyring()
        assert audit.configure(Settings(), announce=False) is None and audit.current_keyring() is None
    assert isinstance(Path(settings.audit_key_file), Path)
