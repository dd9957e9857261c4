"""Every route against every persona of docs/design.md §7, through a real HTTP server.

Each cell builds the document it needs in the state the route wants (through the service),
so an allowed persona really succeeds; a refused one gets 403 with a reason and leaves one
refused line in the audit trail; no token or a revoked token gets 401 and leaves nothing.
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from tests.api_support import PERSONAS, ApiEnv, api_env, module_database
from tests.factories import CLERK, HEAD, new_draft, to_plan
from tests.material_files import png
from workflow.kernel.models import Document
from workflow.kernel.models.outbox import OutboxMessage

SIGNER = "sun.jgc"
LEADER = "director"  # the signer rule asks for a bureau leader beside the unit head
URL = "https://jtj.fuzhou.example.cn/zcwj/1.htm"
AUTHENTICATED = {"admin", "clerk", "other_clerk", "signer", "supervisor", "auditor"}
READERS = {
    "admin",
    "clerk",
    "signer",
    "supervisor",
    "auditor",
}  # docs/design.md §7: unit, signers, read-all roles
TRAIL = {"admin", "supervisor", "auditor"}  # may_audit
_unique = itertools.count(1)

CALENDAR_2027 = b"""year = 2027
source = "test schedule"
official = false

[[holidays]]
name = "Spring Festival"
start = 2027-02-06
end = 2027-02-12

