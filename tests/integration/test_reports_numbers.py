"""The reports flag the documents that share their 文号 (document number) with another document,
on SQLite and PostgreSQL (workflow/services/reports/numbers.py).

A number another document has is refused unless the drafting clerk says a second one is meant
(``--allow-duplicate-number``, ``allow_duplicate_number``, the box on the page). Before this, a
supervisor saw such a twin only in the audit trail and in the ledger's number column; now the
row names the other documents, the per-unit reports count them, and every summary says how many.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.factories import CLERK, make_workflow, new_draft, post_both, seed_bureau, to_published
from tests.web_support import Session, web_env
from workflow.entrypoints.cli.main import app
from workflow.services.documents import Workflow
from workflow.services.reports import Reports
from workflow.services.reports.numbers import shared_numbers
from workflow.services.tokens import Tokens

SUPERVISOR = "audit.cs"
OTHER_CLERK = "xu.kxc"  # a clerk of another drafting unit (科信处)
NUMBER, TWIN = "榕交〔2024〕1号", "榕交〔2024〕7号"


@pytest.fixture
def built(db, clock, settings):  # type: ignore[no-untyped-def]
    """In 审批处: ``honest`` (its own number, posted on time), ``twin1`` and ``twin2`` (one
    number given twice; twin1 posted late, twin2 overdue) and ``own`` (a number of its own,
    overdue). Later, 科信处 drafts a document with honest's number (``copy``: a draft, in another
    unit). A document leaves its draft only with a number, so no published one has an empty
    number; drafts without one (``blank``: "", ``unnumbered``: none) share nothing."""
    seed_bureau(db, clock)
    wf = make_workflow(db, clock, settings)
    honest = to_published(wf, number=NUMBER)
    twin1 = to_published(wf, number=TWIN)
    twin2 = to_published(wf, number=TWIN)
    own = to_published(wf, number="榕交〔2024〕9号")
    blank = [new_draft(wf, number=""), new_draft(wf, number="")]
    unnumbered = [new_draft(wf, number=None), new_draft(wf, number=None)]
    clock.advance(timedelta(hours=20))
    post_both(wf, honest)
    before_copy = clock.now()
    clock.advance(timedelta(days=1))
    copy = new_draft(wf, clerk=OTHER_CLERK, number=NUMBER)
    clock.advance(timedelta(days=10))  # every other deadline long past
    post_both(wf, twin1)
    return {
        "honest": honest,
        "twin1": twin1,
        "twin2": twin2,
        "own": own,
        "blank": blank,
        "unnumbered": unnumbered,
        "copy": copy,
        "before_copy": before_copy,
    }


def test_the_ledger_names_the_other_documents_with_the_number(db, clock, settings, built) -> None:  # type: ignore[no-untyped-def]
    table = Reports(db, clock, settings).ledger(SUPERVISOR, period="2024")
    got = {r["document_id"]: r["shared_number"] for r in table.rows}
    assert got == {
        built["honest"]: [built["copy"]],  # a draft of another unit counts: any state, any unit
        built["twin1"]: [built["twin2"]],
        built["twin2"]: [built["twin1"]],
        built["own"]: [],
    }
    assert table.meta["number_shared"] == 3
    assert table.as_dict()["number_shared"] == 3 and "shared_number" in table.as_dict()["columns"]


def test_an_empty_or_missing_number_is_shared_by_nobody(db, clock, built) -> None:  # type: ignore[no-untyped-def]
    """Only drafts can be without a number (a document leaves its draft only with one), so the
    reports never list them; the look-up behind them says the same."""
    with db.transaction() as session:
        got = shared_numbers(session, [*built["blank"], *built["unnumbered"], built["honest"]], clock.now())
    assert got == {built["honest"]: [built["copy"]]}


def test_a_twin_counts_from_when_it_was_created(db, clock, settings, built) -> None:  # type: ignore[no-untyped-def]
    reports = Reports(db, clock, settings)
    before = built["before_copy"]
    rows = {r["document_id"]: r for r in reports.ledger(SUPERVISOR, period="2024", now=before).rows}
    assert rows[built["honest"]]["shared_number"] == []
    assert rows[built["twin1"]]["shared_number"] == [built["twin2"]]
    assert reports.ledger(SUPERVISOR, period="2024", now=before).meta["number_shared"] == 2
    assert reports.on_time(SUPERVISOR, period="2024", now=before).meta["number_shared"] == 2


def test_on_time_and_year_end_count_them_per_unit(db, clock, settings, built) -> None:  # type: ignore[no-untyped-def]
    reports = Reports(db, clock, settings)
    for table in (reports.on_time(SUPERVISOR, period="2024"), reports.year_end(SUPERVISOR, period="2024")):
        rows = {r["unit"]: r for r in table.rows}
        assert (rows["spc"]["published"], rows["spc"]["number_shared"]) == (4, 3), table.name
        assert rows.get("kxc", {}).get("number_shared", 0) == 0  # its draft is not published
        assert table.totals is not None and table.totals["number_shared"] == 3
        assert table.meta["number_shared"] == 3
    assert reports.on_time(SUPERVISOR, period="2024", unit="kxc").meta["number_shared"] == 0


def test_the_overdue_and_late_reports_mark_their_rows(db, clock, settings, built) -> None:  # type: ignore[no-untyped-def]
    reports = Reports(db, clock, settings)
    overdue = reports.overdue(SUPERVISOR)
    assert {r["document_id"]: r["shared_number"] for r in overdue.rows} == {
        built["twin2"]: [built["twin1"]],
        built["own"]: [],
    }
    assert overdue.meta["number_shared"] == 1
    late = reports.late(SUPERVISOR, period="2024")
    assert [(r["document_id"], r["shared_number"]) for r in late.rows] == [(built["twin1"], [built["twin2"]])]
    assert late.meta["number_shared"] == 1


def test_the_cli_shows_the_column_and_the_summary_in_both_languages(db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    """Through the real entry point: ``doc create --allow-duplicate-number`` gives a published
    document's number to a second document, and ``report ledger`` says so."""
    seed_bureau(db, clock)
    first = to_published(make_workflow(db, clock, settings), number=TWIN)
    runner = CliRunner()

    def run(*args: str, lang: str = "en") -> str:
        result = runner.invoke(app, ["--db", db.url, "--lang", lang, *args])
        assert result.exit_code == 0, result.output
        return result.output

    created = json.loads(
        run(
            "doc",
            "create",
            "--as",
            CLERK,
            "--title",
            "重发的通知",
            "--number",
            TWIN,
            "--allow-duplicate-number",
            "--json",
        )
    )
    second = created["document_id"]
    asked = ("report", "ledger", "--as", SUPERVISOR, "--period", "2024")
    english = run(*asked)
    assert "documents sharing their number with another: 1" in english
    header = english.splitlines()[2]
    assert "number shared with documents" in header
    row = english.splitlines()[4]
    assert row.split()[:3] == ["1", "spc", "审批处"] and f"  {second}  " in row
    chinese = run(*asked, lang="zh")
    assert "文号与其他文件相同的文件:1" in chinese and "同文号的其他文件" in chinese.splitlines()[2]
    got = json.loads(run(*asked, "--json"))
    assert got["number_shared"] == 1
    assert [(r["document_id"], r["shared_number"]) for r in got["rows"]] == [(first, [second])]
    on_time = json.loads(run("report", "on-time", "--as", SUPERVISOR, "--period", "2024", "--json"))
    assert on_time["number_shared"] == 1 and on_time["totals"]["number_shared"] == 1


