"""Documents: create, edit, attach, name signers, sign, reject, fire triggers, post, read, list.

Each route calls the same :class:`~workflow.services.documents.Workflow` method as the CLI; the service
checks the document rules of docs/design.md §7 (drafting unit's members edit and advance, named
signers sign and reject, readers read) and audits every refusal. Commands answer with the
:class:`Outcome` and an ``ETag`` carrying the new version, which the next change may send
back as ``If-Match``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Response, status
from starlette.concurrency import run_in_threadpool

from states.i18n import _
from states.lifecycle import Trigger
from states.reasons import Reason
from workflow.entrypoints.api.deps import CallerDep, IfMatch, ServicesDep
from workflow.entrypoints.api.problems import responses
from workflow.entrypoints.api.routes.reports import PERIOD as PERIOD_PATTERN
from workflow.entrypoints.api.schemas import (
    MAX_ID,
    Code,
    ConfirmIn,
    CorrectionIn,
    DocumentCreate,
    DocumentEdit,
    DocumentHit,
    DocumentView,
    MaterialIn,
    Outcome,
    PostingIn,
    RejectIn,
    SignersIn,
    SignIn,
    StateName,
    TimelineEvent,
    TriggerIn,
)
from workflow.kernel.errors import InvalidInput
from workflow.services.documents import Outcome as ServiceOutcome

router = APIRouter(prefix="/documents", tags=["documents"])

DocId = Annotated[int, Path(ge=1, le=MAX_ID, description="Document id.")]
MaterialId = Annotated[int, Path(ge=1, le=MAX_ID, description="Material id.")]
READ = responses(401, 403, 404, 422, 503)
CHANGE = responses(401, 403, 404, 409, 413, 422, 503)


def _answer(response: Response, outcome: ServiceOutcome) -> dict[str, Any]:
    response.headers["ETag"] = f'"{outcome.version}"'
    return outcome.as_dict()


async def _command(response: Response, change: Callable[[], ServiceOutcome]) -> dict[str, Any]:
    """Run a command in a worker thread and answer from the event loop. The command routes are
    ``async`` for this: FastAPI hops to a worker thread a second time after a plain ``def`` route,
    only to check its answer against ``Outcome``. (The service blocks on the database, so it must
    not run on the event loop itself.)"""
    return _answer(response, await run_in_threadpool(change))


@router.get("", response_model=list[DocumentHit], responses=responses(401, 403, 422, 503))
def list_documents(
    who: CallerDep,
    svc: ServicesDep,
    response: Response,
    state: Annotated[StateName | None, Query(description="Only documents in this state.")] = None,
    unit: Annotated[Code | None, Query(description="Only this drafting unit's documents.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description=(
                "Search title, 文号, body and plan text (Chinese substrings too; every word must match), newest "
                "first, at most 200 a page; the next page is in the Link header (rel=next)."
            ),
        ),
    ] = None,
    period: Annotated[
        str | None,
        Query(
            pattern=PERIOD_PATTERN,
            max_length=22,
            description=(
                "With q: published (or, if not yet, created) in 2024, 2024-Q1, 2024-03, 2024-02-01..2024-03-15."
            ),
        ),
    ] = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="With q: hits older than this id.")
    ] = None,
) -> list[dict[str, Any]]:
    """The documents the caller may see: their unit's and those they sign; everything for
    supervisors, auditors, leaders and administrators. With ``q``, a search among them."""
    if q is None:
        if period is not None or before_id is not None:
            raise InvalidInput(Reason("invalid", {"field": "period, before_id", "problem": _("only with q")}))
        docs = svc.workflow.list_documents(who.login, state=state, unit_code=unit, limit=limit, offset=offset)
        return [d.as_dict() for d in docs]
    found = svc.workflow.search_documents(
        who.login, q, state=state, unit_code=unit, period=period, limit=min(limit, 200), before_id=before_id
    )
    if found.next_before_id is not None:
        query = urlencode(
            {
                k: v
                for k, v in {
                    "q": q,
                    "state": state,
                    "unit": unit,
                    "period": period,
                    "limit": min(limit, 200),
                    "before_id": found.next_before_id,
                }.items()
                if v is not None
            }
        )
        response.headers["Link"] = f'</documents?{query}>; rel="next"'
    return [h.as_dict() for h in found.hits]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Outcome,
    responses=responses(401, 403, 404, 413, 422, 503),
)
async def create_document(
    body: DocumentCreate, who: CallerDep, svc: ServicesDep, response: Response
) -> dict[str, Any]:
    """Open a new draft for the caller's unit (a member of the drafting unit only)."""
    outcome = await run_in_threadpool(
        partial(
            svc.workflow.create_document,
            who.principal,
            title=body.title,
            doc_number=body.doc_number,
            body=body.body,
            disclosure=body.disclosure,
            risk_assessment_needed=body.risk_assessment_needed,
            unit_code=body.unit,
            allow_duplicate_number=body.allow_duplicate_number,
        )
    )
    response.headers["Location"] = f"/documents/{outcome.document_id}"  # before the ETag, as documented
    return _answer(response, outcome)


