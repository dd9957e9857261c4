"""``santongbu deadline`` and ``santongbu calendar`` from the outside, and the schedule file format.

Expected deadlines are the hand-counted ones of ``test_deadline.py`` (2019 National Day:
published Fri 09-27, make-up Sun 09-29 counts, due Tue 10-08).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import shanghai
from tests.factories import CLERK, make_workflow, seed_bureau, to_published
from workflow.kernel.calendar import ScheduleError, parse_schedule
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, CalendarYear, Document
from workflow.kernel.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "calendar" / "2027-example.toml"
SANTONGBU = Path(sys.executable).parent / "santongbu"

# A corrected, official 2027 for the tests (invented: 2027 is not announced). New Year off
# Fri 01-01 to Mon 01-04; the package estimate has only Fri 01-01. A document published Wed
# 2026-12-30 is due Tue 01-05 (provisional) on the estimate: Thu 12-31, Mon 01-04, Tue 01-05;
# on this schedule: Thu 12-31, Tue 01-05, Wed 01-06 (official).
CORRECTED = """\
year = 2027
source = "test correction"
official = true

[[holidays]]
name = "元旦"
start = 2027-01-01
end = 2027-01-04

[[holidays]]
name = "春节"
start = 2027-02-06
end = 2027-02-12

[[workdays]]
date = 2027-02-13
name = "春节调休上班"
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A CLI runner in an empty folder with no database configured."""
    monkeypatch.chdir(tmp_path)
    for var in ("SANTONGBU_DATABASE_URL", "SANTONGBU_USER", "SANTONGBU_DEADLINE_DAYS", "SANTONGBU_TIMEZONE"):
        monkeypatch.delenv(var, raising=False)
    return CliRunner()


def run(runner: CliRunner, *args: str):  # type: ignore[no-untyped-def]
    from workflow.entrypoints.cli.main import app

    return runner.invoke(app, ["--lang", "en", *args], catch_exceptions=False)


def assert_user_error(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


# ── deadline, no database ────────────────────────────────────────────────────────────────────


def test_deadline_json_without_database_creates_nothing(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "deadline", "--published", "2019-09-27", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["due"] == "2019-10-08T23:59:59+08:00"
    assert data["provisional"] is False
    assert data["counted_days"] == ["2019-09-29", "2019-09-30", "2019-10-08"]
    assert data["calendar"] == "packages"
    assert list(tmp_path.iterdir()) == []  # no santongbu.db appeared


def test_an_instant_before_2000_is_refused_in_a_plain_sentence(runner: CliRunner) -> None:
    # Before 1928 the zone database gives Shanghai local mean time (+08:05:43): never shown.
    result = run(runner, "--lang", "en", "deadline", "--published", "1900-01-01")
    assert_user_error(result, "--published 1900-01-01 is not between the years 2000 and 2200")
    assert "+08:05" not in result.output
    result = run(runner, "--lang", "zh", "deadline", "--published", "1999-12-31T23:59+08:00")
    assert_user_error(result, "--published 1999-12-31 不在 2000 年至 2200 年之间")
    assert run(runner, "deadline", "--published", "2000-01-01T00:00+08:00").exit_code == 0


def test_deadline_text_says_provisional_into_2027(runner: CliRunner) -> None:
    result = run(runner, "deadline", "--published", "2026-12-30T10:00")
    assert result.exit_code == 0, result.output
    assert "2027-01-05 23:59:59+08:00" in result.stdout
    assert "provisional  YES" in result.stdout and "2027" in result.stdout
    assert "2026-12-31 Thu, 2027-01-04 Mon, 2027-01-05 Tue" in result.stdout


def test_deadline_reads_offsets_and_local_times(runner: CliRunner) -> None:
    # 2024-02-08T16:01Z = Fri 02-09 00:01 in Shanghai → due Tue 02-20 (2024 Spring Festival).
    utc = json.loads(run(runner, "deadline", "--published", "2024-02-08T16:01Z", "--json").stdout)
    assert utc["due"] == "2024-02-20T23:59:59+08:00"
    # Thu 02-08 23:59 local → Fri 09, Sun 18 (make-up), Mon 19.
    local = json.loads(run(runner, "deadline", "--published", "2024-02-08T23:59", "--json").stdout)
    assert local["due"] == "2024-02-19T23:59:59+08:00"


def test_deadline_days_option(runner: CliRunner) -> None:
    # 2024: Fri 02-09 → Sun 18, Mon 19, Tue 20, Wed 21, Thu 22.
    data = json.loads(run(runner, "deadline", "--published", "2024-02-09", "--days", "5", "--json").stdout)
    assert data["due"] == "2024-02-22T23:59:59+08:00" and data["days"] == 5


def test_deadline_days_default_comes_from_settings(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANTONGBU_DEADLINE_DAYS", "1")
    data = json.loads(run(runner, "deadline", "--published", "2019-09-27", "--json").stdout)
    assert data["due"] == "2019-09-29T23:59:59+08:00"


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--published", "27/09/2019"], "--published"),
        (["--published", "2019-09-27", "--days", "0"], "--days"),
        (["--published", "2019-09-27", "--days", "31"], "--days"),
    ],
)
def test_deadline_mistakes_are_one_line(runner: CliRunner, args: list[str], fragment: str) -> None:
    assert_user_error(run(runner, "deadline", *args), fragment)


def test_deadline_console_script_without_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANTONGBU_")}
    proc = subprocess.run(
        [str(SANTONGBU), "deadline", "--published", "2024-02-09T23:59", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["due"] == "2024-02-20T23:59:59+08:00"
    assert proc.stderr == ""
    assert list(tmp_path.iterdir()) == []
    bad = subprocess.run(
        [str(SANTONGBU), "deadline", "--published", "yesterday"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr


# ── calendar show, no database ───────────────────────────────────────────────────────────────


def test_show_2019_json(runner: CliRunner, tmp_path: Path) -> None:
    data = json.loads(run(runner, "calendar", "show", "2019", "--json").stdout)
    assert data["official"] is True and data["source"].startswith("chinesecalendar")
    sep, oct_ = data["months"][8], data["months"][9]
    assert {"date": "2019-09-29", "weekday": "Sun"}.items() <= sep["workdays"][0].items()
    assert [w["date"] for w in oct_["workdays"]] == ["2019-10-12"]
    assert [(h["start"], h["end"]) for h in oct_["holidays"]] == [("2019-10-01", "2019-10-07")]
    # October 2019: 23 weekdays, 5 of them (1–4, 7) off, plus Sat 12th worked → 19.
    assert oct_["working_days"] == 19
    assert list(tmp_path.iterdir()) == []


def test_show_unannounced_year_is_provisional(runner: CliRunner) -> None:
    result = run(runner, "calendar", "show", "2027")
    assert result.exit_code == 0
    assert result.stdout.startswith("2027  PROVISIONAL")
    assert json.loads(run(runner, "calendar", "show", "2027", "--json").stdout)["provisional"] is True


def test_an_estimated_year_names_its_holidays_in_chinese(runner: CliRunner) -> None:
    """Years after chinesecalendar's come from the holidays package, whose names are English:
    a Chinese session shows them in Chinese, as it does the announced years'."""
    from workflow.entrypoints.cli.main import app

    zh = runner.invoke(app, ["--lang", "zh", "calendar", "show", "2027"], catch_exceptions=False).stdout
    assert "02-06–02-08 春节" in zh and "春节(补假)" in zh and "农历除夕" in zh
    assert "Chinese New Year" not in zh and "Spring Festival" not in zh
    en = run(runner, "calendar", "show", "2027").stdout
    assert "Chinese New Year (Spring Festival)" in en


