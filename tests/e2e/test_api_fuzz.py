"""Schemathesis against the served OpenAPI document: no request, valid or not, gets a 500.

Every operation is fuzzed through the live server (uvicorn on loopback) on SQLite and on
PostgreSQL — the two refuse different things (PostgreSQL rejects NUL in text, SQLite big
integers), so a value that slips through validation shows up on one of them. Responses must
also match the document: declared status codes, declared content types, declared schemas.

Ids in paths are narrowed to the few that exist (a few documents in several states, their
materials, tokens and emails), so that valid requests reach the services instead of stopping
at 404. The number of examples is bounded (``SANTONGBU_FUZZ_EXAMPLES``, default 15 per
operation) and the run is derandomised, so CI sees the same cases every time; raise the
number locally for a longer hunt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks as st_checks
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi import checks as oa_checks

from tests.api_support import ApiEnv, api_env, module_database
from tests.factories import HEAD, new_draft, to_plan, to_published, to_signoff
from workflow.kernel.db import Database
from workflow.services.tokens import Tokens

EXAMPLES = int(os.environ.get("SANTONGBU_FUZZ_EXAMPLES", "15"))
# (lowest, highest) id the fuzzer picks for a valid request. Tokens 1–7 are the personas' own
# (api_support), so the fuzzer may revoke only the throwaway ones made in _seed.
NARROW = {"doc_id": (1, 12), "material_id": (1, 8), "token_id": (8, 12), "outbox_id": (1, 12)}
CHECKS = [
    st_checks.not_a_server_error,
    oa_checks.status_code_conformance,
    oa_checks.content_type_conformance,
    oa_checks.response_schema_conformance,
]


def _seed(env: ApiEnv) -> None:
    """Documents in every early state, for two units, so the fuzzer meets real ones."""
    wf = env.wf
    new_draft(wf)
    new_draft(wf, clerk="admin")
    to_plan(wf)
    to_signoff(wf)
    to_published(wf)
    doc = new_draft(wf, clerk="admin")
    wf.fire("admin", doc, "prepare_plan")
    wf.edit_document("admin", doc, {"plan": "方案", "interpreter": "admin"})
    wf.add_material("admin", doc, form="text", title="解读", body="正文")
    wf.set_signers("admin", doc, [HEAD])
    tokens = Tokens(env.db, env.clock)
    for _ in range(5):
        tokens.create("admin", "he.gl", "fuzz")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzz_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiEnv]:
    folder = tmp_path_factory.mktemp("api-fuzz")
    with module_database(request, folder) as db, api_env(db, folder / "mail") as env:
        _seed(env)
        yield env


def _document() -> dict[str, Any]:
    """The OpenAPI document, built without a server (collection time needs the operations)."""
    from workflow.entrypoints.api import create_app
    from workflow.kernel.clock import SystemClock
    from workflow.kernel.settings import Settings

    db = Database("sqlite://")  # never connected
    return create_app(db, SystemClock(), Settings(database_url="sqlite://")).openapi()


def _narrowed(document: dict[str, Any]) -> dict[str, Any]:
    document = json.loads(json.dumps(document))
    for path in document["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in NARROW:
                    parameter["schema"]["minimum"], parameter["schema"]["maximum"] = NARROW[parameter["name"]]
    return document


OPERATIONS = [(method.upper(), path) for path, item in _document()["paths"].items() for method in item]


@pytest.fixture(scope="module")
def api_schema(fuzz_env: ApiEnv) -> Any:
    """The document as the live server serves it, with ids narrowed."""
    return schemathesis.openapi.from_dict(_narrowed(httpx.get(fuzz_env.base_url + "/openapi.json").json()))


def _persona(path: str) -> str:
    if path.startswith(("/units", "/users", "/tokens", "/outbox", "/calendar")):
        return "admin"
    return "auditor" if path.startswith(("/reports", "/audit")) else "clerk"


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_request_gets_a_500(method: str, path: str, api_schema: Any, fuzz_env: ApiEnv) -> None:
    operation = api_schema[path][method]
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)
    headers = fuzz_env.headers(_persona(path))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=cases)
    def run(case: Any) -> None:
        case.call_and_validate(base_url=fuzz_env.base_url, headers=headers, checks=CHECKS, timeout=30)

    run()