def test_the_api_and_the_pages_show_it(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The clerk ticks the box on the page to give a published document's number to a new one;
    the API's report and the supervisor's report page then name the twin and count it."""
    with web_env(db, tmp_path, people=(CLERK, SUPERVISOR)) as env:
        first = to_published(Workflow(env.db, env.clock, env.settings), number=TWIN)
        clerk = Session(env.base_url)
        assert clerk.sign_in(CLERK).status_code == 303
        form = {"csrf_token": clerk.csrf("/web/documents/new"), "title": "重新印发", "doc_number": TWIN}
        made = clerk.post("/web/documents", {**form, "allow_duplicate_number": "yes"})
        assert made.status_code == 303, made.text[:300]
        second = int(made.headers["location"].split("/documents/")[1].split("?")[0])
        clerk.close()

        token = Tokens(env.db, env.clock).create("admin", SUPERVISOR, "reports")[0]
        with httpx.Client(base_url=env.base_url, headers={"Authorization": f"Bearer {token}"}) as api:
            got = api.get("/reports/ledger", params={"period": "2024"}).json()
            assert got["number_shared"] == 1 and "shared_number" in got["columns"]
            assert [(r["document_id"], r["shared_number"]) for r in got["rows"]] == [(first, [second])]
            year = api.get("/reports/year-end", params={"period": "2024"}).json()
            assert year["number_shared"] == 1 and year["totals"]["number_shared"] == 1
            csv = api.get(
                "/reports/ledger",
                params={"period": "2024", "format": "csv"},
                headers={"Accept-Language": "en"},
            ).text
            assert "number shared with documents" in csv.splitlines()[0] and f",{second}," in csv

        supervisor = Session(env.base_url)
        assert supervisor.sign_in(SUPERVISOR).status_code == 303
        ledger = supervisor.get("/web/reports?report=ledger&period=2024").text
        assert '<th scope="col">同文号的其他文件</th>' in ledger and f"<td>{second}</td>" in ledger
        assert '<span data-summary="number_shared">文号与其他文件相同的文件:1</span>' in ledger
        assert '<span data-summary="clock_overridden">时钟被指定时登记的文件:0</span>' in ledger
        on_time = supervisor.get("/web/reports?report=on-time&period=2024").text
        assert '<th scope="col">文号与其他文件相同</th>' in on_time
        assert '<span data-summary="number_shared">文号与其他文件相同的文件:1</span>' in on_time
        supervisor.close()
