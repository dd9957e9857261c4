"""Keeping units and users up to date: ``Directory.update_unit`` (``unit set``, ``PATCH
/units/{code}``), users moving between units with history, all audited, and recipients that
follow at once (the next escalation goes to the new head). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import select, text

from tests.conftest import shanghai
from tests.factories import CLERK, make_workflow, seed_bureau, to_published
from workflow.kernel.db import Database, alembic_config
from workflow.kernel.errors import Forbidden, InvalidInput, NotFound
from workflow.kernel.models import AuditEvent, Document, Unit, User, UserUnitHistory
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.secretbox import secret_box
from workflow.services.sweep import sweep

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-123"
DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=t-456"


@pytest.fixture
def directory(db, clock, settings):  # type: ignore[no-untyped-def]
    directory = seed_bureau(db, clock)
    directory.secrets = secret_box(settings)  # as bootstrap builds it
    return directory


def audit_rows(db, action):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return [
            (e.actor, e.outcome, json.loads(e.details) if isinstance(e.details, str) else e.details)
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        ]


def emails(db, event):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.event == event, OutboxMessage.channel == "email")
        )
        return [([r["address"] for r in row.to_list], [r["address"] for r in row.cc_list]) for row in rows]


def test_change_the_head_and_the_next_escalation_goes_to_the_new_head(db, clock, settings, directory):  # type: ignore[no-untyped-def]
    wf = make_workflow(db, clock, settings)
    doc = to_published(wf, at=clock.now() - timedelta(hours=1))
    with db.transaction() as s:
        due = s.get(Document, doc).due_at
    clock.set(due + timedelta(seconds=1))
    sweep(db, clock, settings)
    [(to, cc)] = emails(db, "overdue")
    assert to == ["spc@jtj.example.cn", "chen.spc@jtj.example.cn"]

    # The head left: liu.spc takes over, with a new mailbox; 市公路中心 starts supervising and
    # 政法处 stops. Nothing is re-queued; the next rung is what shows it.
    directory.update_unit("admin", "spc", {"head": "liu.spc", "mailbox": "spc-office@jtj.example.cn"})
    directory.update_unit("admin", "glzx", {"supervising": True})
    directory.update_unit("admin", "zfc", {"supervising": False})
    clock.set(due + timedelta(days=12))
    sweep(db, clock, settings)
    [(to, cc)] = emails(db, "escalated")
    assert "chen.spc@jtj.example.cn" not in to + cc
    assert cc == ["spc-office@jtj.example.cn", "liu.spc@jtj.example.cn"]
    assert (
        "glzx@jtj.example.cn" in to and "he.gl@jtj.example.cn" in to
    )  # the new supervising unit and its head
    assert "zfc@jtj.example.cn" not in to and "lin.zfc@jtj.example.cn" in to  # lin keeps the supervisor role

    changed = audit_rows(db, "unit_changed")
    assert changed[0] == (
        "admin",
        "allowed",
        {
            "code": "spc",
            "changes": {
                "mailbox": {"from": "spc@jtj.example.cn", "to": "spc-office@jtj.example.cn"},
                "head": {"from": "chen.spc", "to": "liu.spc"},
            },
        },
    )
    assert changed[1][2]["changes"] == {"kind": {"from": "drafting", "to": "supervising"}}
    assert changed[2][2]["changes"] == {"kind": {"from": "supervising", "to": "drafting"}}


def test_robots_are_set_without_their_credentials_ever_showing(db, clock, settings, directory):  # type: ignore[no-untyped-def]
    view = directory.update_unit(
        "admin",
        "spc",
        {
            "wecom_webhook": WECOM,
            "wecom_events": "overdue, escalated",
            "dingtalk_webhook": DINGTALK,
            "dingtalk_secret": "SECabc123",
        },
    )
    assert view["robots"] == {  # only the key's last characters show which robot it is
        "wecom": {"events": ["overdue", "escalated"], "key": "…"},
        "dingtalk": {"events": None, "signed": True, "key": "…"},
    }
    assert "k-123" not in json.dumps(view) and "SECabc123" not in json.dumps(view)
    [(_, _, details)] = audit_rows(db, "unit_changed")
    assert details["changes"] == {
        "wecom_webhook": "set",
        "wecom_events": {"from": None, "to": "overdue,escalated"},
        "dingtalk_webhook": "set",
        "dingtalk_secret": "set",
    }
    directory.update_unit(
        "admin", "spc", {"wecom_webhook": WECOM.replace("k-123", "k-789"), "dingtalk_webhook": ""}
    )
    assert audit_rows(db, "unit_changed")[1][2]["changes"] == {
        "wecom_webhook": "replaced",
        "dingtalk_webhook": "removed",
        "dingtalk_secret": "removed",
    }
    with db.transaction() as s:
        unit = s.scalars(select(Unit).where(Unit.code == "spc")).one()
        assert unit.wecom_webhook.startswith("fernet:") and "k-789" not in unit.wecom_webhook
        assert secret_box(settings).open(unit.wecom_webhook) == WECOM.replace("k-123", "k-789")
        assert (unit.dingtalk_webhook, unit.dingtalk_secret) == (None, None)
    # The same webhook again is no change; without a key a robot cannot be set at all.
    directory.update_unit("admin", "spc", {"wecom_webhook": WECOM.replace("k-123", "k-789")})
    assert len(audit_rows(db, "unit_changed")) == 2
    directory.secrets = None
    with pytest.raises(InvalidInput, match="SANTONGBU_SECRETS_KEY_FILE"):
        directory.update_unit("admin", "spc", {"wecom_webhook": WECOM})
    everything = json.dumps([r for a in ("unit_changed",) for r in audit_rows(db, a)], ensure_ascii=False)
    assert "k-123" not in everything and "k-789" not in everything and "SECabc123" not in everything


def test_the_next_robot_message_follows_a_changed_unit(db, clock, settings, directory):  # type: ignore[no-untyped-def]
    wf = make_workflow(db, clock, settings)
    doc = to_published(wf, at=clock.now() - timedelta(hours=1))
    directory.update_unit("admin", "zfc", {"wecom_webhook": WECOM})
    with db.transaction() as s:
        due = s.get(Document, doc).due_at
    clock.set(due + timedelta(seconds=1))
    sweep(db, clock, settings)
    with db.transaction() as s:
        robots = [
            (r.event, r.channel, r.unit_id)
            for r in s.scalars(select(OutboxMessage).where(OutboxMessage.channel != "email"))
        ]
        zfc = s.scalars(select(Unit.id).where(Unit.code == "zfc")).one()
    assert robots == [("overdue", "wecom", zfc)]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"wecom_webhook": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}, "wecom_webhook"),
        ({"wecom_webhook": "k-123"}, "wecom_webhook"),
        ({"wecom_webhook": "https://qyapi.weixin.qq.com/other?key=1"}, "wecom_webhook"),
        ({"dingtalk_webhook": "https://oapi.dingtalk.com/robot/send?token=1"}, "dingtalk_webhook"),
        ({"dingtalk_secret": "not-a-secret"}, "dingtalk_secret"),
        ({"wecom_events": "overdue,signoff_requested"}, "wecom_events"),
        ({"kind": "ministry"}, "kind"),
        ({"mailbox": "not an address"}, "mailbox"),
        ({"kind": "drafting", "supervising": True}, "supervising"),
        ({}, "changes"),
    ],
)
def test_bad_changes_are_refused_whole(db, clock, directory, changes, field):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as err:
        directory.update_unit("admin", "spc", {"name": "新名字", **changes} if changes else {})
    assert err.value.reasons[0].params["field"] == field
    assert (
        directory.list_units("admin")[[u["code"] for u in directory.list_units("admin")].index("spc")]["name"]
        == "审批处"
    )


def test_unknown_unit_or_head(db, clock, directory):  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        directory.update_unit("admin", "nope", {"name": "x"})
    with pytest.raises(NotFound):
        directory.update_unit("admin", "spc", {"head": "nobody"})


def test_a_clerk_may_not_change_a_unit_and_the_refusal_is_audited(db, clock, directory):  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        directory.update_unit(CLERK, "spc", {"head": CLERK, "wecom_webhook": WECOM})
    [(actor, outcome, details)] = audit_rows(db, "unit_changed")
    assert (actor, outcome) == (CLERK, "refused")
    assert details["code"] == "spc" and details["fields"] == ["head_login", "wecom_webhook"]
    assert "k-123" not in json.dumps(details)
    with db.transaction() as s:
        assert s.scalars(select(Unit.head_login).where(Unit.code == "spc")).one() == "chen.spc"


def test_a_user_moves_with_history_and_acts_for_the_new_unit_at_once(db, clock, settings, directory):  # type: ignore[no-untyped-def]
    wf = make_workflow(db, clock, settings)
    start = clock.now()
    clock.advance(timedelta(days=3))
    directory.update_user("admin", "xu.kxc", {"unit": "spc"})
    history = directory.user_history("admin", "xu.kxc")
    assert [(h["unit"], h["since"], h["until"], h["changed_by"]) for h in history] == [
        ("kxc", start, clock.now(), "admin"),
        ("spc", clock.now(), None, "admin"),
    ]
    [(actor, outcome, details)] = audit_rows(db, "user_moved")
    assert (actor, outcome, details) == (
        "admin",
        "allowed",
        {"login": "xu.kxc", "from": "kxc", "to": "spc", "head_of": []},
    )
    # A member of 审批处 from now: may create its documents.
    doc = wf.create_document(
        "xu.kxc",
        title="新文件",
        doc_number="榕交〔2024〕9号",
        body="…",
        disclosure="proactive",
        risk_assessment_needed=False,
    ).document_id
    with db.transaction() as s:
        assert s.get(Document, doc).unit_id == s.scalars(select(Unit.id).where(Unit.code == "spc")).one()
    # Moving to the same unit is no move.
    directory.update_user("admin", "xu.kxc", {"unit": "spc"})
    assert len(directory.user_history("admin", "xu.kxc")) == 2


def test_history_is_for_those_who_may_read_the_trail(db, clock, directory):  # type: ignore[no-untyped-def]
    assert directory.user_history("audit.cs", "liu.spc")[0]["unit"] == "spc"
    with pytest.raises(Forbidden):
        directory.user_history(CLERK, "liu.spc")
    assert audit_rows(db, "user_history")[-1][:2] == (CLERK, "refused")


def test_existing_users_get_an_open_membership_on_upgrade(tmp_path):  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(db)
    command.upgrade(cfg, "0012_units_channels")
    at = shanghai(2023, 1, 2, 9, 0)
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO units (id, code, name, kind, created_at) VALUES (1, 'spc', '审批处', 'drafting', :at)"
            ),
            {"at": at.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO users (id, login, name, unit_id, roles, active, created_at) "
                "VALUES (7, 'liu', '刘', 1, 'member', true, :at)"
            ),
            {"at": at.replace(tzinfo=None)},
        )
    db.upgrade()
    with db.transaction() as s:
        [row] = s.scalars(select(UserUnitHistory))
        assert (row.user_id, row.unit_id, row.until, row.changed_by) == (7, 1, None, None)
        assert s.get(User, 7).unit_id == 1
    db.dispose()
