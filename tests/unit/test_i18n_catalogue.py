"""The Chinese catalogue (states/locale/zh_CN/LC_MESSAGES/santongbu.po) matches the source: every
message the code marks with ``_()``, every CLI ``help=`` and every command's docstring has a
Chinese translation, and the catalogue keeps nothing the source no longer says.

The extraction is Babel's (scripts/catalogue.py); ``scripts/catalogue.py update`` adds a new
message untranslated, which this test then names.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from states.i18n import Text, _, gettext, localize, pgettext
from states.reasons import Reason
from workflow.kernel.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("catalogue_script", ROOT / "scripts" / "catalogue.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return _script()


def test_every_message_has_a_chinese_translation_and_none_is_stale(script) -> None:
    missing, stale = script.problems()
    assert not missing, f"messages without a Chinese translation (run scripts/catalogue.py update): {missing}"
    assert not stale, f"catalogue entries nothing in the source says: {stale}"


def test_the_extraction_finds_marked_messages_help_and_docstrings(script) -> None:
    """A guard on the guard: if extraction found nothing, the test above would pass vacuously."""
    found = script.extract()
    assert "required" in found  # _("required") in the services
    assert "Title of the policy document." in found  # a help= string
    assert "Open a new draft for your unit." in found  # a command's docstring
    assert "Waiting for my signature" in found  # the pages' words (web/i18n.py)
    assert "the API token is unknown, revoked or expired" in found  # the API's (api/messages.py)
    assert "must be an integer" in found  # a validation error's Chinese, by its type
    assert "group robot\x04signed" in found and "signed" in found  # one word, two meanings
    assert len(found) > 700


def test_translations_keep_every_placeholder(script) -> None:
    """A translation that drops or renames a ``{placeholder}`` would print the wrong thing."""
    wrong = []
    for message in script.read():
        if not message.id or not message.string:
            continue
        source = set(re.findall(r"\{[^{}]*\}", str(message.id)))
        target = set(re.findall(r"\{[^{}]*\}", str(message.string)))
        if not target <= source:
            wrong.append((message.id, message.string))
    assert not wrong


def test_chinese_translations_are_chinese(script) -> None:
    untranslated = [
        m.id
        for m in script.read()
        if m.id
        and m.string
        and re.search(r"[A-Za-z]{3,}", str(m.id))
        and m.string == m.id
        and not re.fullmatch(r"[\w{}:,.\- ]*\{[^}]*\}[\w{}:,.\- ]*", str(m.id))
    ]
    assert not untranslated, untranslated


def test_text_is_english_until_rendered_and_then_in_the_readers_language() -> None:
    text = _("longer than {limit} characters", limit=500)
    assert isinstance(text, Text) and text == "longer than 500 characters"
    assert localize(text, "zh") == "超过 500 个字符"
    assert localize(text, "en") == "longer than 500 characters"
    assert gettext("no such message here", "zh") == "no such message here"


def test_a_context_tells_one_english_word_s_two_chinese_meanings_apart() -> None:
    import pickle

    robot = pgettext("group robot", "signed")
    assert robot == "signed" and localize(robot, "zh") == "已加签"
    assert localize(_("signed"), "zh") == "已签署"
    assert (
        gettext("signed", "zh", "group robot") == "已加签"
        and gettext("signed", "en", "group robot") == "signed"
    )
    again = pickle.loads(pickle.dumps(robot))
    assert again.context == "group robot" and localize(again, "zh") == "已加签"


def test_the_pages_words_come_from_the_catalogue() -> None:
    """Every key of the pages names a marked message; its Chinese is the catalogue's."""
    from workflow.entrypoints.web.i18n import REPORT_LABELS, T, labels_for, t

    assert all(isinstance(m, Text) for m in [*T.values(), *REPORT_LABELS.values()])
    assert t("nav.signing", "zh") == "待我审签" and t("nav.signing", "en") == "Waiting for my signature"
    assert t("due.left", "zh", n=3) == "剩 3 个工作日" and t("due.left", "en", n=3) == "3 working days left"
    assert (
        t("f.yes", "zh") == "需要"
        and t("units.signed", "zh") == "已加签"
        and t("doc.signed", "zh") == "已签署"
    )
    assert t("search.field.title", "zh") == localize(_("title"), "zh") == "标题"  # one entry, not two
    assert t("no.such.key", "zh") == "no.such.key"
    zh = labels_for("zh")
    assert zh["other_language"] == "English" and labels_for("en")["other_language"] == "中文"
    assert zh["t"]("login.wait", seconds=5) == "失败次数过多,请 5 秒后再试。"
    assert (
        zh["report_label"]("year-end") == "年度报告"
        and labels_for("en")["report_label"]("late") == "Posted late"
    )
    untranslated = [k for k, m in T.items() if t(k, "zh") == m]
    assert not untranslated, untranslated


def test_the_api_words_come_from_the_catalogue() -> None:
    from workflow.entrypoints.api import messages

    assert messages.title("concurrent_change", "zh") == "并发修改冲突"
    assert messages.title("no_such_kind", "en") == "Error"
    assert messages.text(Reason("no_such_token", {"id": 7}), "zh") == "没有编号为 7 的令牌"
    assert messages.text(Reason("no_such_token", {"id": 7}), "en") == "no token with id 7"
    # pydantic's English for its own errors; the catalogue's Chinese for the type
    assert messages.validation_problem("int_parsing", "Input should be a valid integer", None, "en") == (
        "Input should be a valid integer"
    )
    assert (
        messages.validation_problem("int_parsing", "Input should be a valid integer", None, "zh")
        == "必须是整数"
    )
    assert (
        messages.validation_problem("missing", "Field required", None, "zh") == "必填"
    )  # the services' "required"
    # the API's own errors say the sentence written in VALIDATION, in either language
    assert messages.own("file_too_large", {"limit": 9}, "en") == "larger than 9 bytes"
    assert messages.own("file_too_large", {"limit": 9}, "zh") == "文件超过 9 字节"


def test_a_refusal_reads_wholly_in_chinese_field_name_included() -> None:
    error = InvalidInput(Reason("invalid", {"field": "title", "problem": _("required")}))
    assert error.message("zh") == "标题 无效: 必填"
    assert error.message("en") == "title is invalid: required"
    assert error.reasons[0].as_dict("en")["params"] == {"field": "title", "problem": "required"}


def test_a_period_refusal_is_chinese() -> None:
    from workflow.services.reports.periods import parse_period

    with pytest.raises(InvalidInput) as caught:
        parse_period("2024-Q5")
    message = caught.value.message("zh")
    assert message.startswith("期间 无效: '2024-Q5' 不是有效的期间")
    assert not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", message), message
