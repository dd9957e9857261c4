"""Search through every interface: ``santongbu doc search``, ``GET /documents?q=`` (with the
next page in a Link header) and the pages' search box; the same service answers each."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.api_support import api_env
from tests.web_support import PASSWORD, Session, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.entrypoints.cli.main import app
from workflow.services.documents import Workflow

NOW = "2024-02-09T10:00+08:00"


def seed(wf: Workflow) -> dict[str, int]:
    made = {}
    for key, title, number in [
        ("ride", "福州市网约车经营服务管理实施细则", "榕交〔2024〕5号"),
        ("taxi", "福州市出租汽车客运管理办法", "榕交〔2024〕6号"),
        ("bus", "福州市城市公交网约车衔接方案", None),
    ]:
        made[key] = wf.create_document(
            "liu.spc",
            title=title,
            doc_number=number,
            body="第一条 驾驶员背景审查……",
            disclosure="proactive",
            risk_assessment_needed=False,
        ).document_id
    return made


def test_cli_search(db, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import SAMPLE

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["--db", db.url, "--now", NOW, *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    assert run("unit", "import", str(SAMPLE))[0] == 0
    for n, title in enumerate(("福州市网约车经营服务管理实施细则", "福州市出租汽车客运管理办法"), 5):
        assert (
            run(
                "doc",
                "create",
                "--as",
                "liu.spc",
                "--title",
                title,
                "--number",
                f"榕交〔2024〕{n}号",  # a second document with one 文号 would be refused
                "--disclosure",
                "proactive",
                "--no-risk",
                "--body",
                "第一条 驾驶员背景审查",
            )[0]
            == 0
        )
    code, out, _ = run("doc", "search", "网约车", "--as", "lin.zfc")
    assert code == 0 and "福州市网约车经营服务管理实施细则" in out and "出租汽车" not in out
    code, out, _ = run("doc", "search", "背景审查", "--as", "lin.zfc", "--limit", "1")
    assert code == 0 and "body: 第一条 驾驶员背景审查" in out
    code, out, err = run("doc", "search", "背景审查", "--as", "lin.zfc", "--limit", "1")
    assert "还有更多:加 --before-id" in err
    code, out, _ = run("doc", "search", "网约车", "--as", "xu.kxc", "--json")
    assert code == 0 and json.loads(out)["hits"] == []  # another unit's drafts stay hidden
    code, out, err = run("doc", "search", "出租", "--as", "lin.zfc")
    assert code == 0 and "只搜索标题和文号" in err and "出租汽车" in out
    code, out, err = run("doc", "search", "网约车", "--as", "lin.zfc", "--period", "2024-13")
    assert code == 2 and "Traceback" not in out + err


def test_api_search_with_paging(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with api_env(db, tmp_path / "mail") as env:
        made = seed(env.wf)
        http = env.client("supervisor")
        got = http.get("/documents", params={"q": "网约车", "limit": 1})
        assert got.status_code == 200, got.text
        [hit] = got.json()
        assert hit["id"] == made["bus"] and hit["matched"] == ["title"] and hit["excerpt"]
        link = got.headers["link"]
        assert (
            link == f'</documents?q=%E7%BD%91%E7%BA%A6%E8%BD%A6&limit=1&before_id={made["bus"]}>; rel="next"'
        )
        nxt = http.get(link[1 : link.index(">")])
        assert [h["id"] for h in nxt.json()] == [made["ride"]] and "link" not in nxt.headers
        assert [h["id"] for h in http.get("/documents", params={"q": "榕交〔2024〕6号"}).json()] == [
            made["taxi"]
        ]
        alone = http.get("/documents", params={"period": "2024"}, headers={"Accept-Language": "zh"})
        assert alone.status_code == 422 and alone.json()["reasons"][0]["message"].endswith(
            "只能与 q 一起使用"
        )
        assert http.get("/documents", params={"q": " "}).status_code == 422
        plain = http.get("/documents").json()
        assert plain[0]["matched"] is None and plain[0]["excerpt"] is None
        assert env.client("other_clerk").get("/documents", params={"q": "网约车"}).json() == []


def test_search_box_on_the_pages(web_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with web_env(web_db, tmp_path, people=None) as env:
        made = seed(Workflow(web_db, env.clock, env.settings))
        s = Session(env.base_url)
        s.sign_in("liu.spc", PASSWORD)
        home = s.get("/web/documents").text
        assert 'action="/web/search"' in home and 'name="q"' in home
        page = s.get("/web/search", params={"q": "背景审查"})
        assert page.status_code == 200
        assert page.text.count('data-doc="') == 3 and "驾驶员背景审查" in page.text and "正文" in page.text
        one = s.get("/web/search", params={"q": "网约车 衔接"}).text
        assert f'data-doc="{made["bus"]}"' in one and one.count('data-doc="') == 1
        short = s.get("/web/search", params={"q": "公交"}).text
        assert "只搜索了标题和文号" in short
        bad = s.get("/web/search", params={"q": "网约车", "period": "nope"})
        assert bad.status_code == 422 and 'role="alert"' in bad.text
        s.close()
