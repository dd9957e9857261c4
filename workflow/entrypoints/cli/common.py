"""What every command shares: the services, output and error handling.

The services are built by the composition root (:func:`workflow.bootstrap.bootstrap`) the first
time a command asks for them, after the global options are read, so a command that needs no
database (``deadline``, ``calendar show``) never opens one.

A user mistake (bad input, a refused trigger, a missing record) becomes one clear line on
stderr and a non-zero exit, never a traceback; ``--json`` gives scripts the same facts.
"""

from __future__ import annotations

import json
import shutil
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
from states.i18n import Text, localize
from states.i18n import _ as N_
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
        from workflow.kernel.secretbox import SecretsKeyError

        try:
            return bootstrap(self.settings, clock=FixedClock(self.now) if self.now else SystemClock())
        except KeyFileError as exc:
            fail(_("SANTONGBU_AUDIT_KEY_FILE: {problem}", problem=exc))
        except SecretsKeyError as exc:  # an unreadable or malformed SANTONGBU_SECRETS_KEY_FILE
            fail(str(localize(exc.args[0], self.settings.language)))

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


def _(message: str, **params: Any) -> str:
    """``message`` (English, the catalogue's msgid) in the language of this invocation."""
    return str(localize(Text(message, params), context().lang))


def fail(message: str, code: int = EXIT_USER_ERROR) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def os_problem(exc: BaseException) -> str:
    """Why a file could not be read or written, in the invocation's language (the operating
    system's own words are English)."""
    if isinstance(exc, UnicodeDecodeError):
        return _("not UTF-8 text (byte {start})", start=exc.start)
    if isinstance(exc, FileNotFoundError):
        return _("no such file or folder")
    if isinstance(exc, IsADirectoryError):
        return _("it is a folder")
    if isinstance(exc, PermissionError):
        return _("permission denied")
    return str(getattr(exc, "strerror", None) or exc)


def configuration_problem(exc: Any, lang: str) -> str:
    """A settings :class:`pydantic.ValidationError` in our own words: which setting, and the
    value unless it may be a secret; a rule across settings says what its validator says."""
    problems: list[Any] = []
    for e in exc.errors():
        name = "_".join(map(str, e["loc"])).upper()
        if not name:  # a rule across settings (settings.py): its own sentence, which names them
            problems.append(str(e["msg"]).removeprefix("Value error, "))
        elif any(word in name for word in ("PASSWORD", "SECRET", "KEY", "TOKEN")):
            problems.append(N_("SANTONGBU_{setting} does not accept that value", setting=name))
        else:
            problems.append(
                N_(
                    "{setting} does not accept {value}",
                    setting="SANTONGBU_" + name,
                    value=repr(e.get("input")),
                )
            )
    sep = ";" if lang == "zh" else "; "
    found = sep.join(str(localize(p, lang)) for p in problems)
    return str(localize(N_("configuration error: {problems}", problems=found), lang))


def table(headers: list[str], rows: list[list[Any]]) -> None:
    """Rows under translated headers (none: label/value lines), aligned by display width (a Chinese character is two
    columns wide), as plain text a terminal or a pipe reads alike."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    grid = Table(
        box=box.SIMPLE_HEAD if headers else None,
        show_header=bool(headers),
        show_edge=False,
        pad_edge=False,
        header_style="bold",
    )
    for header in headers or [""] * max((len(r) for r in rows), default=0):
        grid.add_column(header, overflow="fold")
    for row in rows:
        grid.add_row(*("" if v is None else str(v) for v in row))
    import io

    buffer = io.StringIO()
    width = shutil.get_terminal_size((200, 24)).columns if sys.stdout.isatty() else 200
    Console(file=buffer, width=width, highlight=False, color_system=None).print(grid)
    for line in buffer.getvalue().splitlines():
        typer.echo(line.rstrip())


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
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        yield
    except SantongbuError as exc:
        fail(exc.message(context().lang))
    except (OperationalError, ProgrammingError) as exc:
        # The common slip: a database that was never set up (no `db upgrade`), or one that
        # cannot be reached. One line that says what to do; anything else stays a traceback.
        problem = str(getattr(exc, "orig", exc)).lower()
        url = context().settings.database_url
        if "no such table" in problem or ("relation" in problem and "does not exist" in problem):
            fail(_("the database {url} is not set up yet: run santongbu db upgrade", url=_safe_url(url)))
        if "connection" in problem or "unable to open" in problem:
            fail(
                _(
                    "cannot reach the database {url}: {problem}",
                    url=_safe_url(url),
                    problem=str(exc.orig).strip().splitlines()[0],
                )
            )
        raise


def _safe_url(url: str) -> str:
    """The database URL without its password (it never goes to a terminal or a log)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "?"


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
