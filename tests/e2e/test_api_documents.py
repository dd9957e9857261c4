"""The API the way a drafting unit, its signers and an administrator use it, over real HTTP,
on SQLite and PostgreSQL: a whole lifecycle, If-Match, refusals in Chinese and English,
visibility, tokens, the deadline calculator, calendar loading and /health."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.api_support import ApiEnv, api_env, live_server
from tests.conftest import REDIS_URL, shanghai
from workflow.entrypoints.api import create_app
from workflow.entrypoints.api.problems import negotiate
from workflow.kernel.clock import SystemClock
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent
from workflow.kernel.settings import Settings
from workflow.services.tokens import Tokens

PORTAL = "https://jtj.fuzhou.example.cn"


@pytest.fixture
def env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    with api_env(db, tmp_path / "mail") as served:
        yield served


def test_first_session_from_draft_to_interpretation_posted(env: ApiEnv) -> None:
    clerk = env.client("clerk")
    r = clerk.post(
        "/documents",
        json={
            "title": "福州市网约车管理办法",
            "doc_number": "榕交〔2024〕5号",
            "body": "第一条 为规范…",
            "disclosure": "proactive",
            "risk_assessment_needed": False,
        },
    )
    assert r.status_code == 201, r.text
    doc = r.json()["document_id"]
    assert r.headers["location"] == f"/documents/{doc}"
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    version = r.json()["version"]

    r = clerk.post(f"/documents/{doc}/triggers/prepare_plan", headers={"If-Match": f'"{version}"'})
    assert r.status_code == 200 and r.json()["state_after"] == "interpretation_plan", r.text
    r = clerk.patch(
        f"/documents/{doc}",
        json={"plan": "解读方案:背景、要点、问答", "interpreter": "liu.spc"},
        headers={"If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    r = clerk.post(f"/documents/{doc}/materials", json={"form": "qa", "title": "问答", "body": "问:…答:…"})
    assert r.status_code == 201 and r.json()["details"]["material_id"] > 0
    assert (
        clerk.put(f"/documents/{doc}/signers", json={"signers": ["chen.spc", "director"]}).status_code == 200
    )
    assert clerk.post(f"/documents/{doc}/triggers/request_signoff").json()["state_after"] == "joint_signoff"

    package = clerk.get(f"/documents/{doc}", params={"timeline": "false"}).json()["package_hash"]
    tokens = Tokens(env.db, env.clock)
    head = env.client(None, Authorization="Bearer " + tokens.create("admin", "chen.spc")[0])
    director = env.client(None, Authorization="Bearer " + tokens.create("admin", "director")[0])
    r = head.post(f"/documents/{doc}/signatures", json={"package": package})
    assert r.status_code == 200 and r.json()["details"]["remaining"] == ["director"], r.text
    assert director.post(f"/documents/{doc}/signatures").status_code == 200

    env.clock.set(shanghai(2024, 2, 9, 10, 0))  # Friday before the Spring Festival holiday
    r = clerk.post(f"/documents/{doc}/triggers/publish", json={"publication_url": f"{PORTAL}/zcwj/5.htm"})
    assert r.status_code == 200 and r.json()["state_after"] == "published", r.text
    assert r.json()["details"]["due_at"] == "2024-02-20T23:59:59+08:00"  # the working zone

    env.clock.set(shanghai(2024, 2, 19, 15, 0))
    r = clerk.post(
        f"/documents/{doc}/postings",
        json={"channel": "portal", "url": f"{PORTAL}/jd/5.htm", "posted_at": "2024-02-19T10:00:00+08:00"},
    )
    assert r.status_code == 201 and r.json()["state_after"] == "published"
    r = clerk.post(
        f"/documents/{doc}/postings",
        json={"channel": "news_media", "outlet": "福州日报", "evidence": "2024-02-19 第3版"},
    )
    assert r.status_code == 201 and r.json()["state_after"] == "interpretation_posted", r.text
    assert r.json()["details"]["on_time"] is True

    view = clerk.get(f"/documents/{doc}").json()
    assert view["state"] == "interpretation_posted" and view["on_time"] is True
    actions = [e["action"] for e in view["timeline"]]
    assert actions[:2] == ["create", "prepare_plan"] and actions[-1] == "post_interpretation"
    assert {"sign", "publish", "record_posting"} <= set(actions)
    assert clerk.get(f"/documents/{doc}/timeline").json() == view["timeline"]
    for c in (clerk, head, director):
        c.close()


def test_a_stale_if_match_is_409_and_changes_nothing(env: ApiEnv) -> None:
    clerk = env.client("clerk")
    created = clerk.post(
        "/documents",
        json={
            "title": "办法",
            "doc_number": "1号",
            "body": "正文",
            "disclosure": "proactive",
            "risk_assessment_needed": False,
        },
    ).json()
    doc, seen = created["document_id"], created["version"]
    assert clerk.patch(f"/documents/{doc}", json={"title": "办法(修订)"}).status_code == 200
    r = clerk.post(f"/documents/{doc}/triggers/prepare_plan", headers={"If-Match": str(seen)})
    assert r.status_code == 409
    assert r.json()["type"] == "urn:santongbu:problem:concurrent_change"
    assert r.json()["reasons"][0]["code"] == "changed_meanwhile"
    assert clerk.get(f"/documents/{doc}").json()["state"] == "draft"
    r = clerk.post(f"/documents/{doc}/triggers/prepare_plan", headers={"If-Match": 'W/"9"'})
    assert r.status_code == 409
    r = clerk.post(f"/documents/{doc}/triggers/prepare_plan", headers={"If-Match": "three"})
    assert r.status_code == 422 and r.json()["field"] == "If-Match"
    clerk.close()


def test_a_refused_trigger_says_why_in_chinese_or_english_and_is_audited(env: ApiEnv) -> None:
    clerk = env.client("clerk")
    doc = clerk.post("/documents", json={"title": "办法"}).json()["document_id"]
    r = clerk.post(f"/documents/{doc}/triggers/prepare_plan")
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:santongbu:problem:refused" and problem["title"] == "操作被拒绝"
    codes = {x["code"] for x in problem["reasons"]}
    assert {"missing_doc_number", "missing_disclosure", "missing_risk_flag"} <= codes
    assert "未审核公开属性" in problem["detail"] and r.headers["content-language"] == "zh"
    r = clerk.post(
        f"/documents/{doc}/triggers/prepare_plan", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}
    )
    assert r.json()["title"] == "Refused" and "disclosure attribute" in r.json()["detail"]
    assert r.headers["content-language"] == "en"
    with env.db.transaction() as session:
        refused = session.scalars(
            select(AuditEvent).where(AuditEvent.document_id == doc, AuditEvent.outcome == "refused")
        ).all()
    assert [e.action for e in refused] == ["prepare_plan", "prepare_plan"]
    clerk.close()


@pytest.mark.parametrize(
    "request_kwargs, status, field",
    [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 422, "body"),
        ({"json": {"title": 123}}, 422, "title"),
        ({"json": {"title": "t", "owner": "me"}}, 422, "owner"),
        ({"json": {"title": "t", "disclosure": "public"}}, 422, "disclosure"),
        ({"json": {"title": "t", "risk_assessment_needed": "maybe"}}, 422, "risk_assessment_needed"),
        ({"json": {"title": "a\u0000b"}}, 422, "title"),
        ({"content": b'{"title": "\\ud800"}', "headers": {"Content-Type": "application/json"}}, 422, "title"),
        ({"json": {"title": "two\nlines"}}, 422, "title"),
        ({"json": {"title": "t" * 501}}, 422, "title"),
        ({"json": {"title": "t", "unit": "no such unit!"}}, 422, "unit"),
        ({"json": []}, 422, "body"),
        (
            {"content": b"title=t", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
            422,
            "body",
        ),
        # Over SANTONGBU_MAX_TEXT_BYTES (2 MiB): the service's one rule names the field…
        ({"json": {"title": "t", "body": "x" * (3 * 1024 * 1024)}}, 422, "body"),
        # …and a body past room for any encoding of such a text (3 × 2 MiB + 64 KiB) is cut off.
        ({"json": {"title": "t", "body": "x" * (7 * 1024 * 1024)}}, 413, None),
    ],
)
def test_mistakes_in_a_create_are_problems_never_500(
    env: ApiEnv, request_kwargs: dict, status: int, field: str | None
) -> None:
    with env.client("clerk") as clerk:
        r = clerk.post("/documents", **request_kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == status and r.json()["detail"]
    if field:
        assert r.json()["field"] == field


@pytest.mark.parametrize(
    "method, path, kwargs, status, field",
    [
        ("GET", "/documents/99999999999999999999", {}, 422, "doc_id"),
        ("GET", "/documents/0", {}, 422, "doc_id"),
        ("GET", "/documents/abc", {}, 422, "doc_id"),
        ("GET", "/documents/2147483647", {}, 404, None),
        ("GET", "/documents", {"params": {"state": "lost"}}, 422, "state"),
        ("GET", "/documents", {"params": {"limit": "1e9"}}, 422, "limit"),
        ("GET", "/documents", {"params": {"unit": "spc\u0000"}}, 422, "unit"),
        ("POST", "/documents/1/triggers/explode", {}, 422, "trigger"),
        (
            "POST",
            "/documents/1/triggers/publish",
            {"json": {"published_at": "2024-02-09T10:00:00"}},
            422,
            "published_at",
        ),
        (
            "POST",
            "/documents/1/triggers/publish",
            {"json": {"published_at": "0001-01-01T00:00:00+01:00"}},
            422,
            "published_at",
        ),
        ("POST", "/documents/1/postings", {"json": {"channel": "carrier pigeon"}}, 422, "channel"),
        ("PUT", "/documents/1/signers", {"json": {"signers": []}}, 422, "signers"),
        ("PUT", "/documents/1/signers", {"json": {"signers": ["x"] * 51}}, 422, "signers"),
        ("GET", "/deadline", {"params": {"published": "yesterday"}}, 422, "published"),
        ("GET", "/deadline", {"params": {"published": "9999-12-31"}}, 422, "published"),
        ("GET", "/calendar/10000", {}, 422, "year"),
        ("GET", "/reports/ledger", {"params": {"period": "2024-13"}}, 422, "period"),
        (
            "GET",
            "/audit/events",
            {"params": {"since": "2024-01-01T00:00:00+08:00", "until": "2023-01-01T00:00:00+08:00"}},
            422,
            "until",
        ),
        ("DELETE", "/documents", {}, 405, None),
        ("GET", "/no/such/page", {}, 404, None),
    ],
)
def test_mistakes_anywhere_are_problems_never_500(
    env: ApiEnv, method: str, path: str, kwargs: dict, status: int, field: str | None
) -> None:
    with env.client("admin") as admin:
        r = admin.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    if field:
        assert r.json()["field"] == field and r.json()["reasons"][0]["code"] == "invalid"


def test_authentication_failures_are_401_with_a_bearer_challenge(env: ApiEnv) -> None:
    for headers in (
        {},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer stb_guessed"},
        {"Authorization": "Bearer " + "x" * 5000},
        {"Authorization": "Bearer"},
    ):
        r = env.http.get("/me", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == 'Bearer realm="santongbu"'
        assert r.json()["type"] == "urn:santongbu:problem:unauthenticated"


def test_each_caller_lists_only_what_they_may_see(env: ApiEnv) -> None:
    with env.client("clerk") as clerk:
        doc = clerk.post("/documents", json={"title": "审批处的办法"}).json()["document_id"]
    with env.client("other_clerk") as other:
        assert [d["id"] for d in other.get("/documents").json()] == []
        assert other.get(f"/documents/{doc}").status_code == 403
        assert other.get("/documents", params={"unit": "spc"}).json() == []
    for persona in ("clerk", "supervisor", "auditor", "admin"):
        with env.client(persona) as c:
            assert [d["id"] for d in c.get("/documents").json()] == [doc], persona


def test_a_deactivated_user_is_refused_everywhere_and_that_is_audited(env: ApiEnv) -> None:
    with env.client("admin") as admin:
        r = admin.patch("/users/xu.kxc", json={"active": False})
        assert r.status_code == 200 and r.json()["active"] is False
    # Deactivation revoked the user's tokens (issue 17): they authenticate no more.
    with env.client("other_clerk") as gone:
        r = gone.get("/me")
        assert r.status_code == 401 and r.json()["reasons"][0]["code"] == "token_invalid"
    # A token that escaped revocation (say, restored from a backup) still meets the rule
    # that an inactive user is refused everything, and each refusal is audited.
    from sqlalchemy import update

    from workflow.kernel.models.tokens import ApiToken
    from workflow.services.tokens import digest

    with env.db.transaction() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == digest(env.tokens["other_clerk"]))
            .values(revoked_at=None, revoked_by=None)
        )
    before = env.audit_count(actor="xu.kxc", outcome="refused")
    with env.client("other_clerk") as gone:
        for path in ("/me", "/documents", "/deadline?published=2024-02-09"):
            r = gone.get(path)
            assert r.status_code == 403 and r.json()["reasons"][0]["code"] == "inactive_user", path
    assert env.audit_count(actor="xu.kxc", outcome="refused") == before + 3


def test_tokens_are_shown_once_never_stored_or_audited_and_revocation_is_immediate(env: ApiEnv) -> None:
    with env.client("admin") as admin:
        r = admin.post("/tokens", json={"login": "he.gl", "name": "门户同步"})
        assert r.status_code == 201
        secret, token_id = r.json()["token"], r.json()["id"]
        listed = admin.get("/tokens", params={"login": "he.gl"}).json()
        assert [t["id"] for t in listed] == [token_id] and "token" not in listed[0]
        assert secret not in admin.get("/tokens").text
        with env.client(None, Authorization=f"Bearer {secret}") as he:
            assert he.get("/me").json()["login"] == "he.gl"
            assert admin.delete(f"/tokens/{token_id}").json()["active"] is False
            assert he.get("/me").status_code == 401
        assert admin.delete("/tokens/999999").status_code == 404
    with env.db.transaction() as session:
        trail = " ".join(e.details for e in session.scalars(select(AuditEvent)))
    assert secret not in trail and secret[12:] not in trail
    assert {"token_created", "token_revoked"} <= set(_actions(env))


def test_a_clerk_lists_only_their_own_tokens_by_the_cli_s_rule(env: ApiEnv) -> None:
    """``GET /tokens`` and ``santongbu token list`` ask the same service rule
    (``states.permissions.may_list_tokens``): an administrator every token, anyone else only
    their own, asked for by name; a refusal is audited as ``token_list``."""
    with env.client("clerk") as clerk:
        own = clerk.get("/tokens", params={"login": "liu.spc"})
        assert own.status_code == 200 and {t["login"] for t in own.json()} == {"liu.spc"}
        for params in ({}, {"login": "xu.kxc"}):
            refused = clerk.get("/tokens", params=params)
            assert refused.status_code == 403 and refused.json()["reasons"][0]["code"] == "not_own_tokens"
        users = clerk.get("/users")
        assert users.status_code == 403 and users.json()["reasons"][0]["code"] == "not_auditor"
    with env.db.transaction() as session:
        refused = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.actor == "liu.spc", AuditEvent.outcome == "refused")
            .order_by(AuditEvent.id)
        ).all()
    assert refused[-3:] == ["token_list", "token_list", "user_list"]


def _actions(env: ApiEnv) -> list[str]:
    with env.db.transaction() as session:
        return list(session.scalars(select(AuditEvent.action)))


def test_deadline_calculator_counts_make_up_working_days(env: ApiEnv) -> None:
    with env.client("other_clerk") as anyone:
        r = anyone.get(
            "/deadline", params={"published": "2019-09-27"}
        )  # docs/design.md §3: Sun 29 Sep is worked
        assert r.status_code == 200
        assert r.json()["due_date"] == "2019-10-08" and r.json()["provisional"] is False
        assert r.json()["counted_days"] == ["2019-09-29", "2019-09-30", "2019-10-08"]
        r = anyone.get("/deadline", params={"published": "2024-02-09T23:30:00+08:00"})
        assert r.json()["due_date"] == "2024-02-20"
        assert r.json()["due_local"] == "2024-02-20T23:59:59+08:00"


SCHEDULE_2027 = """year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知 (test)"
official = true

