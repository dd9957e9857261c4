"""``POST /documents/import``: documents already in progress, from an .xlsx or a .csv file
(administrators; the service checks the right, the whole file, and audits)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile, status

from states.i18n import _
from states.reasons import Reason
from workflow.entrypoints.api.deps import CallerDep, ServicesDep
from workflow.entrypoints.api.problems import responses
from workflow.kernel.errors import InvalidInput
from workflow.services.documents.import_rows import MAX_BYTES

router = APIRouter(prefix="/documents", tags=["documents"])
CHUNK = 1024 * 1024


@router.post("/import", status_code=status.HTTP_201_CREATED, responses=responses(401, 403, 413, 422, 503))
def import_documents(
    file: UploadFile,
    who: CallerDep,
    svc: ServicesDep,
    dry_run: Annotated[bool, Query(description="Check the file, write nothing.")] = False,
) -> dict[str, Any]:
    """Import documents in progress (multipart field ``file``: .xlsx, or .csv in UTF-8 or GBK),
    all or nothing: every problem is listed with its row. Each document's chain starts with an
    ``imported`` event. Answers with the ids made and the count per state."""
    name = Path(file.filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InvalidInput(Reason("invalid", {"field": "file", "problem": _("an .xlsx or a .csv file")}))
    with tempfile.TemporaryDirectory(prefix="santongbu-import-") as folder:
        target = Path(folder) / name
        size = 0
        with target.open("wb") as out:
            while chunk := file.file.read(CHUNK):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise InvalidInput(
                        Reason(
                            "invalid", {"field": "file", "problem": f"larger than {MAX_BYTES // CHUNK} MB"}
                        )
                    )
                out.write(chunk)
        return svc.workflow.import_documents(who.login, target, dry_run=dry_run).as_dict()
