"""Reports and trail queries against figures computed by hand, on SQLite and PostgreSQL.

The data set is built through the real service with the clock moved, and spans three holiday
periods of the 2024 State Council schedule:

* New Year: Mon 2024-01-01 is a holiday;
* Spring Festival: 10–17 Feb holidays, Sun 4 Feb and Sun 18 Feb make-up working days;
* Qingming: 4–6 Apr holidays, Sun 7 Apr a make-up working day;
* Labour Day: 1–5 May holidays, Sun 28 Apr and Sat 11 May make-up working days.

==== ===== ====================== ===================== ==================================
doc  unit  published (+08:00)     due (end of day)      interpretation
==== ===== ====================== ===================== ==================================
Z    spc   Fri 2023-12-29 10:00   Thu 2024-01-04        both Fri 01-05 → late 0, taken 4
H    spc   Mon 2024-01-01 00:30   Thu 2024-01-04        both Wed 01-03 → on time, taken 2
A    spc   Fri 2024-02-09 10:00   Tue 2024-02-20        Mon 02-19 → on time, taken 2
B    spc   Fri 2024-02-09 11:00   Tue 2024-02-20        portal Wed 02-21 09:00, new media
                                                        02-21, news Thu 02-22 → late 1, taken 5
K1   kxc   Thu 2024-03-28 10:00   Tue 2024-04-02        Sun 04-07 (make-up) → late 1, taken 5
C    spc   Fri 2024-04-26 10:00   Tue 2024-04-30        portal only (Mon 04-29) → overdue
D    spc   Mon 2024-05-06 10:00   Thu 2024-05-09        nothing
E    spc   drafted Fri 2024-03-01, signed by both signers, not published
F    spc   drafted Mon 2024-03-04: request refused (no material), then chen.spc signs and
           director rejects (signatures voided)
G    spc   drafted Tue 2024-03-05, withdrawn
==== ===== ====================== ===================== ==================================

Hand counts, e.g. Z: 2023-12-30/31 weekend, 01-01 holiday → 01-02, 01-03, 01-04 → due Thu 4;
posted Fri 5 → late by less than 1 working day (days late are the working days *fully passed*
since the due day, :func:`states.deadline.working_days_overdue`: none by Fri 5), taken 2, 3, 4,
5 = 4. B: Wed 21 had passed when news media posted on Thu 22 → 1. K1: Wed 3 Apr had passed by
Sun 7 (4–6 Apr holidays) → 1. H is published at 00:30 local on
1 January, i.e. 2023-12-31 16:30 UTC: it belongs to 2024 because periods are local.
Also: xu.kxc tries to edit A (refused: not a member).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import database_name, fresh_pg_database, shanghai
from tests.factories import seed_bureau
from workflow.entrypoints.cli.main import app
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.errors import Forbidden, InvalidInput, NotFound, Refused
from workflow.kernel.export import BOM, to_csv
from workflow.kernel.models import AuditEvent, Document, User
from workflow.kernel.settings import Settings
from workflow.kernel.snapshots import actor_snapshot
from workflow.services.audit_queries import AuditQueries, EventFilter
from workflow.services.calendar_admin import load_year
from workflow.services.documents import Workflow
from workflow.services.reports import Reports, parse_period
from workflow.services.sweep import sweep

SPC = ("liu.spc", ["chen.spc", "director"])
KXC = ("xu.kxc", ["wu.kxc", "director"])
NOW = shanghai(2024, 5, 7, 10, 0)
SUPERVISOR, AUDITOR = "lin.zfc", "audit.cs"


def publish(
    wf: Workflow,
    clock,
    who: tuple[str, list[str]],
    *,
    number: str,
    title: str,  # type: ignore[no-untyped-def]
    at: datetime,
    forms: tuple[str, ...] = ("text",),
) -> int:
    """Draft → plan → sign-off → published, everything at ``at``."""
    clerk, signers = who
    clock.set(at)
    doc = wf.create_document(
        clerk,
        title=title,
        doc_number=number,
        body="第一条 为规范……",
        disclosure="proactive",
        risk_assessment_needed=False,
    ).document_id
    wf.fire(clerk, doc, "prepare_plan")
    wf.edit_document(clerk, doc, {"plan": "解读方案:背景、要点、关键词", "interpreter": clerk})
    for form in forms:
        wf.add_material(clerk, doc, form=form, title=f"{title}解读({form})", body="一、制定背景……")
    wf.set_signers(clerk, doc, signers)
    wf.fire(clerk, doc, "request_signoff")
    for signer in signers:
        wf.sign(signer, doc)
    wf.fire(clerk, doc, "publish", publication_url=f"https://jtj.fuzhou.example.cn/zcwj/{doc}.htm")
    return doc


def post(
    wf: Workflow,
    clock,
    clerk: str,
    doc: int,
    channel: str,
    at: datetime,
    *,  # type: ignore[no-untyped-def]
    outlet: str | None = None,
    url: str | None = None,
    evidence: str | None = None,
) -> None:
    clock.set(at)
    wf.record_posting(
        clerk,
        doc,
        channel=channel,
        outlet=outlet,
        evidence=evidence,
        url=url or (None if evidence else f"https://jtj.fuzhou.example.cn/jd/{doc}-{channel}.htm"),
    )


class Beat:
    """The clock as beat sees it: before time moves on, the real sweep runs at every instant a
    rung of the ladder comes due (``documents.next_rung_at``), so the escalations in the data
    set are the ones the product fires, at the times it fires them."""

    def __init__(self, db: Database, clock: FixedClock, settings: Settings) -> None:
        self.db, self.clock, self.settings = db, clock, settings

    def set(self, at: datetime) -> None:
        while True:
            with self.db.transaction() as s:
                due = s.scalar(select(func.min(Document.next_rung_at)).where(Document.state == "published"))
            if due is None or due > at:
                break
            self.clock.set(max(due, self.clock.now()))
            sweep(self.db, self.clock, self.settings)
        self.clock.set(at)


def build(db: Database, fixed: FixedClock, settings: Settings) -> dict[str, int]:
    """The data set; the sweep runs as beat would until 13 May (so "as of" 13 May shows what
    fired after "now"), and the clock is left at :data:`NOW`."""
    fixed.set(shanghai(2023, 12, 1, 9, 0))
    seed_bureau(db, fixed)
    clock = Beat(db, fixed, settings)
    wf = Workflow(db, fixed, settings)
    d: dict[str, int] = {}
    d["Z"] = publish(
        wf,
        clock,
        SPC,
        number="榕交〔2023〕9号",
        title="福州市城市公交管理办法",
        at=shanghai(2023, 12, 29, 10, 0),
    )
    d["H"] = publish(
        wf,
        clock,
        SPC,
        number="榕交〔2024〕0号",
        title="福州市元旦交通保障方案",
        at=shanghai(2024, 1, 1, 0, 30),
    )
    post(wf, clock, "liu.spc", d["H"], "portal", shanghai(2024, 1, 3, 9, 0))
    post(
        wf,
        clock,
        "liu.spc",
        d["H"],
        "news_media",
        shanghai(2024, 1, 3, 10, 0),
        outlet="福州日报",
        evidence="2024-01-03 第2版",
    )
    post(wf, clock, "liu.spc", d["Z"], "portal", shanghai(2024, 1, 5, 9, 0))
    post(
        wf,
        clock,
        "liu.spc",
        d["Z"],
        "news_media",
        shanghai(2024, 1, 5, 10, 0),
        outlet="福州日报",
        evidence="2024-01-05 第1版",
    )
    d["A"] = publish(
        wf,
        clock,
        SPC,
        number="榕交〔2024〕1号",
        title="福州市道路运输管理办法",
        at=shanghai(2024, 2, 9, 10, 0),
        forms=("text", "graphic"),
    )
    d["B"] = publish(
        wf,
        clock,
        SPC,
        number="榕交〔2024〕2号",
        title="福州市网约车管理实施细则",
        at=shanghai(2024, 2, 9, 11, 0),
        forms=("qa",),
    )
    post(
        wf,
        clock,
        "liu.spc",
        d["A"],
        "portal",
        shanghai(2024, 2, 19, 15, 0),
        url="https://jtj.fuzhou.example.cn/jd/a.htm",
    )
    post(
        wf,
        clock,
        "liu.spc",
        d["A"],
        "news_media",
        shanghai(2024, 2, 19, 16, 0),
        outlet="福州日报",
        evidence="2024-02-19 第3版",
    )
    clock.set(shanghai(2024, 2, 20, 9, 0))
    with pytest.raises(Forbidden):
        wf.edit_document("xu.kxc", d["A"], {"title": "改标题"})
    post(wf, clock, "liu.spc", d["B"], "portal", shanghai(2024, 2, 21, 9, 0))
    post(
        wf,
        clock,
        "liu.spc",
        d["B"],
        "new_media",
        shanghai(2024, 2, 21, 15, 30),
        outlet="福州交通微信公众号",
        url="https://mp.example.cn/s/fzjt-7",
    )
    post(
        wf,
        clock,
        "liu.spc",
        d["B"],
        "news_media",
        shanghai(2024, 2, 22, 9, 0),
        outlet="福建日报",
        url="https://fjrb.example.cn/2024-02-22/7.htm",
    )
    # E: signed as a package, not published.
    clock.set(shanghai(2024, 3, 1, 9, 0))
    e = wf.create_document(
        "liu.spc",
        title="福州市出租汽车服务规范",
        doc_number="榕交〔2024〕5号",
        body="…",
        disclosure="proactive",
        risk_assessment_needed=False,
    ).document_id
    wf.fire("liu.spc", e, "prepare_plan")
    wf.edit_document("liu.spc", e, {"plan": "解读方案", "interpreter": "liu.spc"})
    wf.add_material("liu.spc", e, form="text", title="文字解读", body="……")
    wf.set_signers("liu.spc", e, ["chen.spc", "director"])
    wf.fire("liu.spc", e, "request_signoff")
    wf.sign("chen.spc", e)
    wf.sign("director", e)
    d["E"] = e
    # F: a refused request (no material yet), then a rejection that voids a signature.
    clock.set(shanghai(2024, 3, 4, 9, 0))
    f = wf.create_document(
        "liu.spc",
        title="福州市客运站管理办法",
        doc_number="榕交〔2024〕6号",
        body="…",
        disclosure="proactive",
        risk_assessment_needed=False,
    ).document_id
    wf.fire("liu.spc", f, "prepare_plan")
    wf.edit_document("liu.spc", f, {"plan": "解读方案", "interpreter": "liu.spc"})
    wf.set_signers("liu.spc", f, ["chen.spc", "director"])
    with pytest.raises(Refused):
        wf.fire("liu.spc", f, "request_signoff")
    wf.add_material("liu.spc", f, form="text", title="文字解读", body="……")
    wf.fire("liu.spc", f, "request_signoff")
    wf.sign("chen.spc", f)
    wf.fire("director", f, "reject", reason="请补充政策背景")
    d["F"] = f
    # G: withdrawn while a draft.
    clock.set(shanghai(2024, 3, 5, 9, 0))
    g = wf.create_document(
        "liu.spc",
        title="福州市共享单车管理办法(草案)",
        doc_number=None,
        body="…",
        disclosure="proactive",
        risk_assessment_needed=False,
    ).document_id
    wf.fire("liu.spc", g, "withdraw", reason="并入其他文件")
    d["G"] = g
    d["K1"] = publish(
        wf,
        clock,
        KXC,
        number="榕交科〔2024〕1号",
        title="福州市交通信息化项目管理办法",
        at=shanghai(2024, 3, 28, 10, 0),
        forms=("video", "qa"),
    )
    post(wf, clock, "xu.kxc", d["K1"], "portal", shanghai(2024, 4, 7, 10, 0))
    post(
        wf,
        clock,
        "xu.kxc",
        d["K1"],
        "news_media",
        shanghai(2024, 4, 7, 11, 0),
        outlet="海峡都市报",
        url="https://hxdsb.example.cn/2024-04-07/3.htm",
    )
    d["C"] = publish(
        wf,
        clock,
        SPC,
        number="榕交〔2024〕3号",
        title="福州市公路养护管理规定",
        at=shanghai(2024, 4, 26, 10, 0),
    )
    post(wf, clock, "liu.spc", d["C"], "portal", shanghai(2024, 4, 29, 10, 0))
    d["D"] = publish(
        wf, clock, SPC, number="榕交〔2024〕4号", title="福州市停车场管理办法", at=shanghai(2024, 5, 6, 10, 0)
    )
    clock.set(shanghai(2024, 5, 13, 10, 0))
    fixed.set(NOW)
    return d


def docs_dataset(folder: Path, name: str = "santongbu.db") -> None:
    """What docs/reports.md and the README's report examples query: this data set, in ``folder``."""
    db = Database(f"sqlite:///{folder / name}")
    db.upgrade()
    build(
        db,
        FixedClock(shanghai(2023, 12, 1, 9, 0)),
        Settings(database_url=db.url, mail_folder=folder / "mail"),
    )
    db.dispose()