[[holidays]]
name = "春节"
start = 2027-02-06
end = 2027-02-12

[[workdays]]
date = 2027-02-14
name = "春节调休上班"
"""


def test_an_administrator_loads_a_year_and_everyone_sees_it(env: ApiEnv) -> None:
    with env.client("admin") as admin:
        upload = {"file": ("2027.toml", SCHEDULE_2027.encode(), "application/toml")}
        r = admin.put("/calendar/2027", files=upload)
        assert r.status_code == 200, r.text
        assert r.json()["holidays"] == 7 and r.json()["workdays"] == 1 and r.json()["official"] is True
        r = admin.put("/calendar/2028", files=upload)
        assert r.status_code == 422 and r.json()["field"] == "file"
        broken = SCHEDULE_2027.replace('name = "春节"', 'name = "春\\u0000节"').encode()
        r = admin.put("/calendar/2027", files={"file": ("2027.toml", broken, "application/toml")})
        assert r.status_code == 422
        r = admin.put("/calendar/2027", files={"file": ("2027.toml", b"year = ", "application/toml")})
        assert r.status_code == 422 and "TOML" in r.json()["detail"]
    with env.client("clerk") as clerk:
        shown = clerk.get("/calendar/2027").json()
        assert shown["loaded"] is True and shown["workdays"] == [
            {"date": "2027-02-14", "name": "春节调休上班"}
        ]
        r = clerk.get("/deadline", params={"published": "2027-02-05"})
        assert r.json()["counted_days"] == ["2027-02-14", "2027-02-15", "2027-02-16"]


@pytest.mark.redis
def test_health_pings_the_redis_broker(db: Database, tmp_path: Path) -> None:
    for broker, status, broker_status in (
        (REDIS_URL, 200, "ok"),
        ("redis://127.0.0.1:1/0", 503, "error"),
        (None, 200, "embedded"),
    ):
        settings = Settings(database_url=db.url, broker_url=broker, mail_folder=tmp_path)
        with live_server(create_app(db, SystemClock(), settings)) as url:
            r = httpx.get(url + "/health")
        assert r.status_code == status and r.json()["broker"]["status"] == broker_status, r.text
        assert r.json()["database"]["status"] == "ok"
        assert "127.0.0.1" not in r.text  # names no host


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, "zh"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("fr-FR, en;q=0.5", "en"),
        ("fr", "zh"),
        ("en;q=0, zh", "zh"),
        ("*", "zh"),
        ("en;q=abc", "zh"),
        ("de;q=0.9, en;q=0.8, zh;q=0.9", "zh"),
    ],
)
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header, "zh") == expected
