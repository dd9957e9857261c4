"""Searching documents (title, 文号, body, plan; unit, state and period filters), Chinese
substrings on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm), within what the searcher may
read, with the index kept current by edits and actually used by the queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.conftest import shanghai
from tests.factories import make_workflow, seed_bureau
from workflow.kernel import search
from workflow.kernel.errors import InvalidInput
from workflow.kernel.models import Document
from workflow.services.documents import Workflow

CLERK, OTHER, SUPERVISOR = "liu.spc", "xu.kxc", "lin.zfc"


@pytest.fixture
def wf(db, clock, settings) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    return make_workflow(db, clock, settings)


def create(
    wf: Workflow, clerk: str, title: str, number: str | None, body: str, plan: str | None = None
) -> int:
    doc = wf.create_document(
        clerk, title=title, doc_number=number, body=body, disclosure="proactive", risk_assessment_needed=False
    ).document_id
    if plan:
        wf.fire(clerk, doc, "prepare_plan")
        wf.edit_document(clerk, doc, {"plan": plan})
    return doc


@pytest.fixture
def docs(wf: Workflow, clock) -> dict[str, int]:  # type: ignore[no-untyped-def]
    ids = {
        "ride": create(
            wf,
            CLERK,
            "福州市网约车经营服务管理实施细则",
            "榕交〔2024〕5号",
            "第一条 为规范网络预约出租汽车经营服务行为,保障乘客安全,加强驾驶员背景审查……",
            "解读方案:政策解读要点三项,网约车平台责任",
        ),
        "taxi": create(
            wf,
            CLERK,
            "福州市出租汽车客运管理办法",
            "榕交〔2024〕6号",
            "第一条 巡游出租汽车应当按照 GB/T 2099 标准安装计价器。收费 100% 透明。",
        ),
        "road": create(wf, CLERK, "福州市道路运输管理办法", None, "第一条 道路运输经营应当依法取得许可。"),
    }
    clock.advance(timedelta(days=40))
    ids["kxc"] = create(
        wf,
        OTHER,
        "交通科技信息化建设网约车监管平台方案",
        "榕交科〔2024〕1号",
        "第一条 建设网约车监管平台,接入出租汽车计价器数据。",
    )
    return ids


def hits(wf: Workflow, login: str, q: str, **kw) -> list[int]:  # type: ignore[no-untyped-def]
    return [h.id for h in wf.search_documents(login, q, **kw).hits]


def test_chinese_substrings_in_each_field(wf: Workflow, docs: dict[str, int]) -> None:
    assert hits(wf, SUPERVISOR, "网约车") == [docs["kxc"], docs["ride"]]  # newest first
    assert hits(wf, SUPERVISOR, "榕交〔2024〕5号") == [docs["ride"]]
    assert hits(wf, SUPERVISOR, "驾驶员背景审查") == [docs["ride"]]  # body only
    assert hits(wf, SUPERVISOR, "政策解读要点") == [docs["ride"]]  # plan only
    assert hits(wf, SUPERVISOR, "不存在的词语") == []
    page = wf.search_documents(SUPERVISOR, "驾驶员背景审查")
    [hit] = page.hits
    assert hit.matched == ("body",) and "加强驾驶员背景审查" in hit.excerpt and hit.unit == "spc"
    assert not page.titles_only
    [plan_hit] = wf.search_documents(SUPERVISOR, "网约车平台责任").hits
    assert plan_hit.matched == ("plan",)


def test_every_term_must_match_and_short_terms_narrow(wf: Workflow, docs: dict[str, int]) -> None:
    assert hits(wf, SUPERVISOR, "网约车 计价器") == [docs["kxc"]]
    assert hits(wf, SUPERVISOR, "出租汽车 福州") == [docs["taxi"], docs["ride"]]  # 福州 is short: narrows
    page = wf.search_documents(SUPERVISOR, "出租")  # only a short term: titles and 文号
    assert page.titles_only and [h.id for h in page.hits] == [docs["taxi"]]
    assert hits(wf, SUPERVISOR, "5号") == [docs["ride"]]


def test_no_wildcards_and_ascii_ignores_case(wf: Workflow, docs: dict[str, int]) -> None:
    assert hits(wf, SUPERVISOR, "gb/t 2099") == [docs["taxi"]]
    assert hits(wf, SUPERVISOR, "100%") == [docs["taxi"]]
    assert hits(wf, SUPERVISOR, "1_0%") == []
    assert hits(wf, SUPERVISOR, '"网约车"') == []  # quotes are text, not FTS5 syntax
    assert hits(wf, SUPERVISOR, "网约车 OR 道路") == []  # nor are operators


def test_only_what_the_searcher_may_read(wf: Workflow, docs: dict[str, int]) -> None:
    assert hits(wf, CLERK, "网约车") == [docs["ride"]]
    assert hits(wf, OTHER, "网约车") == [docs["kxc"]]
    assert hits(wf, "audit.cs", "网约车") == [docs["kxc"], docs["ride"]]
    wf.set_signers(OTHER, docs["kxc"], ["chen.spc", "director"])
    assert hits(wf, "chen.spc", "网约车") == [docs["kxc"], docs["ride"]]  # a named signer reads it


def test_filters_and_paging(wf: Workflow, docs: dict[str, int]) -> None:
    assert hits(wf, SUPERVISOR, "网约车", unit_code="kxc") == [docs["kxc"]]
    assert hits(wf, SUPERVISOR, "网约车", state="interpretation_plan") == [docs["ride"]]
    assert hits(wf, SUPERVISOR, "网约车", period="2024-02") == [docs["ride"]]  # created 5 Feb
    assert hits(wf, SUPERVISOR, "网约车", period="2024-03") == [docs["kxc"]]  # created 16 Mar
    first = wf.search_documents(SUPERVISOR, "第一条", limit=2)
    assert [h.id for h in first.hits] == [docs["kxc"], docs["road"]] and first.next_before_id == docs["road"]
    rest = wf.search_documents(SUPERVISOR, "第一条", limit=2, before_id=first.next_before_id)
    assert [h.id for h in rest.hits] == [docs["taxi"], docs["ride"]] and rest.next_before_id is None


def test_edits_keep_the_index_current(wf: Workflow, docs: dict[str, int]) -> None:
    wf.edit_document(CLERK, docs["road"], {"title": "福州市城市公共汽车客运管理办法"})
    assert hits(wf, SUPERVISOR, "道路运输管理办法") == []
    assert hits(wf, SUPERVISOR, "公共汽车客运") == [docs["road"]]
    assert hits(wf, SUPERVISOR, "依法取得许可") == [docs["road"]]  # the body is still indexed


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b", "x" * 201, " ".join(str(i) for i in range(9))])
def test_bad_queries(wf: Workflow, bad: str) -> None:
    with pytest.raises(InvalidInput):
        wf.search_documents(SUPERVISOR, bad)


def test_the_index_is_what_answers(db, wf: Workflow, docs: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    query = search.parse("网约车")
    stmt, order = search.matching(db.engine.dialect.name, query, Document, Document.id)
    stmt = stmt.where(search.match(db.engine.dialect.name, query, Document)).order_by(order.desc()).limit(51)
    with db.engine.connect() as conn:
        compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
        if db.is_sqlite:
            plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "documents_fts VIRTUAL TABLE INDEX" in plan, plan
            assert "TEMP B-TREE" not in plan, plan  # FTS5 gives the rows newest first: no sort
        else:
            assert search.pg_indexes_chinese(conn), "this database's LC_CTYPE does not make Chinese trigrams"
            conn.execute(text("SET enable_seqscan = off"))  # a few rows: force the planner's hand
            conn.execute(text("SET enable_indexscan = off"))
            plan = " ".join(r[0] for r in conn.execute(text(f"EXPLAIN {compiled}")))
            assert all(name in plan for name in search.PG_INDEXES), plan


def test_postgresql_pages_newest_first_across_the_window(
    db, wf: Workflow, docs: dict[str, int], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Both phases of pg_newest_first: a window of one document leaves the rest to the indexes."""
    if db.is_sqlite:
        return
    monkeypatch.setattr(search, "pg_window", lambda session, wanted: 1)
    assert hits(wf, SUPERVISOR, "网约车") == [
        docs["kxc"],
        docs["ride"],
    ]  # kxc in the window, ride from the index
    assert hits(wf, SUPERVISOR, "第一条", limit=2) == [docs["kxc"], docs["road"]]
    assert hits(wf, CLERK, "网约车") == [docs["ride"]]
    assert hits(wf, SUPERVISOR, "出租汽车 网约车") == [docs["kxc"], docs["ride"]]  # the rarer term's index
    assert hits(wf, SUPERVISOR, "网约车 平台责任") == [docs["ride"]]


def test_published_period_counts_by_publication(wf: Workflow, clock, db) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import to_published

    clock.set(shanghai(2024, 4, 1, 9, 0))
    doc = to_published(wf, title="福州市网约车专项整治方案")
    assert hits(wf, SUPERVISOR, "专项整治", period="2024-04") == [doc]
    assert hits(wf, SUPERVISOR, "专项整治", period="2024-Q1") == []
