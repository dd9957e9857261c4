"""Every report as an Excel workbook, opened back with openpyxl and compared with its CSV cell
by cell: same columns and rows, typed cells (instants and dates as dates, counts as integers,
rates as percentages), frozen bold header, widths that fit Chinese text, text never a formula.
On the hand-checked data set of test_reports (SQLite and PostgreSQL), and through the CLI
(``--xlsx``), the API (``?format=xlsx``) and the pages (the dashboard's links).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.conftest import shanghai
from tests.integration.test_reports import (  # noqa: F401 (fixtures)
    AUDITOR,
    SPC,
    SUPERVISOR,
    cli,
    data,
    dataset,
    db,
    publish,
    read_csv,
    reports,
)
from workflow.kernel.export import Table, to_csv
from workflow.kernel.export_xlsx import display_width, to_xlsx
from workflow.services.documents import Workflow
from workflow.services.reports import Reports

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_csv_text(value: Any, number_format: str, kind: str) -> str:
    """What the CSV says for a cell the workbook holds typed."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d" if "h" not in number_format else "%Y-%m-%d %H:%M")
    # Excel stores 0.0 as 0, read back as an int: the number format says how it is shown.
    if isinstance(value, (int, float)) and number_format == "0.0%":
        return f"{value * 100:.1f}%"
    if isinstance(value, (int, float)) and number_format == "0.0":
        return f"{value:.1f}"
    text = str(value)
    if kind in ("text", "list") and text.startswith(FORMULA_START):
        return "'" + text  # the CSV neutralises what Excel would run; the workbook stores text
    return text


