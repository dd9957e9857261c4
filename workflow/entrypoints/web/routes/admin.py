"""The administrators' page for units: name, mailbox, head, kind and group robots.

Everyone signed in may see the units (as ``GET /units`` in the API); a change is one call of
the directory service, which checks the administrator's right and audits both outcomes. A
webhook or a secret is never shown back: the form's fields for them are blank, and blank
leaves them as they are.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from workflow.entrypoints.web.pages import PREFIX, Form, Page, PageRoute, SignedIn, redirect, render
from workflow.kernel.errors import SantongbuError

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
PLAIN = ("name", "mailbox", "head", "kind", "wecom_events", "dingtalk_events")
SECRET = ("wecom_webhook", "dingtalk_webhook", "dingtalk_secret")


def _page(page: Page, status: int = 200, **context: Any) -> Response:
    units = page.web.services.directory.list_units(page.login)
    return render(page, "units.html", status, units=units, here=f"{PREFIX}/units", **context)


@router.get("/units", name="web_units")
def units(page: Page = SignedIn, changed: Annotated[str, Query(max_length=64)] = "") -> Response:
    return _page(page, changed=changed, errors={}, values={})


@router.post("/units/{code}", name="web_unit_set")
def unit_set(code: Code, page: Page = SignedIn, form: dict[str, Any] = Form) -> Response:
    changes: dict[str, Any] = {k: (form.get(k) or "").strip() for k in PLAIN if k in form}
    changes.update({k: form[k].strip() for k in SECRET if (form.get(k) or "").strip()})
    for channel, fields in (
        ("wecom", ("wecom_webhook",)),
        ("dingtalk", ("dingtalk_webhook", "dingtalk_secret")),
    ):
        if form.get(f"{channel}_remove"):
            changes.update(dict.fromkeys(fields, ""))
    try:
        page.web.services.directory.update_unit(page.login, code, changes)
    except SantongbuError as exc:
        kept = {k: v for k, v in changes.items() if k in PLAIN}
        return _page(
            page, exc.http_status, changed="", errors={code: exc.message(page.lang)}, values={code: kept}
        )
    return redirect(page, f"{PREFIX}/units?changed={code}")
