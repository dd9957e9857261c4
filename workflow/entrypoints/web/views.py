"""What the templates are handed: documents with their deadline and next step in words,
the signer's queue, the dashboard. Every document is read through the service, which applies
the reading rule of docs/design.md §7 (and audits a refusal); the dashboard service asks
``may_audit`` first.
"""

from __future__ import annotations

from typing import Any

from states.deadline import zone
from states.lifecycle import SIGNER_TRIGGERS, TERMINAL, State, Trigger
from states.lifecycle import forward_trigger as lifecycle_forward
from states.snapshot import CHANNELS, DISCLOSURES, MATERIAL_FORMS
from workflow.entrypoints.web import svg
from workflow.entrypoints.web.deadlines import DueStatus, due_status
from workflow.entrypoints.web.pages import Page
from workflow.services.diagram import mermaid
from workflow.services.reports import TOTAL_UNIT

# Triggers a clerk fires with a button (posting completes the document by itself).
CLERK_BUTTONS = (Trigger.PREPARE_PLAN, Trigger.REQUEST_SIGNOFF, Trigger.PUBLISH, Trigger.FILE_UNDISCLOSED)
LIST_LIMIT = 200


def forward_trigger(view: dict[str, Any]) -> str | None:
    """The trigger that moves this document on along its path (``None`` once it is closed):
    the step whose gaps a clerk fills (:func:`states.lifecycle.forward_trigger`)."""
    return lifecycle_forward(view["state"], view.get("disclosure"))


def next_step(view: dict[str, Any], lang: str) -> dict[str, Any]:
    """The forward step and what it still lacks, in words; ``None`` trigger when closed."""
    trig = forward_trigger(view)
    if trig is None:
        return {"trigger": None, "ready": False, "missing": [], "closed": True}
    step = next((s for s in view["next_steps"] if s["trigger"] == trig), None)
    if step is None:
        return {"trigger": trig, "ready": False, "missing": [], "closed": False}
    return {"trigger": trig, "ready": step["ready"], "missing": step["missing"], "closed": False}


class Calendars:
    """One working-day calendar per request, read lazily (or handed in, already read)."""

    def __init__(self, page: Page, calendar: Any = None) -> None:
        self.page = page
        self._calendar: Any = calendar

    @property
    def calendar(self) -> Any:
        if self._calendar is None:
            self._calendar = self.page.web.services.calendar.current()
        return self._calendar

    def due(self, doc: dict[str, Any]) -> DueStatus:
        return due_status(doc, self.page.web.clock.now(), self.calendar, self.page.web.settings.timezone)


def document_rows(page: Page, *, unit: str | None, closed: bool) -> list[dict[str, Any]]:
    """The documents of the list page: state, next step in words, deadline, escalation."""
    web, login = page.web, page.login
    docs = web.workflow.list_documents(login, unit_code=unit, limit=LIST_LIMIT)
    if not closed:
        docs = [d for d in docs if d.state not in TERMINAL]
    cal = Calendars(page)
    levels, names = web.dashboard.levels_and_unit_names([d.id for d in docs])
    rows = []
    for d in docs:
        view = web.workflow.read_document(login, d.id).as_dict()
        rows.append(
            {
                **view,
                "next": next_step(view, page.lang),
                "due": cal.due(view),
                "level": levels.get(d.id),
                "unit_name": names.get(view["unit"], view["unit"]),
            }
        )
    rows.sort(key=lambda r: (_urgency(r["due"]), r["id"]))
    return rows


def _urgency(due: DueStatus) -> int:
    return {"overdue": 0, "today": 1, "open": 2}.get(due.kind, 3)


def signing_queue(page: Page) -> list[dict[str, Any]]:
    """Packages in joint sign-off naming this user that they have not signed yet."""
    web, login = page.web, page.login
    waiting = []
    for d in web.workflow.list_documents(login, state=State.JOINT_SIGNOFF.value, limit=LIST_LIMIT):
        view = web.workflow.read_document(login, d.id).as_dict()
        mine = next((s for s in view["signers"] if s["login"] == login), None)
        if mine is not None and not mine["signed"]:
            waiting.append(view)
    return waiting