@dataclass(frozen=True)
class Dataset:
    """The data set built once per backend: a SQLite file or a PostgreSQL template database."""

    backend: str
    where: str
    ids: dict[str, int]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataset]:
    """Build the data set once per backend (it takes a few seconds through the service);
    every test then gets its own copy, so tests that write (a calendar correction, refused
    queries) never see each other."""
    folder = tmp_path_factory.mktemp("dataset")
    with ExitStack() as stack:
        if request.param == "sqlite":
            path = folder / "dataset.db"
            db = Database(f"sqlite:///{path}")
        else:
            db = Database(stack.enter_context(fresh_pg_database("rep")))
        db.upgrade()
        settings = Settings(database_url=db.url, mail_folder=folder / "mail", language="zh")
        ids = build(db, FixedClock(shanghai(2023, 12, 1, 9, 0)), settings)
        db.dispose()  # a template database must have no connections; the SQLite WAL is folded in
        where = str(path) if request.param == "sqlite" else database_name(db.url)
        yield Dataset(request.param, where, ids)


@pytest.fixture
def db(dataset: Dataset, tmp_path: Path) -> Iterator[Database]:
    """A private copy of the data set (overrides the conftest ``db`` in this module)."""
    if dataset.backend == "sqlite":
        copy = tmp_path / "copy.db"
        shutil.copy(dataset.where, copy)
        db = Database(f"sqlite:///{copy}")
        yield db
        db.dispose()
        return
    with fresh_pg_database("repcopy", template=dataset.where) as url:
        db = Database(url)
        yield db
        db.dispose()


