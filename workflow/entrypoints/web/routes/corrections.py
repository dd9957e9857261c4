"""Confirming a claimed time and correcting the published record from the document page
(docs/design.md §7): each one call of the workflow service, refused next to its form."""

from __future__ import annotations

from fastapi import APIRouter, Response

from workflow.entrypoints.web.pages import PREFIX, Form, Page, PageRoute, SignedIn
from workflow.entrypoints.web.routes.actions import (
    DocId,
    _act,
    _clean,
    _instant,
    _version,
)

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)


@router.post("/documents/{doc_id}/confirm", name="web_confirm")
def confirm(doc_id: DocId, page: Page = SignedIn, form: dict = Form) -> Response:
    """A supervisor outside the drafting unit confirms a claimed time, with a reason."""
    return _act(
        page,
        doc_id,
        "confirm",
        form,
        lambda: page.web.workflow.confirm(
            page.login,
            doc_id,
            what=form.get("what", ""),
            reason=_clean(form.get("reason")),
            expected_version=_version(form),
        ),
        lambda _: "done=confirm#postings",
    )


@router.post("/documents/{doc_id}/correct", name="web_correct")
def correct(doc_id: DocId, page: Page = SignedIn, form: dict = Form) -> Response:
    """Correct the publication or a posting, with a reason; only the fields filled in change."""

    def field(name: str) -> str | None:
        return (form.get(name) or "").strip() or None

    return _act(
        page,
        doc_id,
        "correct",
        form,
        lambda: page.web.workflow.correct(
            page.login,
            doc_id,
            what=form.get("what", ""),
            reason=_clean(form.get("reason")),
            url=field("url"),
            at=_instant(page, "at", form.get("at")),
            outlet=field("outlet"),
            evidence=field("evidence"),
            expected_version=_version(form),
        ),
        lambda _: "done=correct#postings",
    )
