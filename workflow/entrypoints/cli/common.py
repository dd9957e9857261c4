"""What every command shares: the services, output and error handling.

The services are built by the composition root (:func:`workflow.bootstrap.bootstrap`) the first
time a command asks for them, after the global options are read, so a command that needs no
database (``deadline``, ``calendar show``) never opens one.

A user mistake (bad input, a refused trigger, a missing record) becomes one clear line on
stderr and a non-zero exit, never a traceback; ``--json`` gives scripts the same facts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import typer

from states.deadline import zone
from states.instants import localise
from states.reasons import Reason
from states.text import binary_kind, size_words
from workflow.bootstrap import Services, bootstrap
from workflow.kernel.clock import Clock, FixedClock, SystemClock
from workflow.kernel.db import Database
from workflow.kernel.errors import SantongbuError
from workflow.kernel.settings import Settings

EXIT_USER_ERROR = 2


@dataclass
class AppContext:
    """Resolved once per invocation from the global options and the environment."""

    settings: Settings
    now: datetime | None = None

    @cached_property
    def services(self) -> Services:
        """Every service, on the real clock or, with ``--now``, a clock standing at that instant
        (and the audit keyring the settings name: a missing or unsafe key file is one line)."""
        from workflow.kernel.auditkeys import KeyFileError

        try:
            return bootstrap(self.settings, clock=FixedClock(self.now) if self.now else SystemClock())
        except KeyFileError as exc:
            fail(f"SANTONGBU_AUDIT_KEY_FILE: {exc}")

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def lang(self) -> str:
        return self.settings.language


_CONTEXT: AppContext | None = None


def set_context(ctx: AppContext) -> None:
    global _CONTEXT
    _CONTEXT = ctx


def context() -> AppContext:
    if _CONTEXT is None:  # commands run outside main(), e.g. from tests via CliRunner
        set_context(AppContext(settings=Settings()))
    assert _CONTEXT is not None
    return _CONTEXT


def fail(message: str, code: int = EXIT_USER_ERROR) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):  # JSON: ISO 8601 in the working zone (README, "Times")
        return value.astimezone(zone(context().settings.timezone)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return str(value)


def emit_json(data: Any) -> None:
    # One convention (README, "Times"): instants in the working zone, with the offset.
    data = localise(json.loads(json.dumps(data, default=_default)), context().settings.timezone)
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a :class:`SantongbuError` into one line on stderr and exit status 2."""
    try:
        yield
    except SantongbuError as exc:
        fail(exc.message(context().lang))


def parse_instant(value: str, *, tz: str | None = None, what: str = "time") -> datetime:
    """An ISO 8601 date or date-time; a value without offset is read in the working zone
    (the one rule for typed instants, :mod:`states.instants`)."""
    from states.instants import InstantError
    from states.instants import parse_instant as parse

    try:
        return parse(value, tz or context().settings.timezone, what=what)
    except InstantError as exc:
        fail(exc.reason.text(context().lang))


def read_text_file(path: Path, what: str) -> str:
    """A UTF-8 text file given for ``what`` (``--body-file``…): too large, unreadable, binary or
    not UTF-8 is one plain sentence and exit 2, never a Python decoding message."""
    lang, limit = context().lang, context().settings.max_text_bytes
    where = {"what": what, "file": str(path)}
    try:
        if path.stat().st_size > limit + 3:  # 3: a UTF-8 byte order mark
            fail(
                Reason("text_too_large", {"field": f"{what} ({path})", "limit": size_words(limit)}).text(lang)
            )
        data = path.read_bytes()
    except OSError:
        fail(Reason("file_unreadable", where).text(lang))
    kind = binary_kind(data)
    if kind is not None:
        fail(Reason("file_not_text", {**where, "kind": kind}).text(lang))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(Reason("file_not_utf8", where).text(lang))


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: run a command body with user errors turned into clean exits."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with user_errors():
            return fn(*args, **kwargs)

    return wrapper


def stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