@pytest.fixture
def data(dataset: Dataset, db: Database, clock) -> dict[str, int]:  # type: ignore[no-untyped-def]
    clock.set(NOW)
    return dataset.ids


@pytest.fixture
def reports(db, clock, settings) -> Reports:  # type: ignore[no-untyped-def]
    return Reports(db, clock, settings)


def by_id(table: Any) -> dict[int, dict[str, Any]]:
    return {r["document_id"]: r for r in table.rows}


def by_unit(table: Any) -> dict[str, dict[str, Any]]:
    return {r["unit"]: r for r in table.rows}


# ------------------------------------------------------------------ due dates (the premise)
def test_the_data_set_has_the_hand_computed_deadlines(data, db) -> None:  # type: ignore[no-untyped-def]
    from workflow.kernel.models import Document

    expected = {
        "Z": (2024, 1, 4),
        "H": (2024, 1, 4),
        "A": (2024, 2, 20),
        "B": (2024, 2, 20),
        "K1": (2024, 4, 2),
        "C": (2024, 4, 30),
        "D": (2024, 5, 9),
    }
    with db.transaction() as s:
        for name, ymd in expected.items():
            doc = s.get(Document, data[name])
            assert doc.due_at == shanghai(*ymd, 23, 59, 59), name
        assert [s.get(Document, data[n]).on_time for n in ("Z", "H", "A", "B", "K1")] == [
            False,
            True,
            True,
            False,
            False,
        ]
        assert s.get(Document, data["B"]).working_days_late == 1  # Wed 21 passed


# ------------------------------------------------------------------ overdue
def test_overdue_now_with_working_days_and_escalation(data, reports) -> None:  # type: ignore[no-untyped-def]
    table = reports.overdue(SUPERVISOR)  # as of the clock: Tue 2024-05-07 10:00
    assert [r["document_id"] for r in table.rows] == [data["C"]]
    row = table.rows[0]
    # Due Tue 30 Apr; 1–5 May holidays; Mon 6 has passed, Tue 7 has not → 1 working day overdue.
    assert row["working_days_overdue"] == 1
    # The real sweep fired 督办 once one working day (Mon 6) had fully passed; 领导督办 waits for
    # three (6, 7, 8), after "now".
    assert row["escalation"] == "escalated"
    assert row["escalated_at"] == shanghai(2024, 5, 7, 0, 0)
    assert row["posted_channels"] == ["portal"] and row["missing"] == ["news_media"]
    assert row["unit"] == "spc" and row["unit_name"] == "审批处"
    assert row["due_at"] == shanghai(2024, 4, 30, 23, 59, 59)