[[workdays]]
date = 2027-02-14
name = "make-up"
"""


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiEnv]:
    folder = tmp_path_factory.mktemp("api-matrix")
    with module_database(request, folder) as db, api_env(db, folder / "mail") as served:
        yield served


# ---------------------------------------------------------------------------- documents in states
def draft(env: ApiEnv) -> int:
    return new_draft(env.wf)


def plan_with_material(env: ApiEnv) -> tuple[int, int]:
    wf = env.wf
    doc = to_plan(wf)
    wf.edit_document(CLERK, doc, {"plan": "解读方案", "interpreter": CLERK})
    material = wf.add_material(CLERK, doc, form="text", title="文字解读", body="一、制定背景").details[
        "material_id"
    ]
    return doc, material


def signoff(env: ApiEnv) -> int:
    wf = env.wf
    doc, _ = plan_with_material(env)
    wf.set_signers(CLERK, doc, [HEAD, SIGNER, LEADER])
    wf.fire(CLERK, doc, "request_signoff")
    return doc


def signed(env: ApiEnv) -> int:
    doc = signoff(env)
    env.wf.sign(HEAD, doc)
    env.wf.sign(SIGNER, doc)
    env.wf.sign(LEADER, doc)
    return doc


def published(env: ApiEnv) -> int:
    doc = signed(env)
    env.wf.fire(CLERK, doc, "publish", publication_url=URL)
    return doc


def document_version(env: ApiEnv, doc_id: int | None) -> int | None:
    if doc_id is None:
        return None
    with env.db.transaction() as session:
        return session.get(Document, doc_id).version  # type: ignore[union-attr]


def queued_email(env: ApiEnv) -> int:
    """The id of an email queued by a real change (request_signoff emails the signers)."""
    doc = signoff(env)
    with env.db.transaction() as session:
        return int(session.scalars(select(OutboxMessage.id).where(OutboxMessage.document_id == doc)).first())


def fresh_token(env: ApiEnv) -> int:
    from workflow.services.tokens import Tokens

    return int(Tokens(env.db, env.clock).create("admin", "he.gl", "to revoke")[1]["id"])


# ---------------------------------------------------------------------------- the routes
Request = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Route:
    name: str
    request: Callable[[ApiEnv], Request]
    allowed: frozenset[str]
    status: int
    public: bool = False


def route(
    name: str,
    request: Callable[[ApiEnv], Request],
    allowed: set[str],
    status: int = 200,
    public: bool = False,
) -> Route:
    return Route(name, request, frozenset(allowed), status, public)


def _file_material(env: ApiEnv) -> tuple[int, int]:
    """A document in sign-off with a graphic that is a file (its signers may read it)."""
    import io

    doc, _ = plan_with_material(env)
    mid = env.wf.attach_file(
        CLERK, doc, form="graphic", title="一图读懂", source=io.BytesIO(png()), filename="图.png"
    ).details["material_id"]
    env.wf.set_signers(CLERK, doc, [HEAD, SIGNER, LEADER])
    env.wf.fire(CLERK, doc, "request_signoff")
    return doc, int(mid)


def _material(env: ApiEnv) -> Request:
    doc, material = plan_with_material(env)
    return "DELETE", f"/documents/{doc}/materials/{material}", {}


ROUTES = [
    route("GET /documents", lambda e: ("GET", "/documents", {"params": {"state": "draft"}}), AUTHENTICATED),
    route(
        "GET /documents?q=", lambda e: ("GET", "/documents", {"params": {"q": "福州市 管理"}}), AUTHENTICATED
    ),
    route(
        "POST /documents/import",
        lambda e: (
            "POST",
            "/documents/import",
            {
                "files": {
                    "file": (
                        "在办.csv",
                        f"标题,文号,单位代码,状态\n停车管理办法,榕交〔2030〕{next(_unique)}号,spc,起草\n".encode(),
                        "text/csv",
                    )
                }
            },
        ),
        {"admin"},
        201,
    ),
    route(
        "POST /documents",
        lambda e: (
            "POST",
            "/documents",
            {"json": {"title": "福州市出租汽车管理办法", "doc_number": "榕交〔2024〕2号", "unit": "spc"}},
        ),
        {"clerk"},
        201,
    ),
    route("GET /documents/{id}", lambda e: ("GET", f"/documents/{signoff(e)}", {}), READERS),
    route(
        "GET /documents/{id}/timeline", lambda e: ("GET", f"/documents/{signoff(e)}/timeline", {}), READERS
    ),
    route(
        "PATCH /documents/{id}",
        lambda e: ("PATCH", f"/documents/{draft(e)}", {"json": {"title": "新标题"}}),
        {"clerk"},
    ),
    route(
        "POST /documents/{id}/materials",
        lambda e: (
            "POST",
            f"/documents/{draft(e)}/materials",
            {"json": {"form": "graphic", "title": "图解", "uri": "https://jtj.fuzhou.example.cn/tj/1.png"}},
        ),
        {"clerk"},
        201,
    ),
    route("DELETE /documents/{id}/materials/{mid}", _material, {"clerk"}),
    route(
        "POST /documents/{id}/materials/file",
        lambda e: (
            "POST",
            f"/documents/{draft(e)}/materials/file",
            {
                "data": {"form": "graphic", "title": "一图读懂"},
                "files": {"file": ("图.png", png(), "image/png")},
            },
        ),
        {"clerk"},
        201,
    ),
    route(
        "PUT /documents/{id}/materials/{mid}/file",
        lambda e: (
            "PUT",
            "/documents/{}/materials/{}/file".format(*_file_material(e)),
            {"files": {"file": ("新图.png", png(b"\x00\xff\x00"), "image/png")}},
        ),
        {"clerk"},
    ),
    route(
        "GET /documents/{id}/materials/{mid}/file",
        lambda e: ("GET", "/documents/{}/materials/{}/file".format(*_file_material(e)), {}),
        READERS,
    ),
    route(
        "PUT /documents/{id}/signers",
        lambda e: ("PUT", f"/documents/{draft(e)}/signers", {"json": {"signers": [HEAD, SIGNER, LEADER]}}),
        {"clerk"},
    ),
    route(
        "POST /documents/{id}/signatures",
        lambda e: ("POST", f"/documents/{signoff(e)}/signatures", {}),
        {"signer"},
    ),
    route(
        "POST /documents/{id}/reject",
        lambda e: ("POST", f"/documents/{signoff(e)}/reject", {"json": {"reason": "解读材料不充分"}}),
        {"signer"},
    ),
    route(
        "POST /documents/{id}/triggers/prepare_plan",
        lambda e: ("POST", f"/documents/{draft(e)}/triggers/prepare_plan", {}),
        {"clerk"},
    ),
    route(
        "POST /documents/{id}/triggers/reject_to_draft",
        lambda e: ("POST", f"/documents/{signoff(e)}/triggers/reject_to_draft", {"json": {"reason": "重写"}}),
        {"signer"},
    ),
    route(
        "POST /documents/{id}/triggers/publish",
        lambda e: ("POST", f"/documents/{signed(e)}/triggers/publish", {"json": {"publication_url": URL}}),
        {"clerk"},
    ),
    route(
        "POST /documents/{id}/triggers/withdraw",
        lambda e: ("POST", f"/documents/{draft(e)}/triggers/withdraw", {"json": {"reason": "不再出台"}}),
        {"clerk"},
    ),
    route(
        "POST /documents/{id}/postings",
        lambda e: (
            "POST",
            f"/documents/{published(e)}/postings",
            {"json": {"channel": "portal", "url": "https://jtj.fuzhou.example.cn/jd/1.htm"}},
        ),
        {"clerk"},
        201,
    ),
    route("GET /me", lambda e: ("GET", "/me", {}), AUTHENTICATED),
    route("GET /units", lambda e: ("GET", "/units", {}), AUTHENTICATED),
    route(
        "POST /units",
        lambda e: ("POST", "/units", {"json": {"code": f"t{next(_unique)}", "name": "测试处"}}),
        {"admin"},
        201,
    ),
    route(
        "PATCH /units/{code}",
        lambda e: (
            "PATCH",
            "/units/spc",
            {"json": {"name": f"行政审批处{next(_unique)}", "wecom_events": "overdue,escalated"}},
        ),
        {"admin"},
    ),
    route("GET /users", lambda e: ("GET", "/users", {"params": {"unit": "spc"}}), TRAIL),
    route("GET /users/{login}/history", lambda e: ("GET", "/users/he.gl/history", {}), TRAIL),
    route(
        "POST /users",
        lambda e: (
            "POST",
            "/users",
            {"json": {"login": f"new.{next(_unique)}", "name": "新同事", "unit": "spc", "roles": ["member"]}},
        ),
        {"admin"},
        201,
    ),
    route(
        "PATCH /users/{login}", lambda e: ("PATCH", "/users/he.gl", {"json": {"name": "何主任"}}), {"admin"}
    ),
    route("GET /tokens", lambda e: ("GET", "/tokens", {}), {"admin"}),
    route(
        "POST /tokens",
        lambda e: ("POST", "/tokens", {"json": {"login": "he.gl", "name": "portal"}}),
        {"admin"},
        201,
    ),
    route("DELETE /tokens/{id}", lambda e: ("DELETE", f"/tokens/{fresh_token(e)}", {}), {"admin"}),
    route(
        "GET /deadline",
        lambda e: ("GET", "/deadline", {"params": {"published": "2024-02-09T10:00+08:00"}}),
        AUTHENTICATED,
    ),
    route("GET /calendar/{year}", lambda e: ("GET", "/calendar/2024", {}), AUTHENTICATED),
    route(
        "PUT /calendar/{year}",
        lambda e: (
            "PUT",
            "/calendar/2027",
            {"files": {"file": ("2027.toml", CALENDAR_2027, "application/toml")}},
        ),
        {"admin"},
    ),
    route(
        "GET /reports/{name}",
        lambda e: ("GET", "/reports/on-time", {"params": {"period": "2024", "by": "month"}}),
        TRAIL,
    ),
    route(
        "GET /reports/{name} as CSV",
        lambda e: ("GET", "/reports/ledger", {"params": {"format": "csv"}}),
        TRAIL,
    ),
    route(
        "GET /audit/events",
        lambda e: ("GET", "/audit/events", {"params": {"outcome": "refused", "limit": 5}}),
        TRAIL,
    ),
    route("GET /audit/verify", lambda e: ("GET", "/audit/verify", {"params": {"document_id": 1}}), TRAIL),
    # Reading the outbox: whoever may read the whole trail, as ``santongbu outbox`` asks.
    route("GET /outbox", lambda e: ("GET", "/outbox", {"params": {"status": "pending"}}), TRAIL),
    route("GET /outbox/{id}", lambda e: ("GET", f"/outbox/{queued_email(e)}", {}), TRAIL),
    route("POST /outbox/{id}/retry", lambda e: ("POST", f"/outbox/{queued_email(e)}/retry", {}), {"admin"}),
    route("GET /health", lambda e: ("GET", "/health", {}), set(PERSONAS), public=True),
]


@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("spec", ROUTES, ids=[r.name for r in ROUTES])
def test_role_matrix(env: ApiEnv, spec: Route, persona: str) -> None:
    if persona in spec.allowed:
        method, path, kwargs = spec.request(env)
    else:
        # A refused request changes nothing (checked below through the document's version), so
        # the refused personas of one route share one prepared request.
        if spec.name not in env.scratch:
            env.scratch[spec.name] = spec.request(env)
        method, path, kwargs = env.scratch[spec.name]  # type: ignore[misc]
    login = PERSONAS[persona]
    part = path.split("/")[2] if path.startswith("/documents/") else ""
    doc_id = int(part) if part.isdigit() else None
    version_before = document_version(env, doc_id) if doc_id else None
    refused_before = env.audit_count(actor=login, outcome="refused") if login else 0
    events_before = env.audit_count()
    response = env.http.request(method, path, headers=env.headers(persona), **kwargs)

    if persona in spec.allowed:
        expected = spec.status
    elif persona in ("anonymous", "revoked"):
        expected = 401
    else:
        expected = 403
    assert response.status_code == expected, f"{persona} {method} {path}: {response.text}"

    if expected == 403:
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["type"] == "urn:santongbu:problem:forbidden"
        assert problem["reasons"] and problem["reasons"][0]["code"] in {
            "not_member",
            "not_signer",
            "not_reader",
            "not_admin",
            "not_auditor",
            "not_own_tokens",
        }
        assert problem["detail"]
        assert env.audit_count(actor=login, outcome="refused") == refused_before + 1, "refusal not audited"
        assert document_version(env, doc_id) == version_before, "a refused request changed the document"
    elif expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["reasons"][0]["code"] in {"unauthenticated", "token_invalid"}
        assert env.audit_count() == events_before, "an unauthenticated request wrote to the audit trail"
        assert document_version(env, doc_id) == version_before
    else:
        assert response.headers["content-type"] in (
            "application/json",
            "text/csv; charset=utf-8",
            "image/png",
        )
        if login and not spec.public:
            assert env.audit_count(actor=login, outcome="refused") == refused_before
