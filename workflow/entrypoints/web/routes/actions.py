"""Every change a page can make to a document, each one call of the workflow service.

A refused change (no right, a guard failed, bad input, changed meanwhile) is shown on the
document page next to the button that asked for it, with the user's input kept; the service
has written nothing but the audit line of the refusal. A change that worked redirects (303)
to the document page with a short message, so a reload never repeats it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from states.i18n import _
from states.lifecycle import State, Trigger
from states.reasons import Reason
from workflow.entrypoints.web import views
from workflow.entrypoints.web.i18n import t
from workflow.entrypoints.web.pages import (
    PREFIX,
    Form,
    Page,
    PageRoute,
    SignedIn,
    Upload,
    form_list,
    redirect,
    render,
)
from workflow.kernel.errors import InvalidInput, SantongbuError
from workflow.services.documents import Outcome

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

DocId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TEXT_SECTION = ("title", "doc_number", "body", "disclosure", "risk_assessment_needed")
PLAN_SECTION = ("plan", "interpreter", "risk_assessment", "response_plan")
MULTILINE = ("body", "plan", "risk_assessment", "response_plan")
FIRED_HERE = (
    Trigger.PREPARE_PLAN,
    Trigger.REQUEST_SIGNOFF,
    Trigger.PUBLISH,
    Trigger.FILE_UNDISCLOSED,
    Trigger.WITHDRAW,
)


def _url(doc_id: int) -> str:
    return f"{PREFIX}/documents/{doc_id}"


def _version(form: dict[str, Any]) -> int | None:
    """The version the page showed: a change made meanwhile by someone else is refused."""
    value = form.get("version", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _clean(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n")


def _instant(page: Page, field: str, value: str | None) -> datetime | None:
    """A wall-clock time typed in the working zone (``2024-02-09T10:30`` or with a space), by
    the one rule for typed instants (:mod:`states.instants`)."""
    from states.instants import InstantError, parse_instant

    value = (value or "").strip()
    if not value:
        return None
    try:
        return parse_instant(value, page.web.settings.timezone, what=field)
    except InstantError as exc:
        if exc.reason.code == "instant_out_of_range":
            raise InvalidInput(exc.reason) from None
        raise InvalidInput(Reason("invalid", {"field": field, "problem": t("err.time", page.lang)})) from None


def _act(
    page: Page,
    doc_id: int,
    key: str,
    form: dict[str, Any],
    run: Callable[[], Outcome | None],
    done: Callable[[Outcome | None], str],
) -> Response:
    """Run one change; on refusal re-render the page with the reason next to form ``key``."""
    try:
        outcome = run()
    except SantongbuError as exc:
        values = {k: v for k, v in form.items() if k not in ("csrf_token", "__lists__")}
        values["__lists__"] = form.get("__lists__", {})
        context = views.document_page(
            page, doc_id, errors={key: exc.message(page.lang)}, values={key: values}
        )
        return render(
            page,
            "document.html",
            exc.http_status,
            **context,
            flash=None,
            flash_trigger=None,
            here=_url(doc_id),
        )
    return redirect(page, f"{_url(doc_id)}?{done(outcome)}")


@router.post("/documents/{doc_id}/edit/{section}", name="web_edit")
def edit(doc_id: DocId, section: str, page: Page = SignedIn, form: dict = Form) -> Response:
    """Save one section of the document; only fields that differ from the page are sent."""
    fields = {"text": TEXT_SECTION, "plan": PLAN_SECTION}.get(section)
    if fields is None:
        raise InvalidInput(Reason("invalid", {"field": "section", "problem": _("text or plan")}))
    key = f"edit-{section}"
    login = page.login

    def run() -> Outcome | None:
        current = page.web.workflow.read_document(login, doc_id)
        changes: dict[str, Any] = {}
        for name in fields:
            if name not in form:
                continue
            raw = form[name]
            if name == "risk_assessment_needed":
                new: Any = {"yes": True, "no": False}.get(raw)
            elif name in MULTILINE:
                new = _clean(raw) or None
            else:
                new = raw.strip() or None
            if name in ("title", "body") and new is None:
                new = ""
            if getattr(current, name) != new:
                changes[name] = new
        if not changes:
            return None
        return page.web.workflow.edit_document(
            login,
            doc_id,
            changes,
            expected_version=_version(form),
            allow_duplicate_number=form.get("allow_duplicate_number") == "yes",
        )

    def done(outcome: Outcome | None) -> str:
        return "done=edit" if outcome is not None else "done=nothing"

    return _act(page, doc_id, key, form, run, done)


@router.post("/documents/{doc_id}/materials", name="web_add_material")
def add_material(doc_id: DocId, page: Page = SignedIn, form: dict = Upload) -> Response:
    """Attach a material: its text and link, or a file (图解, video, PDF, DOCX, XLSX, PPTX).
    A file goes through the same service call as ``doc attach --file`` and the API's multipart
    upload, so the same size limits, type sniffing, edit rule and audited refusals."""
    upload = form.pop("__file__", None)
    body, uri = _clean(form.get("body")) or None, (form.get("uri") or "").strip() or None

    def run() -> Outcome:
        if upload is None:
            return page.web.workflow.add_material(
                page.login,
                doc_id,
                form=form.get("form", ""),
                title=form.get("title", ""),
                body=body,
                uri=uri,
                expected_version=_version(form),
            )
        if body or uri:
            problem = t("err.text_or_file", page.lang)
            raise InvalidInput(Reason("invalid", {"field": "file", "problem": problem}))
        return page.web.workflow.attach_file(
            page.login,
            doc_id,
            form=form.get("form", ""),
            title=form.get("title", ""),
            source=upload.file,
            filename=upload.filename,
            expected_version=_version(form),
        )

    try:
        return _act(page, doc_id, "material", form, run, lambda _: "done=attach_material#materials")
    finally:
        if upload is not None:
            upload.file.close()  # the spooled temporary file goes now, not at collection


@router.post("/documents/{doc_id}/materials/{material_id}/remove", name="web_remove_material")
def remove_material(doc_id: DocId, material_id: ItemId, page: Page = SignedIn, form: dict = Form) -> Response:
    return _act(
        page,
        doc_id,
        "material",
        form,
        lambda: page.web.workflow.remove_material(
            page.login, doc_id, material_id, expected_version=_version(form)
        ),
        lambda _: "done=remove_material#materials",
    )


@router.post("/documents/{doc_id}/signers", name="web_signers")
def set_signers(doc_id: DocId, page: Page = SignedIn, form: dict = Form) -> Response:
    chosen = [s for s in form_list(form, "signers") if s][:50]
    return _act(
        page,
        doc_id,
        "signers",
        form,
        lambda: page.web.workflow.set_signers(page.login, doc_id, chosen, expected_version=_version(form)),
        lambda _: "done=set_signers#signoff",
    )


@router.post("/documents/{doc_id}/fire/{trigger}", name="web_fire")
def fire(doc_id: DocId, trigger: str, page: Page = SignedIn, form: dict = Form) -> Response:
    """A clerk's lifecycle button: prepare plan, request sign-off, publish, file, withdraw."""
    if trigger not in {str(x) for x in FIRED_HERE}:
        raise InvalidInput(Reason("unknown_trigger", {"trigger": trigger[:40]}))

    def run() -> Outcome:
        published_at = _instant(page, "published_at", form.get("published_at"))
        return page.web.workflow.fire(
            page.login,
            doc_id,
            trigger,
            reason=_clean(form.get("reason")) or None,
            publication_url=(form.get("publication_url") or "").strip() or None,
            published_at=published_at,
            backdated=form.get("backdated") == "yes",
            expected_version=_version(form),
        )

    return _act(page, doc_id, f"fire-{trigger}", form, run, lambda _: f"done=fire&trigger={trigger}")