def test_overdue_later_counts_make_up_saturday_and_sorts_most_overdue_first(data, reports) -> None:  # type: ignore[no-untyped-def]
    table = reports.overdue(SUPERVISOR, now=shanghai(2024, 5, 13, 10, 0))
    # Passed by Mon 13 10:00: C: 6, 7, 8, 9, 10 May, Sat 11 (make-up) → 6 (Mon 13 is not over).
    # D: due Thu 9 → Fri 10, Sat 11 → 2; the sweep escalated D once Fri 10 had passed (Sat 11
    # 00:00) and 领导督办 waits for Tue 14.
    assert [(r["document_id"], r["working_days_overdue"], r["escalation"]) for r in table.rows] == [
        (data["C"], 6, "escalated_high"),
        (data["D"], 2, "escalated"),
    ]
    assert table.rows[1]["missing"] == ["portal", "news_media"]
    only_kxc = reports.overdue(SUPERVISOR, now=shanghai(2024, 5, 13, 10, 0), unit="kxc")
    assert only_kxc.rows == []


def test_overdue_as_of_a_past_day_ignores_later_postings(data, reports) -> None:  # type: ignore[no-untyped-def]
    # On Wed 21 Feb 10:00 B was due the day before and only its portal posting (09:00) existed.
    table = reports.overdue(AUDITOR, now=shanghai(2024, 2, 21, 10, 0))
    assert [(r["document_id"], r["working_days_overdue"], r["posted_channels"]) for r in table.rows] == [
        (data["B"], 0, ["portal"])  # late, but Wed 21 is not over: less than 1 working day
    ]
    # The last second of the due day is still on time; one second later it is overdue with 0
    # working days (no working day has passed since the due day yet).
    assert (
        reports.overdue(AUDITOR, now=shanghai(2024, 2, 20, 23, 59, 59) + timedelta(microseconds=900_000)).rows
        == []
    )
    late_night = reports.overdue(AUDITOR, now=shanghai(2024, 2, 21, 0, 0, 0))
    assert [(r["document_id"], r["working_days_overdue"]) for r in late_night.rows] == [(data["B"], 0)]


# ------------------------------------------------------------------ late
def test_late_postings_in_a_period(data, reports) -> None:  # type: ignore[no-untyped-def]
    year = reports.late(SUPERVISOR, period="2024")
    # Z was published in 2023 but posted (late) in 2024: the late list goes by posting day.
    assert [(r["document_id"], r["working_days_late"], r["working_days_taken"]) for r in year.rows] == [
        (data["Z"], 0, 4),
        (data["B"], 1, 5),
        (data["K1"], 1, 5),
    ]
    b = by_id(year)[data["B"]]
    assert b["portal_at"] == shanghai(2024, 2, 21, 9, 0) and b["news_media_at"] == shanghai(2024, 2, 22, 9, 0)
    assert b["posted_at"] == shanghai(2024, 2, 22, 9, 0)
    assert b["outlets"] == ["福州交通微信公众号", "福建日报"]
    assert [r["document_id"] for r in reports.late(SUPERVISOR, period="2024-Q1").rows] == [
        data["Z"],
        data["B"],
    ]
    assert [r["document_id"] for r in reports.late(SUPERVISOR, period="2024", unit="kxc").rows] == [
        data["K1"]
    ]
    assert [r["document_id"] for r in reports.late(SUPERVISOR, period="2024-02").rows] == [data["B"]]
    assert reports.late(SUPERVISOR, period="2023").rows == []


# ------------------------------------------------------------------ on time
def test_on_time_per_unit_for_the_year(data, reports) -> None:  # type: ignore[no-untyped-def]
    table = reports.on_time(SUPERVISOR, period="2024")
    rows = by_unit(table)
    assert set(rows) == {"spc", "kxc"}
    # spc: H, A on time; B late; C overdue; D not yet due → 2 / (2 + 1 + 1).
    assert {k: rows["spc"][k] for k in ("published", "on_time", "late", "overdue", "open", "rate")} == {
        "published": 5,
        "on_time": 2,
        "late": 1,
        "overdue": 1,
        "open": 1,
        "rate": 0.5,
    }
    assert {k: rows["kxc"][k] for k in ("published", "on_time", "late", "overdue", "open", "rate")} == {
        "published": 1,
        "on_time": 0,
        "late": 1,
        "overdue": 0,
        "open": 0,
        "rate": 0.0,
    }
    assert table.totals == {
        "unit": "*",
        "unit_name": "合计",
        "period": "2024",
        "published": 6,
        "on_time": 2,
        "late": 2,
        "overdue": 1,
        "open": 1,
        "rate": 0.4,
        "claims_waiting": 0,
        "claims_confirmed": 0,
        "corrected": 0,
        "clock_overridden": 0,  # the data set is built on the services' clock, not under --now
        "number_shared": 0,  # every document of the data set has a number of its own
    }


def test_on_time_by_quarter_month_and_as_of(data, reports) -> None:  # type: ignore[no-untyped-def]
    q = reports.on_time(SUPERVISOR, period="2024", by="quarter")
    assert [
        (r["unit"], r["period"], r["published"], r["on_time"], r["late"], r["overdue"], r["open"], r["rate"])
        for r in q.rows
    ] == [
        ("kxc", "2024-Q1", 1, 0, 1, 0, 0, 0.0),
        ("spc", "2024-Q1", 3, 2, 1, 0, 0, 0.6667),
        ("spc", "2024-Q2", 2, 0, 0, 1, 1, 0.0),
    ]
    jan = reports.on_time(SUPERVISOR, period="2024-01")  # H at 00:30 local on 1 Jan counts in 2024
    assert [(r["unit"], r["published"], r["on_time"], r["rate"]) for r in jan.rows] == [("spc", 1, 1, 1.0)]
    dec = reports.on_time(SUPERVISOR, period="2023-12")
    assert [(r["unit"], r["published"], r["late"], r["rate"]) for r in dec.rows] == [("spc", 1, 1, 0.0)]
    # As of Wed 21 Feb: H and A on time, B overdue (posted only on the 22nd).
    feb = reports.on_time(SUPERVISOR, period="2024", unit="spc", now=shanghai(2024, 2, 21, 10, 0))
    assert [(r["published"], r["on_time"], r["late"], r["overdue"], r["open"]) for r in feb.rows] == [
        (3, 2, 0, 1, 0)
    ]


