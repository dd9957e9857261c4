"""The wording and layout shared by the demo's progress lines and its summary.

Both :mod:`workflow.demo.run` (one line per moment as the story plays) and
:mod:`workflow.demo.report` (the summary at the end) speak the reader's language, print times
in Beijing time with the weekday, and line up mixed Chinese/English columns; the helpers live
here so neither has to import the other.
"""

from __future__ import annotations

import os
import unicodedata
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from states import catalogue

# What the ladder's levels and the emails' events are called: the one catalogue.
LEVELS = catalogue.pairs("level")
EVENTS = catalogue.pairs("event")
_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def label(lang: str, zh: str, en: str) -> str:
    """The text in the reader's language."""
    return zh if lang == "zh" else en


def both(lang: str, zh: str, en: str) -> str:
    """A Chinese label followed by its English (``--lang zh``, the default), or English only."""
    return f"{zh} {en}" if lang == "zh" else en


def fmt_time(value: datetime | None, lang: str, *, year: bool = True, tz: str = "Asia/Shanghai") -> str:
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(tz))
    day = f"{local:%Y-%m-%d}" if year else f"{local:%m-%d}"
    if lang == "zh":
        return f"{day}(周{_WEEKDAYS_ZH[local.weekday()]}){local:%H:%M}"
    return f"{_WEEKDAYS_EN[local.weekday()]} {day} {local:%H:%M}"


def shown_path(path: Path) -> str:
    """Relative to the current folder when inside it (what a newcomer types), else absolute."""
    try:
        return os.path.relpath(path) if Path(os.path.relpath(path)).parts[:1] != ("..",) else str(path)
    except ValueError:  # another drive (Windows)
        return str(path)


def text_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(width - text_width(text), 0)


def cut(text: str, width: int) -> str:
    if text_width(text) <= width:
        return text
    out = ""
    for c in text:
        if text_width(out + c) > width - 1:
            break
        out += c
    return out + "…"


def table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(text_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(pad(c, widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
