"""What text may hold, one rule for every front end (pages, API, CLI) and every service.

A stored text may not hold control characters: NUL (PostgreSQL refuses it; SQLite keeps it and
then every reader must cope), the other C0 controls but tab and line breaks, DEL, the C1
controls, or lone surrogates (not Unicode, refused by UTF-8). A one-line field (a title, a
name, a URL) may not hold a line break of any kind either, so it cannot forge a header or a CSV
row. The services check this for every text they store; the API's request models check it
first only to name the field in a 422 earlier.
"""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
LINE_BREAK = re.compile("[\n\r\u2028\u2029]")
CONTROL_PROBLEM = "must not contain control characters (such as NUL) or invalid Unicode"
LINE_PROBLEM = "must be one line"


def text_problem(value: str, *, one_line: bool = False) -> str | None:
    """Why ``value`` may not be stored (``None``: it may)."""
    if CONTROL.search(value):
        return CONTROL_PROBLEM
    if one_line and LINE_BREAK.search(value):
        return LINE_PROBLEM
    return None
