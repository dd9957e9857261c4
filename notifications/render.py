"""Rendering the emails from Jinja2 templates, in Chinese (default) or English.

Each event has three templates per language under ``notifications/templates/<lang>/``:
``<event>.subject.txt``, ``<event>.txt`` (plain text) and ``<event>.html`` (the HTML alternative).
The bodies extend ``_base.txt`` / ``_base.html``, which lay out the facts every email carries.
HTML is autoescaped, so a title with markup is shown, not interpreted; subjects are squeezed onto
one line with every control character removed, so no title can add a header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifications.addresses import clean_text

TEMPLATES = Path(__file__).parent / "templates"
EVENTS = (
    "signoff_requested",
    "rejected",
    "published",
    "reminder",
    "overdue",
    "escalated",
    "escalated_high",
    "posted_late",
    "evidence_problem",
)
LANGUAGES = ("zh", "en")
_WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    """One shared environment; templates are compiled once per process."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates ship with the code; no stat() of three files per email
    )


def format_instant(value: datetime | None, lang: str, tz: str = "Asia/Shanghai") -> str | None:
    """A wall-clock time in the working zone with its offset, e.g. ``2024-02-20(周二)23:59 +08:00``."""
    if value is None:
        return None
    local = value.astimezone(ZoneInfo(tz))
    offset = local.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    day = _WEEKDAYS[lang][local.weekday()]
    if lang == "zh":
        return f"{local:%Y-%m-%d}(周{day}){local:%H:%M} {offset}"
    return f"{day} {local:%Y-%m-%d %H:%M} {offset}"


def _checked(event: str, lang: str, context: Mapping[str, Any]) -> dict[str, Any]:
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    return {**context, "lang": lang}


def render_subject(event: str, lang: str, context: Mapping[str, Any]) -> str:
    """The subject alone, on one line (what a list of emails or a group robot's title shows)."""
    ctx = _checked(event, lang, context)
    return clean_text(environment().get_template(f"{lang}/{event}.subject.txt").render(ctx), limit=400)


def render(event: str, lang: str, context: Mapping[str, Any]) -> Rendered:
    """Subject, plain text and HTML of one email; ``context`` as built by
    :func:`notifications.outbox.email_context` (and frozen in the outbox row)."""
    ctx = _checked(event, lang, context)
    env = environment()
    text = env.get_template(f"{lang}/{event}.txt").render(ctx)
    html = env.get_template(f"{lang}/{event}.html").render(ctx)
    return Rendered(subject=render_subject(event, lang, context), text=text, html=html)
