"""Material files over HTTP: multipart uploads (a new material, or a material's file replaced)
and downloads. The workflow service checks the rules (members of the drafting unit attach;
readers of the document download; refusals audited); these routes only move bytes.

An upload arrives as ``multipart/form-data``; the server spools the file part to disk as it
comes in, and the service streams it from there into the blob store, so no upload is ever
whole in memory. A download is the file itself, with its sniffed type, its SHA-256 as the
``ETag``, byte ranges (a video seeks), and ``inline`` for images, PDFs and videos (shown in the
browser) or ``attachment`` for office files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request, Response, UploadFile, status
from fastapi.responses import FileResponse, StreamingResponse

from workflow.entrypoints.api.deps import CallerDep, IfMatch, ServicesDep
from workflow.entrypoints.api.problems import responses
from workflow.entrypoints.api.schemas import MAX_ID, MaterialForm, Outcome
from workflow.kernel.blobs import CHUNK
from workflow.services.documents.files import FileRead

router = APIRouter(prefix="/documents", tags=["documents"])

DocId = Annotated[int, Path(ge=1, le=MAX_ID, description="Document id.")]
MaterialId = Annotated[int, Path(ge=1, le=MAX_ID, description="Material id.")]


def _answer(response: Response, outcome: Any) -> dict[str, Any]:
    response.headers["ETag"] = f'"{outcome.version}"'
    return outcome.as_dict()


@router.post(
    "/{doc_id}/materials/file",
    status_code=status.HTTP_201_CREATED,
    response_model=Outcome,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
def attach_file(
    doc_id: DocId,
    form: Annotated[MaterialForm, Form()],
    title: Annotated[str, Form(max_length=500)],
    file: UploadFile,
    who: CallerDep,
    svc: ServicesDep,
    expected: IfMatch,
    response: Response,
) -> dict[str, Any]:
    """Attach a material that is a file (multipart: ``form``, ``title``, ``file``): an image or
    PDF for a 图解, a video, or a PDF, DOCX, XLSX, PPTX or image for the other forms. The type
    is sniffed from the content; ``details.file`` has its SHA-256, size, type and name."""
    outcome = svc.workflow.attach_file(
        who.login,
        doc_id,
        form=form,
        title=title,
        source=file.file,
        filename=file.filename,
        expected_version=expected,
    )
    return _answer(response, outcome)


@router.put(
    "/{doc_id}/materials/{material_id}/file",
    response_model=Outcome,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
def replace_file(
    doc_id: DocId,
    material_id: MaterialId,
    file: UploadFile,
    who: CallerDep,
    svc: ServicesDep,
    expected: IfMatch,
    response: Response,
) -> dict[str, Any]:
    """Replace a material's file (multipart ``file``); the package changes, so every
    signature on it is voided."""
    outcome = svc.workflow.replace_file(
        who.login, doc_id, material_id, source=file.file, filename=file.filename, expected_version=expected
    )
    return _answer(response, outcome)


def file_response(got: FileRead, *, download: bool = False, byte_range: str | None = None) -> Response:
    """The file with its type, its hash as ETag, and inline or attachment: served from the
    local file, or streamed from a remote store as it arrives; either way one byte range
    (``Range: bytes=…``, a video seeking) is served as 206."""
    disposition = "inline" if got.inline and not download else "attachment"
    headers = {
        "ETag": f'"{got.sha256}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
    }
    if got.path is not None:
        return FileResponse(
            got.path,
            media_type=got.mime,
            filename=got.name,
            content_disposition_type=disposition,
            headers=headers,
        )
    quoted = quote(got.name)  # FileResponse's rule: RFC 5987 for a name that is not plain ASCII
    headers["Content-Disposition"] = (
        f'{disposition}; filename="{got.name}"'
        if quoted == got.name
        else f"{disposition}; filename*=utf-8''{quoted}"
    )
    headers["Accept-Ranges"] = "bytes"
    try:
        wanted = _range(byte_range, got.size)
    except ValueError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{got.size}"})
    start, end = wanted or (0, got.size - 1)
    headers["Content-Length"] = str(end - start + 1)
    if wanted:
        headers["Content-Range"] = f"bytes {start}-{end}/{got.size}"
    stream = _stream(got, start, end - start + 1)
    return StreamingResponse(stream, status_code=206 if wanted else 200, media_type=got.mime, headers=headers)


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` range as (first, last); ``None`` for no
    usable header (several ranges, another unit: the whole file, as RFC 9110 allows);
    :class:`ValueError` for a range past the end (416)."""
    found = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if not found or found.group(1) == found.group(2) == "":
        return None
    first, last = found.group(1), found.group(2)
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        raise ValueError("range not satisfiable")
    return start, end


def _stream(got: FileRead, start: int, length: int) -> Iterator[bytes]:
    with got.open(start) as body:
        while length > 0 and (chunk := body.read(min(CHUNK, length))):
            length -= len(chunk)
            yield chunk


@router.get(
    "/{doc_id}/materials/{material_id}/file",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The file, with its sniffed type; Range requests are served.",
        },
        **responses(401, 403, 404, 422, 503),
    },
)
def download_file(
    doc_id: DocId, material_id: MaterialId, who: CallerDep, svc: ServicesDep, request: Request
) -> Response:
    """A material's file, for whoever may read the document (a refusal is audited)."""
    got = svc.workflow.read_file(who.login, doc_id, material_id)
    return file_response(got, byte_range=request.headers.get("range"))
