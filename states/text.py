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

from states.i18n import _

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
LINE_BREAK = re.compile("[\n\r\u2028\u2029]")
CONTROL_PROBLEM = _("must not contain control characters (such as NUL) or invalid Unicode")
LINE_PROBLEM = _("must be one line")


def text_problem(value: str, *, one_line: bool = False) -> str | None:
    """Why ``value`` may not be stored (``None``: it may)."""
    if CONTROL.search(value):
        return CONTROL_PROBLEM
    if one_line and LINE_BREAK.search(value):
        return LINE_PROBLEM
    return None


DEFAULT_MAX_TEXT_BYTES = 2 * 1024 * 1024
"""The largest text (a policy body, a plan, a material) in UTF-8 bytes, unless
``SANTONGBU_MAX_TEXT_BYTES`` says otherwise: the same for the CLI, the API and the pages."""

# What a file that is not text usually is, by its first bytes (to say so in plain words).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "ZIP / Office (docx, xlsx)"),
    (b"\xd0\xcf\x11\xe0", "Office 97–2003 (doc, xls)"),
)


def too_large(value: str, limit: int) -> bool:
    """True if ``value`` is more than ``limit`` bytes in UTF-8."""
    if len(value) * 4 <= limit:  # no character is more than 4 bytes: no need to encode
        return False
    return len(value.encode("utf-8", "surrogatepass")) > limit


def size_words(limit: int) -> str:
    """``2097152`` → ``2 MiB``: the limit as people read it."""
    return f"{limit / 1048576:g} MiB" if limit % 1024 == 0 and limit >= 1048576 else f"{limit} bytes"


def binary_kind(data: bytes) -> str | None:
    """What ``data`` looks like if it is not text (``None``: it may be text)."""
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    return "binary" if b"\x00" in data[:8192] else None
