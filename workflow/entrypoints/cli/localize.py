"""The CLI in the reader's language: which language, the help in it, usage errors as one line.

The language is settled from the command line (``--lang`` anywhere before ``--``, before or after
the subcommand) or ``SANTONGBU_LANGUAGE``, before the click command tree is built, so the help
of every command and option is translated once, when the tree is built
(:func:`build_command`), from the catalogue (:mod:`states.i18n`). The source holds the English;
the help strings and the commands' docstrings are extracted for the catalogue by
``tests/unit/test_i18n_catalogue.py``.

A usage mistake (a missing or unknown option, a bad value) is one line on stderr in that
language and exit status 2, like every other user mistake, not click's boxed English.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from types import MethodType
from typing import Any

from typer import _click as click  # typer 0.29 carries its own click; its exceptions are these
from typer._click import exceptions as errors
from typer.exceptions import Abort

from states.i18n import _, gettext, localize

LANGS = ("zh", "en")
ENV = "SANTONGBU_LANGUAGE"
EXIT_USAGE = 2

# Words click and typer print around the help, in the catalogue like every other sentence.
_HELP_OPTION = _("Show this message and exit.")
_PANELS = {
    "ARGUMENTS_PANEL_TITLE": _("Arguments"),
    "OPTIONS_PANEL_TITLE": _("Options"),
    "COMMANDS_PANEL_TITLE": _("Commands"),
    "REQUIRED_LONG_STRING": _("[required]"),
    "DEFAULT_STRING": _("[default: {}]"),
    "ENVVAR_STRING": _("[env var: {}]"),
}
_USAGE = _("Usage:")
_OPTIONS = _("[OPTIONS]")
_COMMAND_ARGS = _("COMMAND [ARGS]...")
# What a value is, shown after an option in the help instead of typer's ``<str>``.
_METAVARS = {
    "str": _("TEXT"),
    "int": _("NUMBER"),
    "float": _("NUMBER"),
    "Path": _("PATH"),
    "datetime": _("TIME"),
}


class BadLanguage(Exception):
    """``--lang`` or ``SANTONGBU_LANGUAGE`` names a language this program does not speak."""


def split_language(args: Sequence[str], env: Mapping[str, str]) -> tuple[str, list[str]]:
    """(language, the arguments without ``--lang``): the option wins over the environment."""
    rest: list[str] = []
    chosen: str | None = None
    items = iter(args)
    for arg in items:
        if arg == "--":
            rest.append(arg)
            rest.extend(items)
            break
        if arg == "--lang":
            chosen = next(items, "")
        elif arg.startswith("--lang="):
            chosen = arg.removeprefix("--lang=")
        else:
            rest.append(arg)
    lang = (chosen if chosen is not None else env.get(ENV, "zh")).strip().lower()
    lang = {"zh_cn": "zh", "zh-cn": "zh", "zh-hans": "zh"}.get(lang, lang)
    if lang not in LANGS:
        raise BadLanguage(lang)
    return lang, rest


def language_problem(value: str) -> str:
    """The line for an unknown language, in both languages: which one the reader wants is
    exactly what is unknown."""
    return (
        f"--lang / {ENV}: 只能是 zh(中文)或 en(英文),而不是 {value!r}; "
        f"must be zh (Chinese) or en (English), not {value!r}"
    )


def _walk(command: click.Command) -> Iterator[click.Command]:
    yield command
    if hasattr(command, "commands"):  # a group (typer's TyperGroup)
        for sub in command.commands.values():
            yield from _walk(sub)


def _metavar(param: Any, lang: str) -> str | None:
    """A word for what the option takes; ``None`` keeps typer's (a choice lists its values)."""
    if getattr(param, "is_flag", False):
        return ""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or descriptor.is_choice:
        return None
    bare = param.bare_type()
    many = bare.startswith("list[")
    word = _METAVARS.get(bare.removeprefix("list[").rstrip("]"), _METAVARS["str"])
    return gettext(word, lang) + ("..." if many else "")


def build_command(app: Any, lang: str) -> click.Command:
    """The click command tree of ``app`` with every help text, heading and metavar in ``lang``."""
    import typer.main
    from typer import rich_utils

    for attribute, text in _PANELS.items():
        setattr(rich_utils, attribute, gettext(text, lang))
    root = typer.main.get_command(app)
    for command in _walk(root):
        for attr in ("help", "short_help", "epilog"):
            value = getattr(command, attr, None)
            if value:
                setattr(command, attr, gettext(value.strip(), lang))
        command.options_metavar = gettext(_OPTIONS, lang)
        if hasattr(command, "commands"):
            command.subcommand_metavar = gettext(_COMMAND_ARGS, lang)  # type: ignore[attr-defined]
        for param in command.params:
            help_ = getattr(param, "help", None)
            if help_:
                param.help = gettext(help_, lang)  # type: ignore[attr-defined]
            if param.metavar is None and not getattr(param, "hidden", False):
                param.metavar = _metavar(param, lang)
        _help_option(command, lang)
        original = command.get_usage

        def usage(self: click.Command, ctx: click.Context, original: Any = original) -> str:
            text: str = original(ctx)
            return text.replace("Usage:", gettext(_USAGE, lang), 1)

        command.get_usage = MethodType(usage, command)  # type: ignore[method-assign]
    return root