@router.get("/{doc_id}", response_model=DocumentView, responses=READ)
def read_document(
    doc_id: DocId,
    who: CallerDep,
    svc: ServicesDep,
    response: Response,
    timeline: Annotated[bool, Query(description="Include the audit timeline.")] = True,
) -> dict[str, Any]:
    """A document with its package, signatures, postings, deadline, what is missing, and its timeline."""
    view = svc.workflow.read_document(who.login, doc_id).as_dict()
    if timeline:
        view["timeline"] = [e.as_dict() for e in svc.workflow.timeline(who.login, doc_id)]
    response.headers["ETag"] = f'"{view["version"]}"'
    return view


@router.get("/{doc_id}/timeline", response_model=list[TimelineEvent], responses=READ)
def document_timeline(doc_id: DocId, who: CallerDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """The document's audit chain, oldest first: every action, allowed or refused."""
    return [e.as_dict() for e in svc.workflow.timeline(who.login, doc_id)]


@router.patch("/{doc_id}", response_model=Outcome, responses=CHANGE)
async def edit_document(
    doc_id: DocId, body: DocumentEdit, who: CallerDep, svc: ServicesDep, expected: IfMatch, response: Response
) -> dict[str, Any]:
    """Change fields of the document; only the fields sent change. A change to the package
    voids earlier signatures."""
    changes = body.model_dump(exclude_unset=True)
    allow = changes.pop("allow_duplicate_number", False)
    return await _command(
        response,
        partial(
            svc.workflow.edit_document,
            who.principal,
            doc_id,
            changes,
            expected_version=expected,
            allow_duplicate_number=allow,
        ),
    )


@router.post(
    "/{doc_id}/materials", status_code=status.HTTP_201_CREATED, response_model=Outcome, responses=CHANGE
)
async def add_material(
    doc_id: DocId, body: MaterialIn, who: CallerDep, svc: ServicesDep, expected: IfMatch, response: Response
) -> dict[str, Any]:
    """Attach an interpretation material (解读材料); ``details.material_id`` is its id."""
    return await _command(
        response,
        partial(
            svc.workflow.add_material,
            who.principal,
            doc_id,
            form=body.form,
            title=body.title,
            body=body.body,
            uri=body.uri,
            expected_version=expected,
        ),
    )


@router.delete("/{doc_id}/materials/{material_id}", response_model=Outcome, responses=CHANGE)
async def remove_material(
    doc_id: DocId,
    material_id: MaterialId,
    who: CallerDep,
    svc: ServicesDep,
    expected: IfMatch,
    response: Response,
) -> dict[str, Any]:
    """Remove an interpretation material."""
    return await _command(
        response,
        partial(svc.workflow.remove_material, who.principal, doc_id, material_id, expected_version=expected),
    )


@router.put("/{doc_id}/signers", response_model=Outcome, responses=CHANGE)
async def set_signers(
    doc_id: DocId, body: SignersIn, who: CallerDep, svc: ServicesDep, expected: IfMatch, response: Response
) -> dict[str, Any]:
    """Name everyone who must sign the package (replaces the list)."""
    return await _command(
        response,
        partial(svc.workflow.set_signers, who.principal, doc_id, body.signers, expected_version=expected),
    )


@router.post("/{doc_id}/signatures", response_model=Outcome, responses=CHANGE)
async def sign(
    doc_id: DocId,
    who: CallerDep,
    svc: ServicesDep,
    expected: IfMatch,
    response: Response,
    body: SignIn | None = None,
) -> dict[str, Any]:
    """Sign the package as it is now (named signers only)."""
    package = body.package if body else None
    return await _command(
        response,
        partial(svc.workflow.sign, who.principal, doc_id, package=package, expected_version=expected),
    )


@router.post("/{doc_id}/reject", response_model=Outcome, responses=CHANGE)
async def reject(
    doc_id: DocId, body: RejectIn, who: CallerDep, svc: ServicesDep, expected: IfMatch, response: Response
) -> dict[str, Any]:
    """As a named signer, send the package back to the plan (or the draft) with a reason."""
    return await _command(
        response,
        partial(
            svc.workflow.reject, who.principal, doc_id, body.reason, to=body.to, expected_version=expected
        ),
    )


@router.post("/{doc_id}/triggers/{trigger}", response_model=Outcome, responses=CHANGE)
async def fire_trigger(
    doc_id: DocId,
    trigger: Trigger,
    who: CallerDep,
    svc: ServicesDep,
    expected: IfMatch,
    response: Response,
    body: TriggerIn | None = None,
) -> dict[str, Any]:
    """Fire a lifecycle trigger: prepare_plan, request_signoff, publish (publication_url,
    published_at), file_undisclosed, post_interpretation, reject and reject_to_draft (reason;
    signers only), withdraw (reason)."""
    body = body or TriggerIn()
    return await _command(
        response,
        partial(
            svc.workflow.fire,
            who.principal,
            doc_id,
            trigger.value,
            reason=body.reason,
            publication_url=body.publication_url,
            published_at=body.published_at,
            backdated=body.backdated,
            expected_version=expected,
        ),
    )


@router.post(
    "/{doc_id}/postings", status_code=status.HTTP_201_CREATED, response_model=Outcome, responses=CHANGE
)
async def record_posting(
    doc_id: DocId, body: PostingIn, who: CallerDep, svc: ServicesDep, expected: IfMatch, response: Response
) -> dict[str, Any]:
    """Record where the interpretation went out; portal plus news media completes the document
    (``state_after`` is then interpretation_posted, with on time or late)."""
    return await _command(
        response,
        partial(
            svc.workflow.record_posting,
            who.principal,
            doc_id,
            channel=body.channel,
            url=body.url,
            outlet=body.outlet,
            evidence=body.evidence,
            posted_at=body.posted_at,
            expected_version=expected,
        ),
    )


@router.post("/{doc_id}/confirmations", response_model=Outcome, responses=CHANGE)
async def confirm(
    doc_id: DocId, body: ConfirmIn, who: CallerDep, svc: ServicesDep, expected: IfMatch, response: Response
) -> dict[str, Any]:
    """As a supervisor outside the drafting unit, confirm a claimed time older than the grace
    window (a backdated publication, or a channel's postings); the result is recomputed."""
    return await _command(
        response,
        partial(
            svc.workflow.confirm,
            who.principal,
            doc_id,
            what=body.what,
            reason=body.reason,
            expected_version=expected,
        ),
    )


@router.post("/{doc_id}/corrections", response_model=Outcome, responses=CHANGE)
async def correct(
    doc_id: DocId, body: CorrectionIn, who: CallerDep, svc: ServicesDep, expected: IfMatch, response: Response
) -> dict[str, Any]:
    """Correct a published fact with a reason; the original values stay in the trail and the
    deadline, ladder and on-time result are recomputed."""
    return await _command(
        response,
        partial(
            svc.workflow.correct,
            who.principal,
            doc_id,
            what=body.what,
            reason=body.reason,
            url=body.url,
            at=body.at,
            outlet=body.outlet,
            evidence=body.evidence,
            posting_id=body.posting_id,
            expected_version=expected,
        ),
    )
