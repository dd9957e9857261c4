"""Keep the Chinese catalogue in step with the source (states/i18n.py explains the catalogue).

    .venv/bin/python scripts/catalogue.py update   # add new messages (untranslated), drop stale
    .venv/bin/python scripts/catalogue.py check    # what tests/unit/test_i18n_catalogue.py checks

Messages come from Babel's extract API, two ways: the ``_("…")`` (and, for a word that needs
a context, ``pgettext("context", "…")``) calls anywhere in the four packages (Babel's own Python
extractor) — the kernel and services, the CLI, the web pages' words (``web/i18n.py``) and the
API's (``api/messages.py``) alike — and, in the CLI, every ``help="…"`` and the docstring of
every command (typer shows a command's docstring as its help), which the small extractor below
reads with :mod:`ast`, so help text needs no marking to be translated.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("states", "workflow", "notifications", "workers")
CLI = ROOT / "workflow" / "entrypoints" / "cli"
PO = ROOT / "states" / "locale" / "zh_CN" / "LC_MESSAGES" / "santongbu.po"
KEYWORDS: dict[str, Any] = {
    "_": None,
    "N_": None,  # N_: the kernel's lazy _ imported under another name
    "pgettext": ((1, "c"), 2),  # states.i18n.pgettext(context, message): msgctxt, msgid
}


def extract_cli_help(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple]:
    """A Babel extraction method: ``help=`` strings (literal, or a module constant) and the
    docstrings of a typer module's commands (decorated, or registered by ``app.command(...)(fn)``)."""
    tree = ast.parse(fileobj.read().decode("utf-8"))
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }
    registered = {
        arg.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and _is_command(node.func)
        for arg in node.args
        for arg in [arg, *(arg.args if isinstance(arg, ast.Call) else [])]  # command(common.command(fn))
        if isinstance(arg, ast.Name)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg != "help":
                    continue
                if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    yield kw.value.lineno, "", kw.value.value, []
                elif isinstance(kw.value, ast.Name) and kw.value.id in constants:
                    yield kw.value.lineno, "", constants[kw.value.id].strip(), []  # typer strips it
        if isinstance(node, ast.FunctionDef) and (
            node.name in registered or any(_is_command(d) for d in node.decorator_list)
        ):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield node.lineno, "", doc, []


def _is_command(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr in ("command", "callback")


def key(message: str, context: str | None) -> str:
    """A message's name in :func:`extract` and :func:`problems`: its msgid, after its context
    and gettext's EOT separator when it has one (as :func:`states.i18n.key`)."""
    return f"{context}\x04{message}" if context else message


def extract() -> dict[str, list[str]]:
    """Every message (:func:`key`), with where it occurs (``path:line``)."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, list[str]] = {}

    def add(path: str, line: int, message: Any, context: str | None) -> None:
        if isinstance(message, tuple):
            message = message[0]
        if message:
            found.setdefault(key(message, context), []).append(f"{path}:{line}")

    for package in PACKAGES:
        for path, line, message, _c, context in extract_from_dir(
            ROOT / package,
            method_map=[("**/migrations/**.py", "ignore"), ("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=(),
        ):
            add(f"{package}/{path}", line, message, context)
    for path, line, message, _c, context in extract_from_dir(
        CLI, method_map=[("**.py", extract_cli_help)], keywords={}, comment_tags=()
    ):
        add(f"workflow/entrypoints/cli/{path}", line, message, context)
    return found


def read() -> Any:
    from babel.messages.pofile import read_po

    with PO.open("rb") as handle:
        return read_po(handle, locale="zh_CN", domain="santongbu")


def problems() -> tuple[list[str], list[str]]:
    """(messages without a Chinese translation, catalogue entries nothing in the source uses)."""
    found = extract()
    catalogue = read()
    have = {key(str(m.id), m.context): m for m in catalogue if m.id}
    missing = sorted(m for m in found if m not in have or not have[m].string or have[m].fuzzy)
    stale = sorted(str(m) for m in have if m not in found)
    return missing, stale


def update() -> None:
    """Add what the source gained (untranslated), drop what it lost, keep every translation."""
    from datetime import datetime

    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    found = extract()
    previous = read() if PO.exists() else None
    old = {key(str(m.id), m.context): m.string for m in previous if m.id} if previous else {}
    created = previous.creation_date if previous else datetime.now().astimezone()
    catalogue = Catalog(
        locale="zh_CN",
        domain="santongbu",
        project="santongbu",
        version="0.1",
        creation_date=created,
        revision_date=created,
        last_translator="santongbu maintainers",
        language_team="santongbu maintainers",
        fuzzy=False,
    )
    for name, where in sorted(found.items()):
        context, _eot, message = name.rpartition("\x04")
        locations = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where]
        catalogue.add(message, old.get(name, ""), locations=locations, context=context or None)
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as handle:
        # No source locations: they would change with every edit elsewhere and say nothing a
        # grep does not; sorted by msgid, so a merge sees one added line where one was added.
        write_po(handle, catalogue, width=110, no_location=True, sort_output=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
    missing, stale = problems()
    for m in missing:
        print("untranslated:", m.replace("\n", "\\n").replace("\x04", " | ")[:160])
    for m in stale:
        print("stale:", m.replace("\n", "\\n").replace("\x04", " | ")[:160])
    sys.exit(1 if missing or stale else 0)