def test_show_bad_year(runner: CliRunner) -> None:
    assert_user_error(run(runner, "calendar", "show", "20277"), "YEAR")


# ── calendar load, with a database (SQLite and PostgreSQL) ───────────────────────────────────


@pytest.fixture
def bureau(db: Database, settings: Settings) -> tuple[Database, int]:
    """The sample bureau with one document published Wed 2026-12-30 10:00 (due provisional)."""
    clock = FixedClock(shanghai(2026, 12, 30, 12, 0))
    seed_bureau(db, clock)
    doc = to_published(make_workflow(db, clock, settings), at=shanghai(2026, 12, 30, 10, 0))
    return db, doc


def cli_db(db: Database) -> list[str]:
    return ["--db", db.url, "--now", "2026-12-31T17:00+08:00", "--lang", "en"]


def test_load_corrected_year_moves_the_open_deadline(
    runner: CliRunner, bureau: tuple[Database, int], tmp_path: Path
) -> None:
    db, doc_id = bureau
    with db.transaction() as s:
        doc = s.get(Document, doc_id)
        assert doc.due_at == shanghai(2027, 1, 5, 23, 59, 59) and doc.due_provisional
    path = tmp_path / "2027.toml"
    path.write_text(CORRECTED, encoding="utf-8")
    result = run(runner, *cli_db(db), "calendar", "load", str(path), "--as", "admin")
    assert result.exit_code == 0, result.output
    assert "loaded 2027 from 2027.toml: official" in result.stdout
    assert "1 moved" in result.stdout
    assert (
        f"document {doc_id}: 2027-01-05 23:59:59+08:00 (provisional) → 2027-01-06 23:59:59+08:00"
        in result.stdout
    )
    with db.transaction() as s:
        doc = s.get(Document, doc_id)
        assert doc.due_at == shanghai(2027, 1, 6, 23, 59, 59) and doc.due_provisional is False
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions[-2:] == ["deadline_recomputed", "calendar_loaded"]
    # The deadline command now answers from the database.
    data = json.loads(
        run(runner, *cli_db(db), "deadline", "--published", "2026-12-30T10:00", "--json").stdout
    )
    assert data["due"] == "2027-01-06T23:59:59+08:00"
    assert data["provisional"] is False and data["calendar"] == "database"
    shown = json.loads(run(runner, *cli_db(db), "calendar", "show", "2027", "--json").stdout)
    assert shown["loaded"] is True and shown["notice"] == "test correction"
    # Loading the example (official = false) replaces the correction: provisional again.
    again = run(runner, *cli_db(db), "calendar", "load", str(EXAMPLE), "--as", "admin", "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["replaced"].startswith("file:2027.toml sha256:")
    assert summary["official"] is False and summary["documents_moved"] == 1
    with db.transaction() as s:
        doc = s.get(Document, doc_id)
        # Example: 01-01..01-03 off → Thu 12-31, Mon 01-04, Tue 01-05; provisional (not official).
        assert doc.due_at == shanghai(2027, 1, 5, 23, 59, 59) and doc.due_provisional is True


def test_posting_after_a_load_is_judged_on_the_stored_deadline(
    runner: CliRunner, bureau: tuple[Database, int], settings: Settings, tmp_path: Path
) -> None:
    db, doc_id = bureau
    path = tmp_path / "2027.toml"
    path.write_text(CORRECTED, encoding="utf-8")
    assert run(runner, *cli_db(db), "calendar", "load", str(path), "--as", "admin").exit_code == 0
    clock = FixedClock(shanghai(2027, 1, 6, 18, 0))
    wf = make_workflow(db, clock, settings)
    wf.record_posting(
        CLERK,
        doc_id,
        channel="portal",
        url="https://jtj.fuzhou.example.cn/jd/1.htm",
        posted_at=shanghai(2027, 1, 6, 10, 0),
    )
    wf.record_posting(
        CLERK,
        doc_id,
        channel="news_media",
        url="https://news.example.cn/1.htm",
        posted_at=shanghai(2027, 1, 6, 11, 0),
    )
    with db.transaction() as s:
        doc = s.get(Document, doc_id)
        # Wed 01-06 is day 3 on the corrected calendar (12-31, 01-05, 01-06): on time, 3 taken.
        assert (doc.on_time, doc.working_days_taken, doc.working_days_late) == (True, 3, 0)


def test_non_admin_is_refused_and_the_refusal_audited(
    runner: CliRunner, bureau: tuple[Database, int], tmp_path: Path
) -> None:
    db, doc_id = bureau
    path = tmp_path / "2027.toml"
    path.write_text(CORRECTED, encoding="utf-8")
    assert_user_error(
        run(runner, *cli_db(db), "calendar", "load", str(path), "--as", CLERK), "not an administrator"
    )
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(CalendarYear)) == 0
        assert s.get(Document, doc_id).due_at == shanghai(2027, 1, 5, 23, 59, 59)
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (last.action, last.outcome, last.actor, last.chain) == (
            "calendar_loaded",
            "refused",
            CLERK,
            "sys",
        )


