"""The pages' pure parts: deadline wording on the real holiday calendar, session cookies,
passwords, redirects, and the lifecycle drawing built from the machine's declaration."""

from __future__ import annotations

import pytest

from states.lifecycle import TRANSITIONS, State
from tests.conftest import shanghai
from workflow.entrypoints.web.deadlines import due_status
from workflow.entrypoints.web.pages import safe_next
from workflow.entrypoints.web.security import SecretKeyMissing, SessionCodec, csrf_ok, new_session, secret_key
from workflow.entrypoints.web.svg import lifecycle, rate_bars
from workflow.kernel.calendar import package_calendar
from workflow.kernel.settings import Settings
from workflow.services.passwords import Passwords, password_problem

TZ = "Asia/Shanghai"
# Published Fri 2024-02-09 (eve of the Spring Festival): due Tue 2024-02-20 (docs/design.md §3), with
# Sun 2024-02-18 a make-up working day.
DUE = shanghai(2024, 2, 20, 23, 59, 59)
PUBLISHED = {"state": "published", "due_at": DUE, "due_provisional": False, "on_time": None}


@pytest.mark.parametrize(
    "now, kind, days, text",
    [
        (shanghai(2024, 2, 9, 15, 0), "open", 3, "剩 3 个工作日"),  # holiday week does not count
        (shanghai(2024, 2, 17, 12, 0), "open", 3, "剩 3 个工作日"),  # Saturday, last holiday
        (shanghai(2024, 2, 18, 9, 0), "open", 2, "剩 2 个工作日"),  # make-up Sunday counts
        (shanghai(2024, 2, 19, 9, 0), "open", 1, "剩 1 个工作日"),
        (shanghai(2024, 2, 20, 23, 59, 59), "today", 0, "今天到期"),  # the whole last second is on time
        # Due Tue 20: late from Wed 21 00:00 but no working day has passed yet; Wed 21 has
        # by Thu 22 00:00; Wed, Thu and Fri have by Sat 24.
        (shanghai(2024, 2, 21, 0, 0, 0), "overdue", 0, "逾期不满 1 个工作日"),
        (shanghai(2024, 2, 22, 0, 0, 0), "overdue", 1, "逾期满 1 个工作日"),
        (shanghai(2024, 2, 24, 10, 0), "overdue", 3, "逾期满 3 个工作日"),  # Sat: Wed, Thu, Fri passed
    ],
)
def test_deadline_in_working_days_on_the_2024_calendar(now, kind, days, text) -> None:
    status = due_status(PUBLISHED, now, package_calendar(), TZ)
    assert (status.kind, status.days, status.text("zh")) == (kind, days, text)
    assert status.due_date.isoformat() == "2024-02-20"


def test_deadline_highlight_and_closed_documents() -> None:
    cal = package_calendar()
    assert due_status(PUBLISHED, shanghai(2024, 2, 20, 8, 0), cal, TZ).css == "due-today"
    assert due_status(PUBLISHED, shanghai(2024, 2, 21, 8, 0), cal, TZ).css == "overdue"
    assert due_status(PUBLISHED, shanghai(2024, 2, 19, 8, 0), cal, TZ).css == ""
    posted = {**PUBLISHED, "state": "interpretation_posted", "on_time": False, "working_days_late": 2}
    assert (
        due_status(posted, shanghai(2024, 3, 1), cal, TZ).text("en") == "posted late (2 working days overdue)"
    )
    assert due_status({"state": "draft", "due_at": None}, shanghai(2024, 3, 1), cal, TZ).kind == "none"
    assert due_status({"state": "withdrawn", "due_at": None}, shanghai(2024, 3, 1), cal, TZ).kind == "closed"


def test_session_cookie_is_signed_and_expires() -> None:
    codec = SessionCodec("k" * 40, max_age=60)
    data = new_session("server-side-session-id")
    cookie = codec.dumps(data)
    assert codec.loads(cookie) == data and data.signed_in and not new_session().signed_in
    assert "liu.spc" not in cookie  # the cookie names a session, never a user
    assert codec.loads(cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]) is None  # tampered
    assert SessionCodec("z" * 40).loads(cookie) is None  # another key
    assert codec.loads("") is None and codec.loads("x" * 5000) is None
    expired = SessionCodec("k" * 40, max_age=-1)
    assert expired.loads(cookie) is None
    assert csrf_ok(data, data.csrf) and not csrf_ok(data, "") and not csrf_ok(data, data.csrf + "x")
    assert not csrf_ok(None, data.csrf)
    assert new_session().csrf != new_session().csrf


def test_secret_key_is_never_defaulted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANTONGBU_SECRET_KEY", raising=False)
    with pytest.raises(SecretKeyMissing, match="SANTONGBU_SECRET_KEY"):
        secret_key(Settings(_env_file=None))
    monkeypatch.setenv("SANTONGBU_SECRET_KEY", "too-short")
    with pytest.raises(SecretKeyMissing):
        secret_key(Settings(_env_file=None))
    monkeypatch.setenv("SANTONGBU_SECRET_KEY", "s" * 32)
    assert secret_key(Settings(_env_file=None)) == "s" * 32
    assert secret_key(Settings(_env_file=None), "e" * 40) == "e" * 40


def test_passwords_hash_with_argon2id() -> None:
    passwords = Passwords()
    stored = passwords.hash("a long enough secret")
    assert stored.startswith("$argon2id$") and "a long enough secret" not in stored
    assert passwords.verify(stored, "a long enough secret")
    assert not passwords.verify(stored, "a long enough secreT")
    assert not passwords.verify(None, "anything at all")
    assert not passwords.verify("not a hash", "anything at all")
    assert password_problem("liu.spc", "short") and password_problem("liu.spc", "liu.spc-2024-x")
    assert password_problem("liu.spc", "correct horse battery") is None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("/web/documents/3", "/web/documents/3"),
        (None, "/web/"),
        ("https://evil.example/web/", "/web/"),
        ("//evil.example/web/", "/web/"),
        ("/web//evil.example", "/web/"),
        ("/api/x", "/web/"),
        ("/web/\\evil", "/web/"),
    ],
)
def test_redirect_after_sign_in_stays_on_the_site(value, expected) -> None:
    assert safe_next(value) == expected


def test_lifecycle_drawing_has_every_state_and_transition() -> None:
    drawing = lifecycle({"draft": 2, "published": 5})
    assert {n.state for n in drawing["nodes"]} == {str(s) for s in State}
    assert {n.state: n.count for n in drawing["nodes"]}["published"] == 5
    edges = sum(len(t["source"]) if isinstance(t["source"], list) else 1 for t in TRANSITIONS)
    assert len(drawing["edges"]) == edges
    assert {e.trigger for e in drawing["edges"] if e.back} == {"reject", "reject_to_draft"}
    assert {e.trigger for e in drawing["edges"]} == {str(t["trigger"]) for t in TRANSITIONS}


def test_rate_bars_scale_and_colour() -> None:
    bars = rate_bars(
        [
            {"unit": "spc", "unit_name": "审批处", "rate": 0.5, "on_time": 1, "late": 0, "overdue": 1},
            {"unit": "kxc", "unit_name": "科信处", "rate": None, "on_time": 0, "late": 0, "overdue": 0},
            {"unit": "jgc", "unit_name": "建管处", "rate": 1.0, "on_time": 3, "late": 0, "overdue": 0},
        ],
        width=200,
    )["bars"]
    assert [(b.width, b.level, b.detail) for b in bars] == [
        (100.0, "bad", "50.0% (1/2)"),
        (0, "none", "—"),
        (200.0, "good", "100.0% (3/3)"),
    ]