# ------------------------------------------------------------------ ledger
def test_ledger_rows(data, reports) -> None:  # type: ignore[no-untyped-def]
    table = reports.ledger(AUDITOR, period="2024")
    assert [r["document_id"] for r in table.rows] == [data[n] for n in ("H", "A", "B", "K1", "C", "D")]
    assert [r["no"] for r in table.rows] == [1, 2, 3, 4, 5, 6]
    assert [r["status"] for r in table.rows] == ["on_time", "on_time", "late", "late", "overdue", "open"]
    assert [r["working_days_taken"] for r in table.rows] == [2, 2, 5, 5, None, None]
    # B, K1 as in the module docstring; C as of Tue 7 May 10:00: Mon 6 passed → 1.
    assert [r["working_days_late"] for r in table.rows] == [0, 0, 1, 1, 1, 0]
    a = by_id(table)[data["A"]]
    assert a["doc_number"] == "榕交〔2024〕1号" and a["title"] == "福州市道路运输管理办法"
    assert a["published_at"] == shanghai(2024, 2, 9, 10, 0)
    assert a["publication_url"] == f"https://jtj.fuzhou.example.cn/zcwj/{data['A']}.htm"
    assert a["interpreter"] == "刘科员" and a["forms"] == ["text", "graphic"]
    assert a["portal"] == ["2024-02-19 https://jtj.fuzhou.example.cn/jd/a.htm"]
    assert a["news_media"] == ["2024-02-19 福州日报 2024-02-19 第3版"]
    assert a["new_media"] == [] and a["posted_at"] == shanghai(2024, 2, 19, 16, 0)
    b = by_id(table)[data["B"]]
    assert b["new_media"] == ["2024-02-21 福州交通微信公众号 https://mp.example.cn/s/fzjt-7"]
    assert [r["document_id"] for r in reports.ledger(AUDITOR, period="2024", unit="kxc").rows] == [data["K1"]]


# ------------------------------------------------------------------ year-end
def test_year_end_per_unit(data, reports) -> None:  # type: ignore[no-untyped-def]
    table = reports.year_end(SUPERVISOR, period="2024")
    assert [r["unit"] for r in table.rows] == ["bgs", "csc", "dyzx", "glzx", "jgc", "kxc", "spc", "syzx"]
    spc = by_unit(table)["spc"]
    assert {k: spc[k] for k in ("drafted", "organised", "signed", "withdrawn", "filed")} == {
        # H A B C D E F G drafted in 2024 (Z in 2023); G has no plan; F's signature was voided.
        "drafted": 8,
        "organised": 7,
        "signed": 6,
        "withdrawn": 1,
        "filed": 0,
    }
    assert {
        k: spc[k] for k in ("published", "on_time", "late", "overdue", "open", "rate", "avg_days_taken")
    } == {
        "published": 5,
        "on_time": 2,
        "late": 1,
        "overdue": 1,
        "open": 1,
        "rate": 0.5,
        "avg_days_taken": 3.0,
    }
    assert {k: v for k, v in spc.items() if k.startswith("form_") and v} == {
        "form_text": 4,
        "form_graphic": 1,
        "form_qa": 1,
    }
    assert (spc["channel_portal"], spc["channel_news_media"], spc["channel_new_media"]) == (4, 3, 1)
    assert spc["outlets"] == sorted(["福州日报", "福建日报", "福州交通微信公众号"])
    assert (spc["rejections"], spc["voided"], spc["refusals"]) == (1, 1, 1)
    kxc = by_unit(table)["kxc"]
    assert (
        kxc["drafted"],
        kxc["organised"],
        kxc["signed"],
        kxc["published"],
        kxc["late"],
        kxc["rate"],
        kxc["avg_days_taken"],
    ) == (1, 1, 1, 1, 1, 0.0, 5.0)
    assert (kxc["form_video"], kxc["form_qa"], kxc["outlets"], kxc["refusals"]) == (1, 1, ["海峡都市报"], 1)
    assert by_unit(table)["bgs"]["drafted"] == 0 and by_unit(table)["bgs"]["rate"] is None
    t = table.totals
    assert (
        t["drafted"],
        t["organised"],
        t["signed"],
        t["published"],
        t["on_time"],
        t["late"],
        t["overdue"],
        t["open"],
        t["rate"],
        t["avg_days_taken"],
        t["refusals"],
    ) == (9, 8, 7, 6, 2, 2, 1, 1, 0.4, 3.5, 2)
    only = reports.year_end(SUPERVISOR, period="2024", unit="kxc")
    assert [r["unit"] for r in only.rows] == ["kxc"] and only.totals["refusals"] == 1


# ------------------------------------------------------------------ calendar correction
CORRECTED_2024 = """
year = 2024
source = "国务院办公厅关于2024年部分节假日安排的通知(测试用更正:2月21日、5月7日放假)"
official = true

[[holidays]]
name = "元旦"
start = 2024-01-01
end = 2024-01-01
[[holidays]]
name = "春节"
start = 2024-02-10
end = 2024-02-17
[[holidays]]
name = "更正"
start = 2024-02-21
end = 2024-02-21
[[holidays]]
name = "清明节"
start = 2024-04-04
end = 2024-04-06
[[holidays]]
name = "劳动节"
start = 2024-05-01
end = 2024-05-05
[[holidays]]
name = "更正"
start = 2024-05-07
end = 2024-05-07
[[holidays]]
name = "端午节"
start = 2024-06-10
end = 2024-06-10
[[holidays]]
name = "中秋节"
start = 2024-09-15
end = 2024-09-17
[[holidays]]
name = "国庆节"
start = 2024-10-01
end = 2024-10-07

[[workdays]]
date = 2024-02-04
[[workdays]]
date = 2024-02-18
[[workdays]]
date = 2024-04-07
[[workdays]]
date = 2024-04-28
[[workdays]]
date = 2024-05-11
[[workdays]]
date = 2024-09-14
[[workdays]]
date = 2024-09-29
[[workdays]]
date = 2024-10-12
"""


