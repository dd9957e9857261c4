"""The units page: administrators change a unit (and its robots) from the browser's form;
others see the list without forms and are refused, audited, if they post anyway."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.robot_secrets import opened
from tests.web_support import (  # noqa: F401 (fixtures)
    PASSWORD,
    Session,
    seeded_template,
    start_clock,
    web_db,
    web_env,
)
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, Unit
from workflow.services.accounts import Accounts

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=web-key-1"


def test_an_administrator_changes_a_unit_on_the_page(web_db: Database, tmp_path: Path) -> None:
    Accounts(web_db, start_clock()).set_password("admin", "admin", PASSWORD)
    with web_env(web_db, tmp_path, people=None) as env:
        admin = Session(env.base_url)
        assert admin.sign_in("admin").status_code == 303
        page = admin.get("/web/units")
        assert (
            page.status_code == 200
            and 'href="/web/units"' in page.text
            and 'action="/web/units/spc"' in page.text
        )
        token = admin.csrf("/web/units")
        form = {
            "csrf_token": token,
            "name": "审批处",
            "kind": "supervising",
            "mailbox": "spc@jtj.example.cn",
            "head": "liu.spc",
            "wecom_webhook": WECOM,
            "wecom_events": "overdue",
            "dingtalk_events": "",
        }
        done = admin.post("/web/units/spc", form)
        assert done.status_code == 303 and done.headers["location"] == "/web/units?changed=spc"
        shown = admin.get("/web/units?changed=spc").text
        assert "已保存 spc" in shown and "web-key-1" not in shown and ">…ey-1</code>" in shown
        with web_db.transaction() as s:
            unit = s.scalars(select(Unit).where(Unit.code == "spc")).one()
            webhook = opened(env.settings.secrets_key_file, unit.wecom_webhook)  # stored encrypted
            assert (unit.kind, unit.head_login, webhook, unit.wecom_events) == (
                "supervising",
                "liu.spc",
                WECOM,
                "overdue",
            )
            assert "web-key-1" not in unit.wecom_webhook
        # Blank webhook: unchanged; a bad value: refused next to the unit's form, nothing changed.
        bad = admin.post("/web/units/spc", {**form, "wecom_webhook": "", "mailbox": "not-an-address"})
        assert bad.status_code == 422 and 'data-refusal="spc"' in bad.text
        removed = admin.post("/web/units/spc", {**form, "wecom_webhook": "", "wecom_remove": "1"})
        assert removed.status_code == 303
        with web_db.transaction() as s:
            unit = s.scalars(select(Unit).where(Unit.code == "spc")).one()
            assert (unit.mailbox, unit.wecom_webhook) == ("spc@jtj.example.cn", None)
        admin.close()


def test_others_see_no_forms_and_a_post_is_refused_and_audited(web_db: Database, tmp_path: Path) -> None:
    with web_env(web_db, tmp_path, people=None) as env:
        clerk = Session(env.base_url)
        clerk.sign_in("liu.spc")
        page = clerk.get("/web/units")
        assert page.status_code == 200 and "审批处" in page.text and 'action="/web/units/' not in page.text
        token = clerk.csrf("/web/units")  # the sign-out form carries it
        refused = clerk.post("/web/units/spc", {"csrf_token": token, "name": "审批处", "head": "liu.spc"})
        assert refused.status_code == 403
        with web_db.transaction() as s:
            last = s.scalars(select(AuditEvent).where(AuditEvent.action == "unit_changed")).all()
            assert [(e.actor, e.outcome) for e in last] == [("liu.spc", "refused")]
            assert s.scalars(select(Unit.head_login).where(Unit.code == "spc")).one() == "chen.spc"
        clerk.close()
