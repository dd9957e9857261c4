"""The reports flag the documents whose publication or postings were recorded under a clock
override ("as of" an instant of the actor's choosing: the CLI's ``--now``), on SQLite and
PostgreSQL. On time is still judged on the recorded instant (drills and the demo rely on it);
the flag makes such a figure visible to a supervisor (workflow/services/reports/overrides.py).

The cheat the flag is for: the deadline has passed, and a clerk posts "as of" an instant before
it, so the on-time figure would count the document as on time.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import shanghai
from tests.factories import CLERK, make_workflow, post_both, seed_bureau, to_published, to_signed
from workflow.entrypoints.cli.main import app
from workflow.kernel import attribution
from workflow.kernel.clock import FixedClock
from workflow.kernel.models import AuditEvent, Document
from workflow.services.reports import Reports

SUPERVISOR = "audit.cs"


@pytest.fixture
def built(db, clock, settings):  # type: ignore[no-untyped-def]
    """H posted on time honestly; B published honestly and, a month later, posted "as of" the
    day after publication; C published "as of" a chosen instant and not posted."""
    seed_bureau(db, clock)
    wf = make_workflow(db, clock, settings)
    honest = to_published(wf)
    cheat = to_published(wf)
    published = clock.now()
    clock.advance(timedelta(hours=20))
    post_both(wf, honest)
    as_of_c = clock.now()
    signed = to_signed(wf)
    clock.advance(timedelta(days=30))  # the real time: every deadline long past
    with attribution.acting("cli", "os:clerk@pc", clock_override=True):
        chosen = FixedClock(published + timedelta(days=1))
        post_both(make_workflow(db, chosen, settings), cheat)
        make_workflow(db, FixedClock(as_of_c), settings).fire(
            CLERK, signed, "publish", publication_url="https://jtj.fuzhou.example.cn/zcwj/3.htm"
        )
    return {"honest": honest, "cheat": cheat, "late_published": signed, "chosen": chosen.now()}


def test_the_trail_records_the_real_time_of_the_override_only(db, built) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        walls = {
            (e.document_id, e.action): e.wall_at is not None
            for e in s.scalars(select(AuditEvent).where(AuditEvent.document_id.is_not(None)))
        }
        assert s.get(Document, built["cheat"]).on_time is True  # the figure the flag is about
    assert walls[(built["cheat"], "record_posting")] and walls[(built["late_published"], "publish")]
    assert not walls[(built["honest"], "record_posting")] and not walls[(built["honest"], "publish")]


def test_on_time_counts_the_documents_recorded_under_an_override(db, clock, settings, built) -> None:  # type: ignore[no-untyped-def]
    table = Reports(db, clock, settings).on_time(SUPERVISOR, period="2024")
    [spc] = [r for r in table.rows if r["unit"] == "spc"]
    assert (spc["published"], spc["on_time"], spc["clock_overridden"]) == (3, 2, 2)
    assert table.totals is not None and table.totals["clock_overridden"] == 2
    assert table.meta["clock_overridden"] == 2
    assert table.as_dict()["clock_overridden"] == 2 and "clock_overridden" in table.as_dict()["columns"]


def test_the_ledger_marks_which_records_were_made_under_an_override(db, clock, settings, built) -> None:  # type: ignore[no-untyped-def]
    table = Reports(db, clock, settings).ledger(SUPERVISOR, period="2024")
    rows = {r["document_id"]: r for r in table.rows}
    assert rows[built["cheat"]]["clock_override"] == ["portal", "news_media"]
    assert rows[built["cheat"]]["status"] == "on_time"  # still counted as recorded
    assert rows[built["late_published"]]["clock_override"] == ["publication"]
    assert rows[built["honest"]]["clock_override"] == []
    assert table.meta["clock_overridden"] == 2


def test_an_override_counts_as_of_its_instant_like_everything_else(db, clock, settings, built) -> None:  # type: ignore[no-untyped-def]
    before = built["chosen"] - timedelta(hours=1)  # before the chosen posting instant
    reports = Reports(db, clock, settings)
    rows = {r["document_id"]: r for r in reports.ledger(SUPERVISOR, period="2024", now=before).rows}
    assert rows[built["cheat"]]["clock_override"] == [] and rows[built["cheat"]]["status"] == "open"
    assert rows[built["late_published"]]["clock_override"] == ["publication"]  # chosen before that
    assert reports.on_time(SUPERVISOR, period="2024", now=before).meta["clock_overridden"] == 1


def test_the_year_end_report_counts_them_per_unit(db, clock, settings, built) -> None:  # type: ignore[no-untyped-def]
    table = Reports(db, clock, settings).year_end(SUPERVISOR, period="2024")
    [spc] = [r for r in table.rows if r["unit"] == "spc"]
    assert (spc["published"], spc["clock_overridden"]) == (3, 2)
    assert table.totals is not None and table.totals["clock_overridden"] == 2
    assert table.meta["clock_overridden"] == 2


def test_the_overdue_and_late_reports_mark_their_rows(db, clock, settings, built) -> None:  # type: ignore[no-untyped-def]
    reports = Reports(db, clock, settings)
    overdue = reports.overdue(SUPERVISOR)
    assert {r["document_id"]: r["clock_override"] for r in overdue.rows} == {
        built["late_published"]: ["publication"]
    }
    assert overdue.meta["clock_overridden"] == 1
    late = reports.late(SUPERVISOR, period="2024")
    assert late.rows == [] and late.meta["clock_overridden"] == 0


def test_the_cli_shows_the_flag_and_the_summary_in_both_languages(
    db, clock, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Through the real entry point: ``--now`` on a publication sets ``wall_at``, and the text
    report says so in a column and in its summary line."""
    seed_bureau(db, clock)
    doc = to_signed(make_workflow(db, clock, settings))
    runner = CliRunner()

    def run(*args: str, lang: str = "en") -> str:
        result = runner.invoke(app, ["--db", db.url, "--lang", lang, *args])
        assert result.exit_code == 0, result.output
        return result.output

    run(
        "--now",
        "2024-02-05T11:00+08:00",
        "doc",
        "publish",
        str(doc),
        "--as",
        CLERK,
        "--url",
        "https://x.cn/1.htm",
    )
    asked = ("report", "ledger", "--as", SUPERVISOR, "--period", "2024")
    english = run("--now", "2024-02-06T10:00+08:00", *asked)
    assert "documents recorded under a clock override: 1" in english
    assert "recorded under a clock override" in english.splitlines()[2] and "publication" in english
    chinese = run("--now", "2024-02-06T10:00+08:00", *asked, lang="zh")
    assert "时钟被指定时登记的文件:1" in chinese and "时钟被指定时登记" in chinese.splitlines()[2]
    got = json.loads(run("--now", "2024-02-06T10:00+08:00", *asked, "--json"))
    assert got["clock_overridden"] == 1 and got["rows"][0]["clock_override"] == ["publication"]
    assert shanghai(2024, 2, 5, 11, 0).isoformat() == got["rows"][0]["published_at"]