def test_a_corrected_calendar_recomputes_the_figures(data, db, clock, settings, reports) -> None:  # type: ignore[no-untyped-def]
    later = shanghai(2024, 5, 13, 10, 0)
    before = reports.overdue(SUPERVISOR, now=later)
    assert [r["working_days_overdue"] for r in before.rows] == [6, 2]
    clock.set(shanghai(2024, 5, 8, 9, 0))
    with db.transaction() as s:
        admin = s.scalars(select(User).where(User.login == "admin")).one()
        load_year(s, CORRECTED_2024, actor=actor_snapshot(admin), at=clock.now(), settings=settings)
    # C: 7 May is now a holiday → 6, 8, 9, 10, 11 passed = 5. D (still open) gets a new
    # deadline, Fri 10 May (8, 9, 10), so on Mon 13 only Sat 11 (make-up) has passed → 1.
    after = reports.overdue(SUPERVISOR, now=later)
    assert [(r["document_id"], r["working_days_overdue"]) for r in after.rows] == [
        (data["C"], 5),
        (data["D"], 1),
    ]
    assert after.rows[1]["due_at"] == shanghai(2024, 5, 10, 23, 59, 59)
    # B was posted late on Thu 22 Feb; with 21 Feb a holiday no working day had passed since
    # the due day, so 0 (less than 1), not 1; the verdict (late) is the one recorded at the time.
    late = by_id(reports.late(SUPERVISOR, period="2024"))[data["B"]]
    assert (late["working_days_late"], late["working_days_taken"]) == (0, 4)
    assert by_id(reports.ledger(SUPERVISOR, period="2024"))[data["B"]]["status"] == "late"


# ------------------------------------------------------------------ authorisation
def test_reports_refuse_and_audit_a_clerk(data, db, reports) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.outcome == "refused"))
    for call in (
        lambda: reports.overdue("liu.spc"),
        lambda: reports.ledger("liu.spc", period="2024"),
        lambda: reports.year_end("xu.kxc"),
    ):
        with pytest.raises(Forbidden) as err:
            call()
        assert "不是监督或审计人员" in err.value.message("zh")
    with db.transaction() as s:
        refused = list(
            s.scalars(select(AuditEvent).where(AuditEvent.outcome == "refused").order_by(AuditEvent.id))
        )
    assert len(refused) == before + 3
    last = refused[-1]
    assert (last.actor, last.actor_unit, last.action, last.chain) == ("xu.kxc", "kxc", "report", "sys")
    assert json.loads(last.details)["asked"]["report"] == "year-end"
    with pytest.raises(NotFound):
        reports.overdue("nobody")
    with pytest.raises(NotFound):
        reports.ledger(SUPERVISOR, unit="nope")


def test_periods() -> None:
    p = parse_period("2024-Q1")
    assert (p.first.isoformat(), p.last.isoformat()) == ("2024-01-01", "2024-03-31")
    assert p.start_at == datetime(2023, 12, 31, 16, 0, tzinfo=UTC)
    assert parse_period("2024-02").last.isoformat() == "2024-02-29"
    assert parse_period("2024-H2").first.isoformat() == "2024-07-01"
    assert [x.label for x in parse_period("2024-02-15..2024-04-10").split("month")] == [
        "2024-02",
        "2024-03",
        "2024-04",
    ]
    assert [x.label for x in parse_period("2024").split("quarter")] == [
        "2024-Q1",
        "2024-Q2",
        "2024-Q3",
        "2024-Q4",
    ]
    for bad in ("24", "2024-13", "2024-Q5", "2024-02-30", "2024-03-01..2024-02-01", "last year"):
        with pytest.raises(InvalidInput):
            parse_period(bad)