@pytest.mark.parametrize(
    "content, fragments",
    [
        (CORRECTED.replace("2027-02-13", "2027-02-15"), ["workdays[1]", "Monday"]),
        (CORRECTED.replace("end = 2027-01-04", "end = 2026-12-04"), ["holidays[1].end", "not in 2027"]),
        (CORRECTED.replace('name = "元旦"\n', 'name = "元旦\n'), ["2027.toml", "TOML", "line"]),
    ],
)
def test_bad_file_loads_nothing(
    runner: CliRunner, bureau: tuple[Database, int], tmp_path: Path, content: str, fragments: list[str]
) -> None:
    db, doc_id = bureau
    path = tmp_path / "2027.toml"
    path.write_text(content, encoding="utf-8")
    assert_user_error(run(runner, *cli_db(db), "calendar", "load", str(path), "--as", "admin"), *fragments)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(CalendarYear)) == 0
        assert s.get(Document, doc_id).due_provisional is True


def test_load_needs_a_user_a_file_and_a_database(
    runner: CliRunner, bureau: tuple[Database, int], tmp_path: Path
) -> None:
    db, _ = bureau
    assert_user_error(run(runner, *cli_db(db), "calendar", "load", str(EXAMPLE)), "--as")
    assert_user_error(
        run(runner, *cli_db(db), "calendar", "load", str(tmp_path / "nope.toml"), "--as", "admin"),
        "no such file",
    )
    assert_user_error(run(runner, *cli_db(db), "calendar", "load", str(EXAMPLE), "--as", "ghost"), "ghost")
    missing = tmp_path / "elsewhere" / "none.db"
    assert_user_error(
        run(runner, "--db", f"sqlite:///{missing}", "calendar", "load", str(EXAMPLE), "--as", "admin"),
        "santongbu db upgrade",
    )
    assert not missing.exists() and not missing.parent.exists()


