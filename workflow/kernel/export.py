"""Tables that reports and trail queries return, and their three renderings: CSV, JSON, text.

One :class:`Table` feeds all three so a figure cannot differ between the screen, the JSON a
script reads and the CSV a supervisor opens in Excel.

* **CSV** is UTF-8 *with* a byte-order mark: Excel on Windows reads a BOM-less CSV in the
  local code page (GBK on a Chinese system at best, mojibake at worst); with the BOM it reads
  UTF-8 and the Chinese titles arrive intact. Headers and labels follow the language setting;
  instants are local wall-clock time (the zone the deadline is counted in); a text cell that
  Excel would run as a formula (starting with ``= + - @``, tab or CR) is prefixed with ``'``.
* **JSON** keeps machine values: codes instead of labels, ISO 8601 instants with their offset,
  rates as fractions, lists as lists.
* **Text** is an aligned table for the terminal, aware that a Chinese character is two columns.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

from states.i18n import _, gettext

BOM = "\ufeff"
Kind = Literal["text", "int", "instant", "date", "rate", "bool", "list", "label", "number"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column: its JSON key, its header in Chinese and English, and how to render it.

    ``labels`` maps a code (e.g. ``on_time``) to its (zh, en) label for ``kind="label"``.
    """

    key: str
    zh: str
    en: str
    kind: Kind = "text"
    labels: Mapping[str, tuple[str, str]] | None = None

    def header(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass
class Table:
    """A report or query result: named columns, rows of plain values, and what it was asked.

    ``meta`` says what the table answers (period, unit, as-of instant, who asked); ``totals``
    is an optional last row (CSV and text show it after the rows, JSON as its own key).
    """

    name: str
    title_zh: str
    title_en: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    totals: dict[str, Any] | None = None
    tz: str = "Asia/Shanghai"

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: machine values, instants as ISO 8601 in the working zone."""
        out: dict[str, Any] = {
            "report": self.name,
            **{k: _json_value(v, self.tz) for k, v in self.meta.items()},
            "columns": [c.key for c in self.columns],
            "rows": [{c.key: _json_value(r.get(c.key), self.tz) for c in self.columns} for r in self.rows],
        }
        if self.totals is not None:
            out["totals"] = {
                c.key: _json_value(self.totals.get(c.key), self.tz)
                for c in self.columns
                if c.key in self.totals
            }
        return out


def _json_value(value: Any, tz: str) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if isinstance(value, dict):
        return {k: _json_value(v, tz) for k, v in value.items()}
    return value


def cell(column: Column, value: Any, lang: str, tz: str) -> str:
    """One value as a person reads it (CSV and text)."""
    if value is None:
        return ""
    kind = column.kind
    if kind == "instant" and isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    if kind == "date" and isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).date().isoformat()
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "number" and isinstance(value, float):
        return f"{value:.1f}"
    if kind == "bool":
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if kind == "label":
        pair = (column.labels or {}).get(value)
        return (pair[0] if lang == "zh" else pair[1]) if pair else str(value)
    if kind == "list":
        sep = "；" if lang == "zh" else "; "
        labels = column.labels or {}
        return sep.join((labels[v][0 if lang == "zh" else 1] if v in labels else str(v)) for v in value)
    return str(value)


def _safe(text: str) -> str:
    """Neutralise a cell Excel would evaluate as a formula (CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(table: Table, out: IO[str], lang: str = "zh") -> None:
    """Write ``table`` as CSV (BOM first, CRLF line ends as RFC 4180 and Excel expect).

    ``out`` should be opened with ``newline=""`` so the csv module controls line ends.
    """
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header(lang) for c in table.columns])
    rows = list(table.rows) + ([table.totals] if table.totals is not None else [])
    for row in rows:
        writer.writerow(
            [
                _safe(cell(c, row.get(c.key), lang, table.tz))
                if c.kind in ("text", "list")
                else cell(c, row.get(c.key), lang, table.tz)
                for c in table.columns
            ]
        )


def to_csv(table: Table, lang: str = "zh") -> str:
    """The CSV as one string, BOM included."""
    buffer = io.StringIO(newline="")
    write_csv(table, buffer, lang)
    return buffer.getvalue()


def save_csv(table: Table, path: Path, lang: str = "zh") -> None:
    """Write the CSV to a file (UTF-8 with BOM)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        write_csv(table, fh, lang)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _clip(text: str, limit: int) -> str:
    if _width(text) <= limit:
        return text
    out, used = "", 0
    for ch in text:
        w = _width(ch)
        if used + w > limit - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


META_LABELS = {
    "period": _("period"),
    "unit": _("unit"),
    "as_of": _("as of"),
    "asked_by": _("asked by"),
    "count": _("count"),
    "by": _("grouped by"),
    "document_id": _("document"),
    "title": _("title"),
    "document_unit": _("drafting unit"),
    "actor": _("actor"),
    "action": _("action"),
    "outcome": _("outcome"),
    "since": _("since"),
    "until": _("until"),
    "channel": _("channel"),
    "after_id": _("after event"),
    "limit": _("limit"),
    "next_after_id": _("next page after event"),
    "clock_overridden": _("documents recorded under a clock override"),
    "number_shared": _("documents sharing their number with another"),
}
"""What a text table's line above the headers calls each thing asked (the JSON keeps the keys)."""


def summary_item(table: Table, key: str, lang: str) -> str:
    """One thing the table was asked or counts (its ``meta[key]``), as a person reads it:
    the text table's line above the headers, and the pages' line above a report."""
    value = table.meta.get(key)
    label = gettext(META_LABELS[key], lang) if key in META_LABELS else key
    shown = (
        cell(Column(key, key, key, "instant"), value, lang, table.tz)
        if isinstance(value, datetime)
        else value
    )
    return f"{label}{':' if lang == 'zh' else ': '}{shown}"


def to_text(table: Table, lang: str = "zh", *, max_cell: int = 40) -> str:
    """An aligned plain-text table with the title and what was asked on top."""
    headers = [c.header(lang) for c in table.columns]
    rows = list(table.rows) + ([table.totals] if table.totals is not None else [])
    body = [
        [_clip(cell(c, r.get(c.key), lang, table.tz).replace("\n", " "), max_cell) for c in table.columns]
        for r in rows
    ]
    widths = [max([_width(h)] + [_width(line[i]) for line in body]) for i, h in enumerate(headers)]
    lines = [table.title(lang)]
    about = [summary_item(table, k, lang) for k, v in table.meta.items() if v not in (None, "", [])]
    if about:
        lines.append("  ".join(about))
    lines.append("  ".join(_pad(h, w) for h, w in zip(headers, widths)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    if not table.rows:
        lines.append("（无）" if lang == "zh" else "(none)")
    for i, line in enumerate(body):
        if table.totals is not None and i == len(body) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(_pad(v, w) for v, w in zip(line, widths)).rstrip())
    return "\n".join(lines)
