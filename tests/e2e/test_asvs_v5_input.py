"""OWASP ASVS 4.0.3, chapter V5 (validation): one set of input rules for the pages, the API and
the command line, and the documented size limit answered as 413 however the body arrives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.api_support import live_server
from tests.web_support import Session, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.entrypoints.cli.main import app as cli_app
from workflow.kernel.db import Database
from workflow.kernel.models import Document
from workflow.services.tokens import Tokens

CLERK = "liu.spc"
BAD = {
    "NUL": "标题\x00截断",
    "escape": "标题\x1b[31m",
    "C1": "标题\x85",
    "line separator": "标题\u2028第二行",
}


def documents(db: Database) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(Document)) or 0)


def test_v5_1_control_characters_are_refused_alike_by_pages_api_and_cli(
    web_db: Database, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """ASVS V5.1.3 / V5.1.4 (input validated positively, the same on every path to the data):
    the web form stored a title with a NUL that the API refused. Now a control character (NUL,
    ESC, a C1 control) or a line break in a one-line field is refused by all three front ends
    with the same field named, and nothing is stored."""
    with web_env(web_db, tmp_path, people=None) as env:
        token = Tokens(env.db, env.clock, env.settings).create("admin", CLERK, "t")[0]
        clerk = Session(env.base_url)
        clerk.sign_in(CLERK)
        monkeypatch.chdir(tmp_path)
        for kind, title in BAD.items():
            csrf = clerk.csrf("/web/documents/new")
            page = clerk.post(
                "/web/documents",
                {
                    "csrf_token": csrf,
                    "title": title,
                    "body": "正文",
                    "disclosure": "proactive",
                    "risk_assessment_needed": "no",
                },
            )
            assert page.status_code == 422 and "标题" in page.text, kind
            api = httpx.post(
                env.url("/documents"),
                json={"title": title},
                timeout=30,
                headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
            )
            assert api.status_code == 422 and api.json()["field"] == "title", (kind, api.text)
            cli = CliRunner().invoke(
                cli_app,
                ["--db", web_db.url, "--lang", "en", "doc", "create", "--as", CLERK, "--title", title],
            )
            assert cli.exit_code == 2 and "title is invalid" in cli.output, (kind, cli.output)
        body = httpx.post(
            env.url("/documents"),
            json={"title": "可以", "body": "正文\x00"},
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert body.status_code == 422 and body.json()["field"] == "body"
        assert documents(web_db) == 0
        # Tabs and line breaks in a multi-line text are text, not controls.
        fine = httpx.post(
            env.url("/documents"),
            json={"title": "可以", "body": "第一条\t…\r\n第二条"},
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert fine.status_code == 201
        clerk.close()


def test_v5_1_oversize_chunked_body_is_413_like_a_declared_one(sqlite_db: Database, tmp_path: Path) -> None:
    """ASVS V5.1.x / V13.1.x (documented limits, enforced the same way): a body over the cap (3 × SANTONGBU_MAX_TEXT_BYTES + 64 KiB)
    sent chunked (no Content-Length) got 422 'error parsing the body'; now 413, as a declared one."""
    from tests.conftest import shanghai
    from tests.factories import seed_bureau
    from workflow.entrypoints.api import create_app
    from workflow.kernel.clock import FixedClock
    from workflow.kernel.settings import Settings

    clock = FixedClock(shanghai(2024, 2, 5, 10, 0))
    settings = Settings(database_url=sqlite_db.url, mail_folder=tmp_path / "mail")
    seed_bureau(sqlite_db, clock)
    token = Tokens(sqlite_db, clock, settings).create("admin", CLERK, "t")[0]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def chunks(size: int) -> Iterator[bytes]:
        yield b'{"title": "t", "body": "'
        for _ in range(size // 65536):
            yield b"x" * 65536
        yield b'"}'

    with (
        live_server(create_app(sqlite_db, clock, settings)) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        big = http.post("/documents", content=chunks(7 * 1024 * 1024), headers=headers)
        assert big.status_code == 413 and big.json()["type"] == "urn:santongbu:problem:too_large"
        declared = http.post("/documents", content=b"".join(chunks(7 * 1024 * 1024)), headers=headers)
        assert declared.status_code == 413
        small = http.post("/documents", content=chunks(64 * 1024), headers=headers)
        assert small.status_code == 201, small.text
        assert json.loads(small.text)["action"] == "create"
