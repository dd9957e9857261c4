"""The one zh/en label catalogue (states/catalogue.py): every code the lifecycle, the ladder,
postings and materials use has a Chinese and an English label, and every interface reads it."""

from __future__ import annotations

import pytest

from notifications.render import EVENTS as EMAIL_EVENTS
from states import catalogue
from states.catalogue import label
from states.evidence import STATUSES as EVIDENCE_STATUSES
from states.ladder import DEFAULT_LADDER
from states.ladder import EVENTS as LADDER_EVENTS
from states.lifecycle import State, Trigger
from states.snapshot import CHANNELS, DISCLOSURES, MATERIAL_FORMS
from workflow.kernel.models.directory import ROLES

EVERY_CODE = [
    *(("state", str(s)) for s in State),
    *(("trigger", str(t)) for t in Trigger),
    *(("level", r.level) for r in DEFAULT_LADDER.rungs),
    *(("level", e) for e in LADDER_EVENTS),
    *(("channel", c) for c in CHANNELS),
    *(("form", f) for f in MATERIAL_FORMS),
    *(("disclosure", d) for d in DISCLOSURES),
    *(("event", e) for e in EMAIL_EVENTS),
    *(("role", r) for r in ROLES),
    *(("action", str(t)) for t in Trigger),
    *(("status", s) for s in ("on_time", "late", "overdue", "open")),
    *(("outcome", o) for o in ("allowed", "refused")),
    *(("evidence", s) for s in EVIDENCE_STATUSES),
]


@pytest.mark.parametrize(("kind", "code"), EVERY_CODE)
def test_every_code_has_a_chinese_and_an_english_label(kind: str, code: str) -> None:
    zh, en = label(kind, code, "zh"), label(kind, code, "en")
    assert zh and en and zh != code, (kind, code)
    assert all("\u4e00" <= ch <= "\u9fff" for ch in zh if ch.isalpha()), zh
    assert en.isascii(), en


def test_each_kind_has_only_codes_that_exist() -> None:
    """No label for a code nothing uses (a stale label is how labels came to disagree)."""
    known: dict[str, set[str]] = {}
    for kind, code in EVERY_CODE:
        known.setdefault(kind, set()).add(code)
    for kind in catalogue.KINDS:
        extra = set(catalogue.pairs(kind)) - known.get(kind, set())
        if kind == "action":  # audit actions that are not triggers are free-standing
            extra -= set(catalogue.ACTIONS)
        assert not extra, (kind, extra)


def test_the_levels_are_called_what_the_readme_emails_and_demo_call_them() -> None:
    assert [label("level", lv) for lv in ("reminder", "overdue", "escalated", "escalated_high")] == [
        "提醒",
        "逾期",
        "督办",
        "领导督办",
    ]
    assert label("level", "escalated_high", "en") == "escalated to leadership"


def test_unknown_codes_read_as_themselves_and_none_as_nothing() -> None:
    assert label("state", "no_such_state", "zh") == "no_such_state"
    assert label("channel", None, "en") == ""
    assert label("state", "published", "fr") == "published"  # any other language reads English
    with pytest.raises(KeyError):
        label("no_such_kind", "x")


def test_interfaces_read_the_catalogue() -> None:
    from states.reasons import state_name, trigger_name
    from workflow.demo.report import EVENTS, LEVELS
    from workflow.entrypoints.web.i18n import labels_for
    from workflow.services.reports import CHANNEL_LABELS, FORM_LABELS, LEVEL_LABELS, STATUS_LABELS

    assert LEVELS == LEVEL_LABELS == catalogue.LEVELS and EVENTS == catalogue.EVENTS
    assert (CHANNEL_LABELS, FORM_LABELS, STATUS_LABELS) == (
        catalogue.CHANNELS,
        catalogue.FORMS,
        catalogue.STATUSES,
    )
    assert (
        state_name("joint_signoff", "zh") == "同步审签" and trigger_name("reject", "en") == "reject to plan"
    )
    web = labels_for("zh")
    assert web["level_label"]("escalated") == "督办" and web["action_label"]("publish") == "公开发布"
    assert (
        web["action_label"]("escalation") == "督办" and web["disclosure_label"]("on_request") == "依申请公开"
    )
