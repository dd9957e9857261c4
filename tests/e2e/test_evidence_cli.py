"""``santongbu evidence check|show`` and ``doc show --json`` in a subprocess, the way outside
scripts use them: the fixed interface of issue 16 (docs/evidence.md)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import shanghai
from tests.evidence_support import (
    TITLE,
    PageServer,
    interpretation_page,
    newspaper_page,
    page_server,
    policy_page,
)
from tests.factories import CLERK, seed_bureau, to_signed
from workflow.bootstrap import bootstrap
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings

EXE = Path(sys.executable).with_name("santongbu")


@pytest.fixture
def portal() -> Iterator[PageServer]:
    with page_server() as server:
        server.routes["/zcwj/1.htm"] = policy_page(server)
        server.routes["/jd/1.htm"] = interpretation_page(server, link=False)
        server.routes["/news/1.html"] = newspaper_page()
        yield server


def run(db: Database, env: dict[str, str], *args: str, now: str = "2024-02-19T12:00+08:00") -> str:
    done = subprocess.run(
        [str(EXE), "--db", db.url, "--now", now, "--lang", "en", *args],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def test_check_then_show_through_the_command_line(
    sqlite_db: Database, clock: FixedClock, tmp_path: Path, portal: PageServer
) -> None:
    db = sqlite_db
    env = {
        **os.environ,
        "SANTONGBU_EVIDENCE_ALLOWED_HOSTS": f"127.0.0.1:{portal.port}",
        "SANTONGBU_EVIDENCE_FOLDER": str(tmp_path / "kept"),
        "SANTONGBU_MAIL_FOLDER": str(tmp_path / "mail"),
    }
    svc = bootstrap(Settings(database_url=db.url, mail_folder=tmp_path / "mail"), db=db, clock=clock)
    seed_bureau(db, clock)
    clock.set(shanghai(2024, 2, 9, 10, 0))
    doc = to_signed(svc.workflow)
    svc.workflow.fire(CLERK, doc, "publish", publication_url=portal.url("/zcwj/1.htm"))
    clock.set(shanghai(2024, 2, 19, 11, 0))
    svc.workflow.record_posting(CLERK, doc, channel="portal", url=portal.url("/jd/1.htm"))
    svc.workflow.record_posting(
        CLERK, doc, channel="news_media", outlet="福州日报", url=portal.url("/news/1.html")
    )

    checked = json.loads(run(db, env, "evidence", "check", "--json"))
    assert [
        (c["document_id"], c["channel"], c["status"], [r["code"] for r in c["reasons"]]) for c in checked
    ] == [
        (doc, "publication", "verified", []),
        (doc, "portal", "mismatch", ["no_policy_link"]),
        (doc, "news_media", "verified", []),
    ]
    assert checked[1]["reasons"][0]["message"].startswith("the interpretation page does not link")
    assert run(db, env, "evidence", "check").strip() == "no page due for a check"

    shown = json.loads(run(db, env, "doc", "show", str(doc), "--as", CLERK, "--json", "--no-timeline"))
    evidence = {p["channel"]: p["evidence"] for p in shown["postings"]}
    for e in evidence.values():
        assert {"status", "checked_at", "sha256", "reasons"} <= set(e)
    assert (
        evidence["portal"]["status"] == "mismatch"
        and evidence["portal"]["reasons"][0]["code"] == "no_policy_link"
    )
    assert evidence["news_media"]["checked_at"].startswith("2024-02-19T12:00:00+08:00")
    assert shown["publication_evidence"]["status"] == "verified"

    check_id = str(evidence["news_media"]["check_id"])
    page = subprocess.run(
        [str(EXE), "--db", db.url, "evidence", "show", check_id, "--as", CLERK, "--page"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert page.returncode == 0 and TITLE in page.stdout.decode("gbk")
    assert hashlib.sha256(page.stdout).hexdigest() == evidence["news_media"]["sha256"]  # docs/evidence.md
    target = tmp_path / "out" / "page.warc.gz"
    assert "sha256 " + evidence["news_media"]["sha256"] in run(
        db, env, "evidence", "show", check_id, "--as", CLERK, "--output", str(target)
    )
    from warcio.archiveiterator import ArchiveIterator

    with target.open("rb") as stream:
        (record,) = [r for r in ArchiveIterator(stream) if r.rec_type == "response"]
        assert record.rec_headers.get_header("WARC-Target-URI") == portal.url("/news/1.html")
    text = run(db, env, "evidence", "show", check_id, "--as", CLERK)
    assert "status         verified" in text
    refused = subprocess.run(
        [str(EXE), "--db", db.url, "evidence", "show", check_id, "--as", "xu.kxc"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert refused.returncode == 2 and b"Traceback" not in refused.stderr
