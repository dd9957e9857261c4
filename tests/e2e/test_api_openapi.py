"""The OpenAPI document is committed and current; every route is authorised; the CLI around the API.

``docs/openapi.json`` is what other government systems code against, so a change to the API
that is not regenerated (``santongbu openapi -o docs/openapi.json``) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from typer.testing import CliRunner

from tests.factories import SAMPLE
from workflow.entrypoints.api import create_app
from workflow.entrypoints.api.app import ROUTERS
from workflow.entrypoints.api.deps import caller
from workflow.entrypoints.cli.main import app as cli_app
from workflow.entrypoints.cli.server_cmds import openapi_json
from workflow.kernel.clock import SystemClock
from workflow.kernel.db import Database
from workflow.kernel.models.tokens import ApiToken
from workflow.kernel.settings import Settings
from workflow.services.tokens import digest

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.json"
PUBLIC = {"/health"}  # probed by load balancers without a token; names no host or user


def _app(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'unused.db'}")  # never connected: the schema needs no data
    return create_app(db, SystemClock(), Settings(database_url=db.url))


def test_committed_openapi_document_is_current(tmp_path: Path) -> None:
    current = openapi_json(_app(tmp_path))
    assert COMMITTED.read_text(encoding="utf-8") == current, (
        "docs/openapi.json is out of date: run 'santongbu openapi -o docs/openapi.json' and commit it"
    )


def _depends_on(dependant, target) -> bool:  # type: ignore[no-untyped-def]
    return any(d.call is target or _depends_on(d, target) for d in dependant.dependencies)


def test_every_route_but_health_needs_a_token_and_documents_its_problems(tmp_path: Path) -> None:
    app = _app(tmp_path)
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 30
    schema = app.openapi()
    for route in routes:
        for method in route.methods:
            operation = schema["paths"][route.path][method.lower()]
            if route.path in PUBLIC:
                assert not _depends_on(route.dependant, caller) and "security" not in operation
                continue
            assert _depends_on(route.dependant, caller), f"{method} {route.path} does not authenticate"
            assert operation["security"] == [{"token": []}]
            for status in ("401", "403"):
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], (method, route.path, status)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    db.upgrade()
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, lang: str = "en") -> tuple[int, str, str]:
        result = runner.invoke(cli_app, ["--db", db.url, "--lang", lang, *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    assert run("unit", "import", str(SAMPLE))[0] == 0
    run.db = db  # type: ignore[attr-defined]
    yield run
    db.dispose()


def test_token_create_list_revoke_on_the_command_line(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("token", "create", "liu.spc", "--as", "admin", "--name", "portal sync")
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("stb_") and len(secret) == 47 and "copy it now" in err
    with cli.db.transaction() as session:
        row = session.query(ApiToken).one()
        assert row.token_hash == digest(secret) and secret not in (row.token_hash, row.prefix, row.name)
    code, out, _ = cli("token", "list", "--as", "admin")
    assert code == 0 and "liu.spc" in out and "portal sync" in out and "active" in out
    assert secret not in out and secret[:12] in out  # the prefix, never the secret

    code, _, err = cli("token", "create", "liu.spc", "--as", "xu.kxc")
    assert code == 2 and "xu.kxc is not an administrator" in err
    code, _, err = cli("token", "revoke", "99", "--as", "admin")
    assert code == 2 and "no token with id 99" in err
    code, _, err = cli("token", "revoke", "99", "--as", "admin", lang="zh")
    assert code == 2 and "没有编号为 99 的令牌" in err

    token_id = json.loads(cli("token", "list", "--as", "admin", "--json")[1])[0]["id"]
    code, out, _ = cli("token", "revoke", str(token_id), "--as", "admin")
    assert code == 0 and "revoked" in out
    listed = json.loads(cli("token", "list", "--as", "admin", "--json")[1])
    assert listed[0]["active"] is False and listed[0]["revoked_by"] == "admin"


def test_openapi_command_writes_the_document(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "out" / "openapi.json"
    code, out, _ = cli("openapi", "-o", str(target))
    assert code == 0 and str(target) in out
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["info"]["title"] == "Santongbu API"
    assert "/documents/{doc_id}/triggers/{trigger}" in document["paths"]