def document_page(
    page: Page, doc_id: int, *, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything the document page shows, for this user."""
    web, login, user = page.web, page.login, page.user
    assert user is not None
    view = web.workflow.read_document(login, doc_id).as_dict()
    member = user.unit == view["unit"]
    mine = next((s for s in view["signers"] if s["login"] == login), None)
    people = web.services.directory.people(login)
    levels, names = web.dashboard.levels_and_unit_names([doc_id])
    level, unit_name = levels.get(doc_id), names.get(view["unit"], view["unit"])
    steps = {s["trigger"]: s for s in view["next_steps"]}
    buttons = [
        steps[tr]
        for tr in CLERK_BUTTONS
        if tr in steps
        and not (tr == Trigger.PUBLISH and view["disclosure"] == "not_disclosed")
        and not (tr == Trigger.FILE_UNDISCLOSED and view["disclosure"] != "not_disclosed")
    ]
    names = {u["login"]: u["name"] for u in people}
    editable = member and view["state"] in (State.DRAFT, State.INTERPRETATION_PLAN, State.JOINT_SIGNOFF)
    can_sign = mine is not None and view["state"] == State.JOINT_SIGNOFF
    signed_by_me = bool(mine and mine["signed"])
    withdrawable = member and Trigger.WITHDRAW in steps
    postable = member and view["state"] == State.PUBLISHED
    may_confirm = "supervisor" in user.roles and not member  # states/claims.py: may_confirm
    may_correct = (member or may_confirm) and view["state"] in (State.PUBLISHED, State.INTERPRETATION_POSTED)
    waiting_what = [
        *(["publication"] if view["publication"] and view["publication"]["awaiting_confirmation"] else []),
        *dict.fromkeys(p["channel"] for p in view["postings"] if p["awaiting_confirmation"]),
    ]
    forward = next_step(view, page.lang)
    # Forms rendered on the page: a refusal is shown next to its button; any other at the top.
    placed = set()
    if editable:
        placed |= {"edit-text", "edit-plan", "material", "signers"}
    if member and not forward["closed"]:
        placed |= {f"fire-{b['trigger']}" for b in buttons} | ({"fire-withdraw"} if withdrawable else set())
    if can_sign:
        placed |= {"reject"} | (set() if signed_by_me else {"sign"})
    if postable:
        placed.add("posting")
    if may_confirm and view["claims_waiting"]:
        placed.add("confirm")
    if may_correct:
        placed.add("correct")
    return {
        "doc": view,
        "member": member,
        "editable": editable,
        "can_sign": can_sign,
        "signed_by_me": signed_by_me,
        "buttons": buttons,
        "withdrawable": withdrawable,
        "placed": placed,
        "unit_name": unit_name,
        "next": forward,
        "due": Calendars(page).due(view),
        "level": level,
        "unit_people": [u for u in people if u["unit"] == view["unit"]],
        "signer_choices": [u for u in people if {"signer", "leader"} & set(u["roles"])],
        "names": names,
        "signer_triggers": SIGNER_TRIGGERS,
        "unsigned": [s["login"] for s in view["signers"] if not s["signed"]],
        "forms": MATERIAL_FORMS,
        "channels": CHANNELS,
        "disclosures": DISCLOSURES,
        "errors": errors or {},
        "values": values or {},
        "postable": postable,
        "may_confirm": may_confirm,
        "waiting_what": waiting_what,
        "may_correct": may_correct,
        "upload_mb": {
            "video": web.settings.upload_max_video_bytes // 1048576,
            "other": web.settings.upload_max_bytes // 1048576,
        },
    }


def dashboard(page: Page) -> dict[str, Any]:
    """The supervisor's dashboard (supervisors, auditors, leaders, administrators)."""
    web, login = page.web, page.login
    seen = web.dashboard.overview(login)  # authorises (may_audit) before anything is read
    now, tz = seen.now, web.settings.timezone
    year = now.astimezone(zone(tz)).year
    overdue = web.reports.overdue(login, now=now)
    on_time = web.reports.on_time(login, period=str(year), now=now)
    cal = Calendars(page, seen.calendar)
    counts = seen.counts
    unit_rows = [r for r in on_time.rows if r["unit"] != TOTAL_UNIT]
    return {
        "overdue": overdue.rows,
        "due_soon": [{**d, "due": cal.due(d)} for d in seen.due_soon],
        "escalations": seen.escalations,
        "rates": svg.rate_bars(unit_rows),
        "rate_rows": unit_rows,
        "rate_total": on_time.totals,
        "year": year,
        "diagram": svg.lifecycle(counts),
        "counts": counts,
        "mermaid": _mermaid(counts),
        "claims_waiting": seen.claims_waiting,
        "unverified": seen.unverified,
        "unverified_count": seen.unverified_count,
    }


def _mermaid(counts: dict[str, int]) -> str:
    """The Mermaid text of ``santongbu diagram`` with each state's count as a note."""
    try:
        text = mermaid()
    except Exception:
        return ""
    notes = "\n".join(f"    note right of {s}: {counts.get(s, 0)}" for s in (str(x) for x in State))
    return f"{text}\n{notes}"


def period_default(page: Page) -> str:
    """This year in the working zone: what reports cover unless asked otherwise."""
    return str(page.web.clock.now().astimezone(zone(page.web.settings.timezone)).year)