def check_workbook(table: Table, raw: bytes, lang: str = "zh") -> list[list[Any]]:
    """The workbook says what the CSV says, typed; returns its first sheet's values."""
    wb = load_workbook(io.BytesIO(raw))
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2"
    grid = [list(r) for r in ws.iter_rows()]
    expected = read_csv(to_csv(table, lang))
    assert len(grid) == len(expected)
    kinds = [c.kind for c in table.columns]
    for i, (cells, want) in enumerate(zip(grid, expected, strict=True)):
        got = [
            as_csv_text(c.value, c.number_format, kinds[j]) if i else str(c.value)
            for j, c in enumerate(cells)
        ]
        assert got == want, (table.name, i)
        for j, c in enumerate(cells):
            if i == 0:
                assert c.font.b, "the header is bold"
            elif c.value is not None:
                assert c.data_type != "f", "a text cell became a formula"
                kind = kinds[j]
                if kind in ("instant", "date"):
                    assert isinstance(c.value, datetime) and c.is_date, (table.name, kind, c.value)
                elif kind == "int":
                    assert isinstance(c.value, int), (table.name, kind, c.value)
                elif kind == "rate":
                    assert isinstance(c.value, (int, float)) and c.number_format == "0.0%"
    for j, col in enumerate(table.columns):
        letter = ws.cell(row=1, column=j + 1).column_letter
        widest = max(display_width(str(want[j])) for want in expected)
        assert ws.column_dimensions[letter].width >= min(widest, 58), (col.key, widest)
    assert wb.worksheets[1].title == ("说明" if lang == "zh" else "About")
    return [[c.value for c in r] for r in grid]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("overdue", {}),
        ("late", {"period": "2024"}),
        ("on-time", {"period": "2024", "by": "quarter"}),
        ("ledger", {"period": "2024"}),
        ("year-end", {"period": "2024"}),
    ],
)
def test_every_report_as_xlsx_matches_its_csv(
    data, reports: Reports, name: str, kwargs: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    method = {
        "overdue": reports.overdue,
        "late": reports.late,
        "on-time": reports.on_time,
        "ledger": reports.ledger,
        "year-end": reports.year_end,
    }[name]
    table = method(SUPERVISOR, **kwargs)
    assert table.rows, "a report with rows, so the cells are checked"
    check_workbook(table, to_xlsx(table, "zh"), "zh")
    check_workbook(table, to_xlsx(table, "en"), "en")


def test_ledger_cells_are_typed(data, reports: Reports) -> None:  # type: ignore[no-untyped-def]
    table = reports.ledger(AUDITOR, period="2024-02")
    values = check_workbook(table, to_xlsx(table))
    header, first = values[0], dict(zip(values[0], values[1], strict=True))
    assert header[6] == "公开时间"
    assert first["公开时间"] == datetime(2024, 2, 9, 10, 0)  # local wall-clock, a real date-time
    assert first["解读截止日期"] == datetime(2024, 2, 20, 0, 0)  # a date
    assert first["用时工作日"] == 2 and first["序号"] == 1
    assert first["标题"] == "福州市道路运输管理办法"


def test_text_that_looks_like_a_formula_stays_text(data, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    wf = Workflow(db, clock, settings)
    publish(
        wf,
        clock,
        SPC,
        number="=1+1",
        title='=HYPERLINK("http://evil.example","点我")',
        at=shanghai(2024, 5, 7, 11, 0),
    )
    table = Reports(db, clock, settings).ledger(AUDITOR, period="2024-05-07")
    ws = load_workbook(io.BytesIO(to_xlsx(table))).worksheets[0]
    assert ws["E2"].value == "=1+1" and ws["E2"].data_type == "s"
    assert ws["F2"].value == '=HYPERLINK("http://evil.example","点我")' and ws["F2"].data_type == "s"


def test_cli_writes_xlsx(data, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "台账.xlsx"
    code, out, _ = cli("report", "ledger", "--as", AUDITOR, "--period", "2024", "--xlsx", str(target))
    assert code == 0 and f"已向 {target} 写入 6 行" in out
    ws = load_workbook(target).worksheets[0]
    assert ws.max_row == 7 and ws["F2"].value == "福州市元旦交通保障方案"
    code, _, err = cli("report", "ledger", "--as", AUDITOR, "--csv", "--xlsx", str(target))
    assert code != 0 and "--xlsx" in err


def test_api_and_pages_serve_xlsx(tmp_path: Path) -> None:
    from tests.api_support import api_env
    from tests.web_support import PASSWORD, Session, web_env
    from workflow.kernel.db import Database
    from workflow.kernel.export_xlsx import MEDIA_TYPE

    api_db = Database(f"sqlite:///{tmp_path / 'api.db'}")
    api_db.upgrade()
    with api_env(api_db, tmp_path / "mail") as env:
        response = env.client("auditor").get(
            "/reports/on-time", params={"format": "xlsx", "period": "2024"}, headers={"Accept-Language": "en"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == MEDIA_TYPE
        assert response.headers["content-disposition"] == 'attachment; filename="on-time.xlsx"'
        ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
        assert [c.value for c in ws[1]][:2] == ["unit", "unit name"]
        assert env.client("clerk").get("/reports/on-time", params={"format": "xlsx"}).status_code == 403
    api_db.dispose()

    web = Database(f"sqlite:///{tmp_path / 'web.db'}")
    web.upgrade()
    with web_env(web, tmp_path, people=("lin.zfc",)) as env:
        s = Session(env.base_url)
        s.sign_in("lin.zfc", PASSWORD)
        dashboard = s.get("/web/dashboard").text
        assert 'href="/web/reports/ledger.xlsx?period=2024"' in dashboard
        got = s.get("/web/reports/ledger.xlsx?period=2024")
        assert got.status_code == 200 and got.headers["content-type"] == MEDIA_TYPE
        assert load_workbook(io.BytesIO(got.content)).worksheets[0]["A1"].value == "序号"
        assert "下载 Excel" in s.get("/web/reports?report=ledger").text
        s.close()
    web.dispose()


def test_dates_round_trip_as_dates() -> None:
    from workflow.kernel.export import Column

    table = Table(
        "t",
        "测试",
        "test",
        [Column("d", "日期", "date", "date"), Column("i", "时刻", "instant", "instant")],
        [{"d": date(2024, 2, 20), "i": shanghai(2024, 2, 20, 23, 59, 59)}],
    )
    ws = load_workbook(io.BytesIO(to_xlsx(table))).worksheets[0]
    assert ws["A2"].value == datetime(2024, 2, 20) and ws["A2"].number_format == "yyyy-mm-dd"
    assert (
        ws["B2"].value == datetime(2024, 2, 20, 23, 59, 59) and ws["B2"].number_format == "yyyy-mm-dd hh:mm"
    )