@router.post("/documents/{doc_id}/sign", name="web_sign")
def sign(doc_id: DocId, page: Page = SignedIn, form: dict = Form) -> Response:
    """Sign the package the signer read: ``package`` is its hash as shown on the page."""
    package = (form.get("package") or "").strip() or None
    return _act(
        page,
        doc_id,
        "sign",
        form,
        lambda: page.web.workflow.sign(page.login, doc_id, package=package),
        lambda _: "done=sign#signoff",
    )


@router.post("/documents/{doc_id}/reject", name="web_reject")
def reject(doc_id: DocId, page: Page = SignedIn, form: dict = Form) -> Response:
    """Send the package back to the plan (or the draft) with a reason (named signers only)."""
    to = "draft" if form.get("to") == "draft" else "plan"
    return _act(
        page,
        doc_id,
        "reject",
        form,
        lambda: page.web.workflow.reject(
            page.login, doc_id, _clean(form.get("reason")) or None, to=to, expected_version=_version(form)
        ),
        lambda _: "done=reject",
    )


@router.post("/documents/{doc_id}/postings", name="web_posting")
def record_posting(doc_id: DocId, page: Page = SignedIn, form: dict = Form) -> Response:
    """Record one interpretation posting; portal and news media together close the document."""

    def run() -> Outcome:
        return page.web.workflow.record_posting(
            page.login,
            doc_id,
            channel=form.get("channel", ""),
            url=(form.get("url") or "").strip() or None,
            outlet=(form.get("outlet") or "").strip() or None,
            evidence=_clean(form.get("evidence")) or None,
            posted_at=_instant(page, "posted_at", form.get("posted_at")),
            expected_version=_version(form),
        )

    def done(outcome: Outcome | None) -> str:
        closed = outcome is not None and outcome.state_after == State.INTERPRETATION_POSTED
        return "done=posted" if closed else "done=record_posting#postings"

    return _act(page, doc_id, "posting", form, run, done)
