"""The message catalogue: every sentence a person reads is written once, in English, in the
source, and translated into Chinese in ``states/locale/zh_CN/LC_MESSAGES/santongbu.po``.

Gettext with Babel rather than dictionaries written by hand, so that a test can extract every
message from the source (Babel's extract API, ``tests/unit/test_i18n_catalogue.py``) and fail
when one lacks a translation or the catalogue keeps one nothing uses.

The ``.po`` file is read at run time (:func:`babel.messages.pofile.read_po`, once per process)
instead of a compiled ``.mo``: a fresh clone runs as it is, with no build step, and there is no
binary file that could drift from the text a translator edits.

Two ways to mark a message, both extracted under the keyword ``_``:

* :func:`_` here makes a :class:`Text`: a ``str`` holding the English sentence (so logs, the
  API's ``params`` and ``str()`` keep working) that remembers its message id and parameters, so
  whoever shows it can render it in the reader's language with :func:`localize`. The kernel and
  services use it for the problems they raise, which are rendered only when someone reads them.
* the CLI's ``common._`` translates at once, into the language of the invocation.

When one English word means two things a Chinese reader tells apart ("signed": a package
已签署, a robot's secret 已加签), :func:`pgettext` gives it a context, gettext's ``msgctxt``;
the catalogue then holds one entry per meaning. Use it only for such a clash.

Chinese is ``"zh"``; every other language reads the English source.

    >>> localize(_("required"), "zh")
    '必填'
    >>> str(_("required"))
    'required'
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

DOMAIN = "santongbu"
CATALOGUE = Path(__file__).with_name("locale") / "zh_CN" / "LC_MESSAGES" / f"{DOMAIN}.po"


def key(message: str, context: str | None = None) -> str:
    """How the catalogue names a message: its msgid, after ``context`` and gettext's EOT."""
    return f"{context}\x04{message}" if context else message


@cache
def _chinese() -> Mapping[str, str]:
    """msgid (with its context, :func:`key`) → Chinese, from the ``.po`` file (fuzzy or empty
    entries are not translations)."""
    from babel.messages.pofile import read_po

    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="zh_CN", domain=DOMAIN)
    return {
        key(str(m.id), m.context): str(m.string)
        for m in catalogue
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def gettext(message: str, lang: str, context: str | None = None) -> str:
    """``message`` (an English msgid) in ``lang``; itself when untranslated or not Chinese."""
    if lang != "zh":
        return message
    return _chinese().get(key(message, context), message)


def _fill(template: str, params: Mapping[str, Any], lang: str) -> str:
    if not params:
        return template
    try:
        return template.format(**{k: localize(v, lang) for k, v in params.items()})
    except (KeyError, IndexError, ValueError):
        return template


class Text(str):
    """A translatable sentence: the English rendering, plus what it takes to render it again
    in another language (:func:`localize`)."""

    msgid: str
    params: Mapping[str, Any]
    context: str | None

    def __new__(cls, msgid: str, params: Mapping[str, Any] | None = None, context: str | None = None) -> Text:
        params = dict(params or {})
        self = super().__new__(cls, _fill(msgid, params, "en"))
        self.msgid = msgid
        self.params = params
        self.context = context
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (Celery, multiprocessing) keep the meaning
        return (Text, (self.msgid, dict(self.params), self.context))

    def render(self, lang: str) -> str:
        return _fill(gettext(self.msgid, lang, self.context), self.params, lang)


def _(message: str, **params: Any) -> Text:
    """Mark ``message`` for the catalogue; rendered in the reader's language later."""
    return Text(message, params)


def pgettext(context: str, message: str, **params: Any) -> Text:
    """Like :func:`_`, for an English ``message`` that needs ``context`` to be translated
    (extracted with its context; ``msgctxt`` in the ``.po``)."""
    return Text(message, params, context)


def localize(value: Any, lang: str) -> Any:
    """A :class:`Text` rendered in ``lang``; any other value unchanged."""
    return value.render(lang) if isinstance(value, Text) else value
