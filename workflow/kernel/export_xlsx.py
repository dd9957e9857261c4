"""A :class:`~workflow.kernel.export.Table` as an Excel workbook (.xlsx), for supervisors who are
asked for Excel files.

The first sheet has exactly the CSV's columns and rows (header, rows, the totals row last), but
typed: instants are Excel date-times in the working zone (``yyyy-mm-dd hh:mm``), dates are
dates, counts are integers, rates are fractions shown as percentages, other numbers numbers.
Labels, lists and booleans are the same text as in the CSV. The header row is frozen and bold,
and each column is as wide as its widest cell, counting a Chinese character as two. A text
cell is always stored as text, never as a formula, whatever it starts with. A second sheet
says what the table answers (its ``meta``: period, unit, as-of instant).

Written in openpyxl's write-only mode, so a long ledger streams row by row.
"""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from workflow.kernel.export import Column, Table, cell

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INSTANT_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
RATE_FORMAT = "0.0%"
NUMBER_FORMAT = "0.0"
MIN_WIDTH, MAX_WIDTH = 6, 60
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def display_width(text: str) -> int:
    """Columns the text takes in Excel's default font: a Chinese (wide) character is two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def typed(column: Column, value: Any, lang: str, tz: str) -> tuple[Any, str | None]:
    """The cell's value as Excel should hold it, and its number format."""
    if value is None:
        return None, None
    kind = column.kind
    if kind == "instant" and isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).replace(tzinfo=None), INSTANT_FORMAT
    if kind == "date" and isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).date(), DATE_FORMAT
    if kind == "date" and isinstance(value, date):
        return value, DATE_FORMAT
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value, None
    if kind == "rate" and isinstance(value, (int, float)):
        return float(value), RATE_FORMAT
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value, NUMBER_FORMAT if isinstance(value, float) else None
    return cell(column, value, lang, tz), None


def _sheet_title(text: str) -> str:
    return _SHEET_NAME_BAD.sub(" ", text)[:31] or "Sheet1"


def _cells(
    ws: WriteOnlyWorksheet, values: list[tuple[Any, str | None]], bold: bool = False
) -> list[WriteOnlyCell]:
    out = []
    for value, fmt in values:
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # text stays text: '=SUM(…)' in a title is shown, never computed
        if fmt:
            c.number_format = fmt
        if bold:
            c.font = Font(bold=True)
        out.append(c)
    return out


def write_xlsx(table: Table, out: IO[bytes] | Path, lang: str = "zh") -> None:
    """Write ``table`` as a workbook to a path or a binary stream."""
    columns = list(table.columns)
    rows = list(table.rows) + ([table.totals] if table.totals is not None else [])
    widths = [display_width(c.header(lang)) for c in columns]
    for row in rows:
        for i, c in enumerate(columns):
            widths[i] = max(widths[i], display_width(cell(c, row.get(c.key), lang, table.tz)))

    wb = Workbook(write_only=True)
    wb.properties.title = table.title(lang)
    wb.properties.creator = "Santongbu"
    ws = wb.create_sheet(_sheet_title(table.title(lang)))
    ws.freeze_panes = "A2"
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    ws.append(_cells(ws, [(c.header(lang), None) for c in columns], bold=True))
    for n, row in enumerate(rows):
        is_totals = table.totals is not None and n == len(rows) - 1
        ws.append(_cells(ws, [typed(c, row.get(c.key), lang, table.tz) for c in columns], bold=is_totals))

    about = wb.create_sheet("说明" if lang == "zh" else "About")
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 60
    about.append(_cells(about, [(table.title(lang), None)], bold=True))
    for key, value in table.meta.items():
        if value in (None, "", []):
            continue
        shown = (
            (value.astimezone(ZoneInfo(table.tz)).replace(tzinfo=None), INSTANT_FORMAT)
            if isinstance(value, datetime)
            else (str(value), None)
        )
        about.append(_cells(about, [(key, None), shown]))
    wb.save(out)


def to_xlsx(table: Table, lang: str = "zh") -> bytes:
    """The workbook as bytes (for an HTTP response)."""
    buffer = io.BytesIO()
    write_xlsx(table, buffer, lang)
    return buffer.getvalue()
