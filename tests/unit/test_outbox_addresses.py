"""Addresses are validated where they enter; names and subjects cannot smuggle in headers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from notifications.addresses import clean_text, validate_address
from notifications.content import content_of
from notifications.message import build_message
from workflow.kernel.errors import InvalidInput
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.settings import Settings


def test_valid_addresses_are_normalised() -> None:
    assert validate_address(" li.ming@JTJ.Example.org ") == "li.ming@jtj.example.org"
    assert validate_address("zfc@fz.gov.cn") == "zfc@fz.gov.cn"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "no-at-sign",
        "a@b",
        "two@@example.org",
        "x@example.org\r\nBcc: spy@evil.example",
        "x@example.org, spy@evil.example",
        "Name <x@example.org>",
        "x@localhost",
        "x@exa mple.org",
    ],
)
def test_invalid_addresses_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_address(bad, field="mailbox")
    reason = err.value.reasons[0]
    assert reason.code == "invalid" and reason.params["field"] == "mailbox" and reason.params["problem"]
    assert "\n" not in err.value.message("en")


def test_clean_text_keeps_one_harmless_line() -> None:
    assert clean_text("a\r\nBcc: x@y.org\u2028b\x00c\u202e") == "a Bcc: x@y.org b c"
    assert clean_text("x" * 1000, limit=10) == "x" * 10


def test_build_message_refuses_a_row_with_a_smuggled_address() -> None:
    row = OutboxMessage(
        id=7,
        document_id=None,
        event="published",
        language="en",
        subject="s",
        body_text="t",
        body_html="<p>t</p>",
        created_at=datetime(2024, 2, 5, 2, tzinfo=UTC),
        to_addrs=json.dumps([{"name": "x", "address": "a@example.org>, spy@evil.example"}]),
        cc_addrs="[]",
    )
    with pytest.raises(ValueError):
        build_message(row, content_of(row, Settings()), Settings())
