"""Clerks' and signers' pages: the unit's documents, a new draft, a document, the signing queue."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from states.lifecycle import Trigger
from states.reasons import Reason
from workflow.entrypoints.web import views
from workflow.entrypoints.web.pages import PREFIX, Form, Page, PageRoute, SignedIn, redirect, render
from workflow.kernel.errors import NotFound, SantongbuError

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

# A kept page is someone else's HTML: sandboxed into an opaque origin, no script, no fetch.
KEPT_PAGE_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
DocId = Annotated[int, Path(ge=1, le=2**31 - 1)]
UnitCode = Annotated[str | None, Query(max_length=64, pattern=r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$")]
# Flash messages a redirect may ask for: only these codes, never text from the URL.
DONE = (
    "create",
    "edit",
    "nothing",
    "attach_material",
    "remove_material",
    "set_signers",
    "sign",
    "reject",
    "fire",
    "record_posting",
    "posted",
    "voided",
    "confirm",
    "correct",
)


@router.get("/documents", name="web_documents")
def documents(page: Page = SignedIn, unit: UnitCode = None, closed: bool = False) -> Response:
    """My unit's documents (supervisors: every unit's, with a unit filter)."""
    user = page.user
    assert user is not None
    if not user.may_audit:
        unit = user.unit
    rows = views.document_rows(page, unit=unit, closed=closed)
    units = []
    if user.may_audit:
        units = page.web.dashboard.drafting_units()
    return render(page, "documents.html", rows=rows, unit=unit, closed=closed, units=units)


@router.get("/documents/new", name="web_new_document")
def new_document(page: Page = SignedIn) -> Response:
    return render(page, "new.html", error=None, values={}, disclosures=views.DISCLOSURES)


@router.post("/documents", name="web_create_document")
def create_document(page: Page = SignedIn, form: dict = Form) -> Response:
    """Open a draft for the user's unit; the service refuses anyone not in a drafting unit."""
    risk = {"yes": True, "no": False}.get(form.get("risk_assessment_needed", ""))
    try:
        outcome = page.web.workflow.create_document(
            page.login,
            title=form.get("title", ""),
            doc_number=form.get("doc_number") or None,
            body=_text(form.get("body")),
            disclosure=form.get("disclosure") or None,
            risk_assessment_needed=risk,
            allow_duplicate_number=form.get("allow_duplicate_number") == "yes",
        )
    except SantongbuError as exc:
        return render(
            page,
            "new.html",
            exc.http_status,
            error=exc.message(page.lang),
            values=form,
            disclosures=views.DISCLOSURES,
            here=f"{PREFIX}/documents/new",
        )
    return redirect(page, f"{PREFIX}/documents/{outcome.document_id}?done=create")


def _text(value: str | None) -> str:
    """Browsers send textarea line ends as CRLF; the package hash must not depend on that."""
    return (value or "").replace("\r\n", "\n")


@router.get("/documents/{doc_id}", name="web_document")
def document(
    doc_id: DocId,
    page: Page = SignedIn,
    done: Annotated[str | None, Query(max_length=40)] = None,
    trigger: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The document page; the service refuses (and audits) a user who may not read it."""
    context = views.document_page(page, doc_id)
    flash = done if done in DONE else None
    trig = trigger if trigger in {str(t_) for t_ in Trigger} else None
    return render(page, "document.html", **context, flash=flash, flash_trigger=trig)


@router.get("/documents/{doc_id}/materials/{material_id}/file", name="web_material_file")
def material_file(
    doc_id: DocId, material_id: DocId, page: Page = SignedIn, download: Annotated[bool, Query()] = False
) -> Response:
    """A material's file: shown in the browser (images, PDFs, videos) or downloaded; the
    service refuses (and audits) a user who may not read the document."""
    from workflow.entrypoints.api.routes.files import file_response

    got = page.web.workflow.read_file(page.login, doc_id, material_id)
    response = file_response(got, download=download, byte_range=page.request.headers.get("range"))
    if got.mime != "application/pdf":  # a sandbox would stop the browser's PDF viewer
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
        )
    return response


@router.get("/documents/{doc_id}/evidence/{check_id}", name="web_evidence")
def evidence(doc_id: DocId, check_id: DocId, page: Page = SignedIn, download: bool = False) -> Response:
    """A page kept by the evidence checker (docs/evidence.md), for readers of the document: shown
    as it was fetched but sandboxed (no script runs, nothing is loaded from anywhere, no cookie
    is reachable), or its WARC record downloaded."""
    shown = page.web.services.evidence.show(page.login, check_id)  # authorises (may_read)
    if shown.check["document_id"] != doc_id or shown.body is None or shown.warc_path is None:
        raise NotFound(Reason("no_such_check", {"id": check_id}))
    if download:
        return Response(
            FilePath(shown.warc_path).read_bytes(),
            media_type="application/warc",
            headers={
                "Content-Disposition": f'attachment; filename="{shown.check["sha256"]}.warc.gz"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )
    kind = (shown.content_type or "").split(";")[0].strip().lower()
    media = (
        shown.content_type if kind in ("text/html", "text/plain", "application/xhtml+xml") else "text/plain"
    )
    return Response(
        shown.body,
        media_type=media,
        headers={
            "Content-Security-Policy": KEPT_PAGE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        },
    )


@router.get("/signing", name="web_signing")
def signing(page: Page = SignedIn) -> Response:
    """Packages waiting for this user's signature."""
    return render(page, "signing.html", waiting=views.signing_queue(page))