def _help_option(command: Any, lang: str) -> None:
    """``--help`` itself, made by click on first use: its words and no ``<bool>``."""
    original = command.get_help_option

    def help_option(self: Any, ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            option.help = gettext(_HELP_OPTION, lang)
            option.metavar = ""
        return option

    command.get_help_option = MethodType(help_option, command)


def _option_name(exc: click.ClickException) -> str:
    param = getattr(exc, "param", None)
    hint = getattr(exc, "param_hint", None)
    if param is not None and getattr(param, "opts", None):
        longest = max(param.opts, key=len)
        return longest if longest.startswith("-") else longest.upper()
    if isinstance(hint, str):
        return hint.strip("'\"")
    if isinstance(hint, (list, tuple)) and hint:
        return str(hint[0]).strip("'\"")
    return getattr(exc, "option_name", None) or "?"


_CLICK_VALUE = (
    (re.compile(r"^(?:Value )?'?(?P<v>.*?)'? is not a valid int"), _("{value} is not a whole number")),
    (re.compile(r"^'?(?P<v>.*?)'? is not a valid float"), _("{value} is not a number")),
    (re.compile(r"^'?(?P<v>.*?)'? is not a valid boolean"), _("{value} is not true or false")),
    (re.compile(r"^'?(?P<v>.*?)'? is not one of (?P<c>.*?)\.?$"), _("{value} is not one of {choices}")),
    (re.compile(r"^(?:File|Path|Directory) '(?P<v>.*)' does not exist"), _("{value} does not exist")),
    (re.compile(r"^(?:File|Path) '(?P<v>.*)' is a directory"), _("{value} is a folder, not a file")),
    (re.compile(r"^(?:Directory|Path) '(?P<v>.*)' is a file"), _("{value} is a file, not a folder")),
    (re.compile(r"^'?(?P<v>.*?)'? does not match the format"), _("{value} is not a date or time")),
)


def _value_problem(message: str, lang: str) -> str:
    for pattern, text in _CLICK_VALUE:
        m = pattern.search(message)
        if m:
            choices = m.groupdict().get("c") or ""
            return gettext(text, lang).format(value=m["v"], choices=choices.replace("'", ""))
    return gettext(_("the value is not accepted"), lang)


def usage_line(exc: click.ClickException, lang: str) -> str:
    """One line saying what was wrong with the command line, and where the help is."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "santongbu"
    if isinstance(exc, errors.MissingParameter):
        text = _("missing {what} {name}", what=_kind(exc), name=_option_name(exc))
    elif isinstance(exc, errors.NoSuchOption):
        text = _("there is no option {name}", name=exc.option_name)
        if exc.possibilities:
            text = _(
                "there is no option {name} (did you mean {options}?)",
                name=exc.option_name,
                options=", ".join(sorted(exc.possibilities)),
            )
    elif isinstance(exc, errors.BadOptionUsage):
        text = _("option {name} needs a value", name=exc.option_name)
    elif isinstance(exc, errors.BadParameter):
        text = _("{name}: {problem}", name=_option_name(exc), problem=_value_problem(exc.message, lang))
    elif m := re.match(r"No such command '(?P<c>.*)'", exc.message):
        text = _("there is no command {name}", name=m["c"])
    elif m := re.match(r"Got unexpected extra arguments? \((?P<a>.*)\)", exc.message):
        text = _("unexpected extra argument: {args}", args=m["a"])
    elif exc.message.startswith("Missing command"):
        text = _("a command is missing")
    else:
        text = _("the command line is not understood")
    hint = _("see {command} --help", command=where)
    sep = "(" if lang == "zh" else " ("
    return f"{localize(text, lang)}{sep}{localize(hint, lang)})"


def _kind(exc: errors.MissingParameter) -> str:
    param = exc.param
    return _("argument") if getattr(param, "param_type_name", "") == "argument" else _("option")


def run(app: Any, args: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the CLI as ``santongbu ARGS`` would, and return the exit status."""
    args = list(sys.argv[1:] if args is None else args)
    env = os.environ if env is None else env
    try:
        lang, rest = split_language(args, env)
    except BadLanguage as exc:
        print(language_problem(str(exc)), file=sys.stderr)
        return EXIT_USAGE
    command = build_command(app, lang)
    try:
        result = command.main(rest, prog_name="santongbu", standalone_mode=False, obj={"lang": lang})
    except errors.NoArgsIsHelpError as exc:
        print(exc.format_message())
        return 0
    except errors.ClickException as exc:
        if isinstance(exc, errors.UsageError):
            print(usage_line(exc, lang), file=sys.stderr)
            return EXIT_USAGE
        print(exc.format_message(), file=sys.stderr)
        return exc.exit_code
    except Abort:
        print(gettext(_("Aborted."), lang), file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0