# ── the file format ──────────────────────────────────────────────────────────────────────────


def test_example_file_is_valid_and_labelled_as_example() -> None:
    schedule = parse_schedule(EXAMPLE.read_bytes(), name=EXAMPLE.name)
    assert schedule.year == 2027 and schedule.official is False
    assert "EXAMPLE" in (schedule.notice or "")
    assert all(d.weekday() >= 5 for d in schedule.workdays)


@pytest.mark.parametrize(
    "content, where, problem",
    [
        ("source = 'x'\n[[holidays]]\nname='a'\nstart=2027-01-01\n", "year", "missing"),
        ("year = 'soon'\n", "year", "not a year"),
        ("year = 2027\n", "holidays", "no holiday period"),
        (
            "year = 2027\n[[holidays]]\nname='a'\nstart=2027-01-01\nworkdays=[2027-01-02]\n",
            "holidays[1].workdays",
            "top-level key",
        ),
        (
            "year = 2027\n[[holidays]]\nname='a'\nstart=2027-01-05\nend=2027-01-04\n",
            "holidays[1].end",
            "before start",
        ),
        (
            "year = 2027\n[[holidays]]\nname='a'\nstart=2027-01-05\nend=2027-03-04\n",
            "holidays[1].end",
            "longer than",
        ),
        (
            "year = 2027\n[[holidays]]\nname='a'\nstart=2027-01-01T00:00:00\n",
            "holidays[1].start",
            "has a time",
        ),
        ("year = 2027\n[[holidays]]\nname='a'\nstart='1 Jan'\n", "holidays[1].start", "YYYY-MM-DD"),
        ("year = 2027\n[[holidays]]\nname=''\nstart=2027-01-01\n", "holidays[1].name", "non-empty"),
        (
            "year = 2027\n[[holidays]]\nname='a'\nstart=2027-01-01\nend=2027-01-03\n"
            "[[holidays]]\nname='b'\nstart=2027-01-03\n",
            "holidays[2]",
            "already in holidays[1]",
        ),
        (
            "year = 2027\nworkdays = [2027-01-02]\n[[holidays]]\nname='a'\nstart=2027-01-01\nend=2027-01-03\n",
            "workdays[1]",
            "also a holiday",
        ),
        (
            "year = 2027\nofficial = 'yes'\n[[holidays]]\nname='a'\nstart=2027-01-01\n",
            "official",
            "true nor false",
        ),
        ("year = 2027\ncolour = 1\n", "colour", "unknown key"),
    ],
)
def test_file_mistakes_name_the_field(content: str, where: str, problem: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(content, name="f.toml")
    assert caught.value.where == where
    assert problem in caught.value.problem
    assert "f.toml" in caught.value.message("en")


def test_workdays_as_plain_dates_get_a_default_name() -> None:
    schedule = parse_schedule(
        "year = 2027\nworkdays = [2027-02-13]\n[[holidays]]\nname='春节'\nstart=2027-02-06\nend=2027-02-12\n",
        name="f.toml",
    )
    assert dict(schedule.workdays) == {shanghai(2027, 2, 13).date(): "调休上班"}
    assert schedule.source.startswith("file:f.toml sha256:") and schedule.official is True
    assert schedule.periods() == [(shanghai(2027, 2, 6).date(), shanghai(2027, 2, 12).date(), "春节")]
