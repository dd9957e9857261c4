"""``santongbu demo`` runs to the end, as a newcomer runs it (a fresh process in an empty
folder), and what it prints is what is stored: on time, late, overdue with its whole ladder,
the .eml files the worker wrote, an intact audit trail, and nothing outside its folder."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from workflow.entrypoints.cli.main import main; main()"]
ROOT = Path(__file__).resolve().parents[2]


def run_cli(cwd: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANTONGBU_")}
    # Settings of a real installation must not leak into the demo (it sets its own).
    env.update(
        SANTONGBU_DATABASE_URL="postgresql://nobody@127.0.0.1:1/not_here",
        SANTONGBU_MAIL_TRANSPORT="smtp",
        SANTONGBU_SMTP_PORT="1",
        SANTONGBU_BROKER_URL="redis://127.0.0.1:1/0",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    cwd = tmp_path_factory.mktemp("newcomer")
    result = run_cli(cwd, "demo", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd, json.loads(result.stdout)


def by_key(data: dict) -> dict[str, dict]:
    return {d["key"]: d for d in data["documents"]}


def test_demo_documents_end_in_every_state(demo_json: tuple[Path, dict]) -> None:
    _cwd, data = demo_json
    docs = by_key(data)
    assert {k: d["state"] for k, d in docs.items()} == {
        "on_time": "interpretation_posted",
        "late": "interpretation_posted",
        "overdue": "published",
        "fixed": "interpretation_posted",
        "withdrawn": "withdrawn",
        "filed": "filed",
        "signoff": "joint_signoff",
    }
    # Published Fri 2024-02-09; the make-up Sunday 2024-02-18 counts: due Tue 2024-02-20.
    for key in ("on_time", "late", "overdue"):
        assert docs[key]["due_at"] == "2024-02-20T23:59:59+08:00" and not docs[key]["due_provisional"]
    assert docs["fixed"]["due_at"] == "2024-02-22T23:59:59+08:00"
    assert (docs["on_time"]["on_time"], docs["on_time"]["working_days_taken"]) == (True, 2)
    # #late posted Wed 21 15:00, due Tue 20: late, but Wed 21 was not over → 0 (less than 1).
    assert (docs["late"]["on_time"], docs["late"]["working_days_late"]) == (False, 0)
    # Mon 26 10:00: Wed 21, Thu 22, Fri 23 have passed (Mon 26 has not) → 3.
    assert docs["overdue"]["late_now"] and docs["overdue"]["working_days_overdue_now"] == 3
    assert docs["fixed"]["on_time"] is True
    assert any(
        e["action"] == "reject" and e["state_after"] == "interpretation_plan"
        for e in docs["fixed"]["timeline"]
    )
    assert docs["signoff"]["awaiting_signatures"] == ["director"]
    assert docs["withdrawn"]["closed_reason"] and docs["filed"]["closed_reason"]


def test_demo_escalations_fired_once_and_the_ladder_stopped(demo_json: tuple[Path, dict]) -> None:
    _cwd, data = demo_json
    docs = by_key(data)
    overdue = docs["overdue"]["escalations"]
    assert [(e["level"], e["fired_at"], e["working_days_overdue"]) for e in overdue] == [
        ("reminder", "2024-02-20T09:00:00+08:00", 0),  # 09:00 on the due day
        ("overdue", "2024-02-21T00:00:00+08:00", 0),  # right after 23:59:59
        ("escalated", "2024-02-22T00:00:00+08:00", 1),  # after Wed 21, a whole working day
        ("escalated_high", "2024-02-24T00:00:00+08:00", 3),  # after Wed, Thu, Fri
    ]
    assert set(overdue[2]["email"]["to"]) == {
        "zfc@jtj.example.cn",
        "lin.zfc@jtj.example.cn",
        "xxgk@jtj.example.cn",
        "zheng.gk@jtj.example.cn",
    }
    assert set(overdue[3]["email"]["to"]) == {"leaders@jtj.example.cn", "director@jtj.example.cn"}
    assert [e["level"] for e in docs["late"]["escalations"]] == ["reminder", "overdue"]
    for key in ("on_time", "fixed", "withdrawn", "filed", "signoff"):
        assert docs[key]["escalations"] == [], key
    assert data["emails"]["by_event"]["posted_late"] == 1


def test_demo_eml_files_exist_and_match_the_outbox(demo_json: tuple[Path, dict]) -> None:
    cwd, data = demo_json
    em = data["emails"]
    assert em["failed"] == em["pending"] == em["sending"] == 0
    assert em["sent"] == em["total"] == em["eml_files"] > 0
    for row in em["list"]:
        path = Path(row["file"])
        assert path.is_relative_to(cwd / "santongbu-demo" / "mail"), path
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert msg["X-Santongbu-Event"] == row["event"] and msg["Subject"] == row["subject"]


def test_demo_audit_trail_is_intact_and_nothing_is_left_outside_its_folder(
    demo_json: tuple[Path, dict],
) -> None:
    cwd, data = demo_json
    audit = data["audit"]
    assert audit["ok"] and audit["breaks"] == []
    assert audit["checkpoints"] >= 1 and audit["checkpoint"]["chains"] == audit["chains"]
    assert audit["chains"] == len(data["documents"]) + 1  # one per document, one for the directory
    assert audit["events"] > sum(d["audit_events"] for d in data["documents"]) > 0
    assert sorted(p.name for p in cwd.iterdir()) == ["santongbu-demo"]
    assert data["seconds"] < 60


def test_demo_text_summary_in_english_in_a_chosen_folder(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--lang", "en", "demo", "--dir", "here")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for line in (
        "[15/15]",
        "sweep → reminder #2, #3",
        "sweep → escalated to leadership #3",
        "on time (2 working days)",
        "posted late (late by less than 1 working day)",
        "still not posted: 3 working days overdue",
        "awaiting: director",
        "escalated to leadership  Sat 02-24 00:00",
        "here/mail/outbox-",
        "verify: intact",
        "filed (not disclosed)",
        "withdrawn",
    ):
        assert line in out, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]
    # Run again: the folder is replaced, not added to.
    again = run_cli(tmp_path, "--lang", "en", "demo", "--dir", "here", "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["emails"]["eml_files"] == len(
        list((tmp_path / "here" / "mail").glob("*.eml"))
    )


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("do not delete", encoding="utf-8")
    result = run_cli(tmp_path, "demo", "--dir", "mine")
    assert result.returncode != 0
    assert "not made by 'santongbu demo'" in result.stderr
    assert (tmp_path / "mine" / "thesis.txt").read_text(encoding="utf-8") == "do not delete"
