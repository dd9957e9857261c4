"""Reading the files offices keep lists in: CSV as Excel saves it, and ``.xlsx`` workbooks.

The one reader behind every import (units, users, documents in progress), so that what one
import accepts the others accept too. Excel on Chinese Windows saves "CSV" in GBK, elsewhere in
UTF-8 with a BOM; neither says which, so the bytes decide: strict UTF-8 first (it rarely
decodes anything else by accident), then GB 18030 (the superset of GB 2312 and GBK) when
charset-normalizer finds the bytes read as coherent text in it, so a binary file or another
encoding is refused instead of turning into mojibake.
A file that cannot be read at all is one :class:`FileProblem` sentence, never a traceback;
problems with single rows are for the import to list, each with the row number returned here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from states.i18n import _


class FileProblem(ValueError):
    """The file as a whole cannot be read (format, encoding, header); one sentence."""


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GBK/GB 18030 as detected."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # Only the GB family is considered: on a short Excel export a wider search picks Big5 or
    # worse for GBK bytes, and GB 18030 decodes every GB 2312 and GBK file.
    best = from_bytes(raw, cp_isolation=["gb18030"]).best()
    if best is None:
        raise FileProblem(_("the file is neither UTF-8 nor GBK text"))
    return str(best)


def read_grid(path: Path, *, max_bytes: int) -> list[list[Any]]:
    """Every row of a ``.csv`` or of an ``.xlsx`` file's first sheet, header included."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileProblem(
            _("cannot read {name}: {problem}", name=path.name, problem=exc.strerror or exc)
        ) from None
    if size > max_bytes:
        raise FileProblem(_("{name} is larger than {mb} MB", name=path.name, mb=max_bytes // (1024 * 1024)))
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _xlsx(path)
    if suffix == ".csv":
        return list(csv.reader(io.StringIO(decode_text(path.read_bytes()), newline="")))
    raise FileProblem(_("use an .xlsx file or a .csv file (UTF-8 or GBK)"))


def records(grid: list[list[Any]], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number as Excel shows it, header → value) for each non-blank row after the header.

    Headers are stripped (and a BOM left on the first one dropped); values are as read, so a
    body's leading full-width indent survives.
    """
    if not grid:
        raise FileProblem(_("{name} is empty", name=name))
    header = [str(h).strip().lstrip("\ufeff") if h is not None else "" for h in grid[0]]
    for number, values in enumerate(grid[1:], start=2):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        yield number, {k: v for k, v in zip(header, values, strict=False) if k}


def _xlsx(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        raise FileProblem(
            _(
                "{name} is not a readable .xlsx workbook ({problem})",
                name=path.name,
                problem=type(exc).__name__,
            )
        ) from None
    try:
        return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