# ------------------------------------------------------------------ trail queries
def test_trail_queries_filter_and_page(data, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    q = AuditQueries(db, clock, settings)
    refused = q.events(AUDITOR, EventFilter(outcome="refused")).table.rows
    assert [(r["actor"], r["action"], r["document_id"]) for r in refused] == [
        ("xu.kxc", "edit", data["A"]),
        ("liu.spc", "request_signoff", data["F"]),
    ]
    by_kxc = q.events(AUDITOR, EventFilter(unit="kxc", action="publish")).table.rows
    assert [r["document_id"] for r in by_kxc] == [data["K1"]]
    director = q.events(AUDITOR, EventFilter(actor="director", action="reject")).table.rows
    assert [(r["document_id"], r["state_before"], r["state_after"]) for r in director] == [
        (data["F"], "joint_signoff", "interpretation_plan")
    ]
    feb = q.events(
        AUDITOR,
        EventFilter(action="publish", since=shanghai(2024, 2, 1, 0, 0), until=shanghai(2024, 3, 1, 0, 0)),
    )
    assert [r["document_id"] for r in feb.table.rows] == [data["A"], data["B"]]
    on_kxc_docs = q.events(AUDITOR, EventFilter(document_unit="kxc", outcome="allowed")).table.rows
    assert {r["document_id"] for r in on_kxc_docs} == {data["K1"]}
    # "system": the sweep escalated K1 before its late posting.
    assert {r["actor"] for r in on_kxc_docs} == {"xu.kxc", "wu.kxc", "director", "system"}
    # Pages of 7 over every publish event, in time order, with no gap and no repeat.
    everything = q.events(AUDITOR, EventFilter(action="publish"), limit=1000).table.rows
    assert len(everything) == 7
    seen, after = [], None
    while True:
        page = q.events(AUDITOR, EventFilter(action="publish"), limit=3, after_id=after)
        seen += [r["id"] for r in page.table.rows]
        if page.next_after_id is None:
            break
        after = page.next_after_id
    assert seen == [r["id"] for r in everything]
    assert [r["at"] for r in everything] == sorted(r["at"] for r in everything)
    with pytest.raises(Forbidden):
        q.events("liu.spc", EventFilter())
    with pytest.raises(InvalidInput):
        q.events(AUDITOR, EventFilter(outcome="maybe"))
    with pytest.raises(InvalidInput):
        q.events(AUDITOR, EventFilter(), after_id=10**9)


def test_timeline_is_the_documents_chain_in_order(data, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    q = AuditQueries(db, clock, settings)
    rows = q.timeline("chen.spc", data["F"]).rows  # a signer of F may read it
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    # Email events (queued, sent) interleave as notifications evolve; the lifecycle order is fixed.
    assert [(r["action"], r["outcome"]) for r in rows if not r["action"].startswith("email_")] == [
        ("create", "allowed"),
        ("prepare_plan", "allowed"),
        ("edit", "allowed"),
        ("set_signers", "allowed"),
        ("request_signoff", "refused"),
        ("attach_material", "allowed"),
        ("request_signoff", "allowed"),
        ("sign", "allowed"),
        ("signatures_voided", "allowed"),
        ("reject", "allowed"),
    ]
    assert rows[-1]["details"]["reason"] == "请补充政策背景"
    with pytest.raises(Forbidden):
        q.timeline("xu.kxc", data["F"])
    with pytest.raises(NotFound):
        q.timeline(AUDITOR, 10**6)
    with pytest.raises(NotFound):
        q.timeline("nobody", data["F"])
    assert q.timeline("liu.spc", data["F"]).rows[0]["action"] == "create"  # the drafting unit reads it
    with db.transaction() as s:
        last = s.scalars(
            select(AuditEvent).where(AuditEvent.chain == f"doc:{data['F']}").order_by(AuditEvent.seq.desc())
        ).first()
    assert (last.actor, last.action, last.outcome) == ("xu.kxc", "audit_query", "refused")


# ------------------------------------------------------------------ CSV, JSON and the CLI
def read_csv(text: str) -> list[list[str]]:
    assert text.startswith(BOM), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(text[len(BOM) :], newline="")))


def test_ledger_csv_cell_by_cell(data, reports) -> None:  # type: ignore[no-untyped-def]
    table = reports.ledger(AUDITOR, period="2024-02")
    raw = to_csv(table, "zh")
    assert "\r\n" in raw
    rows = read_csv(raw)
    assert rows[0] == [
        "序号",
        "单位代码",
        "单位",
        "文件编号",
        "文号",
        "标题",
        "公开时间",
        "公开网址",
        "解读截止日期",
        "截止日期暂定",
        "解读人",
        "解读形式",
        "门户网站",
        "新闻媒体",
        "政务新媒体",
        "解读发布完成",
        "是否按时",
        "用时工作日",
        "逾期工作日",
        "公开登记时间",
        "解读发布完成(所称)",
        "解读发布登记时间",
        "待确认的补录时间",
        "补录时间确认人",
        "更正次数",
        "更正人",
        "时钟被指定时登记",
        "同文号的其他文件",
        "网页核验",
    ]
    assert rows[1] == [
        "1",
        "spc",
        "审批处",
        str(data["A"]),
        "榕交〔2024〕1号",
        "福州市道路运输管理办法",
        "2024-02-09 10:00",
        f"https://jtj.fuzhou.example.cn/zcwj/{data['A']}.htm",
        "2024-02-20",
        "否",
        "刘科员",
        "文字解读；图解",
        "2024-02-19 https://jtj.fuzhou.example.cn/jd/a.htm",
        "2024-02-19 福州日报 2024-02-19 第3版",
        "",
        "2024-02-19 16:00",
        "按时发布",
        "2",
        "0",
        "2024-02-09 10:00",
        "2024-02-19 16:00",
        "2024-02-19 16:00",
        "0",
        "",
        "0",
        "",
        "",
        "",
        "政策文件页面：待核验；门户网站：待核验；新闻媒体：无网址未核验",
    ]
    assert rows[2] == [
        "2",
        "spc",
        "审批处",
        str(data["B"]),
        "榕交〔2024〕2号",
        "福州市网约车管理实施细则",
        "2024-02-09 11:00",
        f"https://jtj.fuzhou.example.cn/zcwj/{data['B']}.htm",
        "2024-02-20",
        "否",
        "刘科员",
        "问答",
        f"2024-02-21 https://jtj.fuzhou.example.cn/jd/{data['B']}-portal.htm",
        "2024-02-22 福建日报 https://fjrb.example.cn/2024-02-22/7.htm",
        "2024-02-21 福州交通微信公众号 https://mp.example.cn/s/fzjt-7",
        "2024-02-22 09:00",
        "逾期发布",
        "5",
        "1",
        "2024-02-09 11:00",
        "2024-02-22 09:00",
        "2024-02-22 09:00",
        "0",
        "",
        "0",
        "",
        "",
        "",
        "政策文件页面：待核验；门户网站：待核验；政务新媒体：待核验；新闻媒体：待核验",
    ]
    assert len(rows) == 3
    english = read_csv(to_csv(table, "en"))
    assert english[0][:3] == ["no.", "unit", "unit name"] and english[2][16] == "posted late"


def test_on_time_and_year_end_csv(data, reports) -> None:  # type: ignore[no-untyped-def]
    rows = read_csv(to_csv(reports.on_time(SUPERVISOR, period="2024"), "zh"))
    assert rows == [
        [
            "单位代码",
            "单位",
            "期间",
            "公开文件",
            "按时发布",
            "逾期发布",
            "已逾期未发布",
            "期限内未发布",
            "按时率",
            "含待确认补录时间",
            "补录时间已确认",
            "公开后更正",
            "含时钟被指定时的登记",
            "文号与其他文件相同",
        ],
        ["kxc", "科信处", "2024", "1", "0", "1", "0", "0", "0.0%", "0", "0", "0", "0", "0"],
        ["spc", "审批处", "2024", "5", "2", "1", "1", "1", "50.0%", "0", "0", "0", "0", "0"],
        ["*", "合计", "2024", "6", "2", "2", "1", "1", "40.0%", "0", "0", "0", "0", "0"],
    ]
    ye = read_csv(to_csv(reports.year_end(SUPERVISOR, period="2024", unit="kxc"), "zh"))
    header, kxc = ye[0], dict(zip(ye[0], ye[1]))
    assert header[:3] == ["单位代码", "单位", "起草文件"]
    assert (
        kxc["单位"],
        kxc["同步审签"],
        kxc["按时率"],
        kxc["平均用时(工作日)"],
        kxc["形式:视频"],
        kxc["发布媒体"],
    ) == ("科信处", "1", "0.0%", "5.0", "1", "海峡都市报")


def test_csv_neutralises_formulas(data, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    wf = Workflow(db, clock, settings)
    publish(
        wf,
        clock,
        SPC,
        number="=1+1",
        title='=HYPERLINK("http://evil.example","点我")',
        at=shanghai(2024, 5, 7, 11, 0),
    )
    rows = read_csv(to_csv(Reports(db, clock, settings).ledger(AUDITOR, period="2024-05-07"), "zh"))
    assert rows[1][4] == "'=1+1" and rows[1][5] == '\'=HYPERLINK("http://evil.example","点我")'


@pytest.fixture
def cli(db, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, now: str = "2024-05-07T10:00+08:00") -> tuple[int, str, str]:
        result = runner.invoke(app, ["--db", db.url, "--now", now, *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


def test_cli_reports_and_queries(data, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("report", "on-time", "--as", SUPERVISOR, "--period", "2024", "--json")
    assert code == 0
    got = json.loads(out)
    assert (
        got["report"] == "on-time" and got["period"] == "2024" and got["as_of"] == "2024-05-07T10:00:00+08:00"
    )
    assert got["totals"]["rate"] == 0.4
    code, out, _ = cli("report", "overdue", "--as", SUPERVISOR, "--now", "2024-05-13T10:00+08:00", "--csv")
    assert code == 0
    assert [r[3] for r in read_csv(out)[1:]] == ["榕交〔2024〕3号", "榕交〔2024〕4号"]
    target = tmp_path / "台账.csv"
    code, out, _ = cli(
        "report", "ledger", "--as", AUDITOR, "--period", "2024", "--csv", "--output", str(target)
    )
    assert code == 0 and "写入 6 行" in out
    assert read_csv(target.read_text(encoding="utf-8"))[1][5] == "福州市元旦交通保障方案"
    code, out, _ = cli("report", "year-end", "--as", AUDITOR, "--period", "2024")
    assert code == 0 and "审批处" in out and "合计" in out
    code, out, _ = cli("report", "late", "--as", AUDITOR, "--period", "2024-Q1", "--unit", "spc")
    assert code == 0 and "福州市城市公交管理办法" in out
    # Mistakes: one line, non-zero exit, no traceback.
    for args, words in [
        (("report", "ledger", "--as", AUDITOR, "--period", "2024-13"), "期间 无效"),
        (("report", "overdue", "--as", "liu.spc"), "不是监督或审计人员"),
        (("report", "on-time", "--as", AUDITOR, "--by", "week"), "--by"),
        (("report", "late", "--as", AUDITOR, "--unit", "nope"), "nope"),
        (("report", "late", "--as", AUDITOR, "--json", "--csv"), "--json"),
        (("audit", "events", "--as", AUDITOR, "--outcome", "maybe"), "--outcome"),
    ]:
        code, out, err = cli(*args)
        assert code != 0 and words in err and "Traceback" not in out + err, (args, out, err)
        assert len(err.strip().splitlines()) == 1, err
    code, out, err = cli("audit", "events", "--as", AUDITOR, "--action", "publish", "--limit", "2")
    assert code == 0 and "还有更多事件:加 --after-id" in err
    code, out, _ = cli("audit", "events", "--as", AUDITOR, "--outcome", "refused", "--csv")
    rows = read_csv(out)
    assert rows[0][:4] == ["编号", "时间", "文件", "操作人"]
    # The two refusals of the data set, then liu.spc's refused report just above (audited).
    assert [(r[3], r[5], r[6]) for r in rows[1:]] == [
        ("xu.kxc", "edit", "拒绝"),
        ("liu.spc", "request_signoff", "拒绝"),
        ("liu.spc", "report", "拒绝"),
    ]
    code, out, _ = cli("audit", "timeline", str(data["A"]), "--as", "liu.spc", "--json")
    assert code == 0
    timeline = json.loads(out)["rows"]
    timeline = [r for r in timeline if not r["action"].startswith("email_")]
    assert [r["action"] for r in timeline[-3:]] == ["record_posting", "post_interpretation", "edit"]
    assert timeline[0]["action"] == "create" and timeline[-2]["details"]["on_time"] is True
    assert (timeline[-1]["actor"], timeline[-1]["outcome"]) == ("xu.kxc", "refused")


def test_fast_working_day_counts_match_the_deadline_rule() -> None:
    """Reports count working days from per-year running totals; they must give exactly the
    count of :func:`states.deadline.working_days_between`, across years and make-up days."""
    import random
    from datetime import date

    from states.deadline import working_days_between
    from workflow.kernel.calendar import package_calendar
    from workflow.services.reports import Days as _Days

    calendar = package_calendar()
    days = _Days(calendar, "Asia/Shanghai")
    rng = random.Random(6)
    for _ in range(3000):
        after = date(2019, 1, 1) + timedelta(days=rng.randint(0, 2500))
        until = after + timedelta(days=rng.randint(-5, 900))
        assert days.dates(after, until) == working_days_between(after, until, calendar), (after, until)
    assert days.dates(date(2024, 2, 9), date(2024, 2, 20)) == 3  # 18 (make-up), 19, 20
