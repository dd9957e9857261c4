"""The content hash of the sign-off package: text, plan and materials as one unit.

A signature is bound to this hash; any change to what it covers yields a new hash and so
voids every earlier signature (同步审签: the package is signed as one).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from states.snapshot import MaterialSnapshot


def content_hash(*parts: str | None) -> str:
    """Hash of a material's own content (form, title, body, URI)."""
    data = json.dumps([p or "" for p in parts], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


PACKAGE_FIELDS = ("title", "doc_number", "body", "disclosure", "plan", "risk_assessment", "response_plan")
"""The document's own fields the package covers (beside its interpreter and materials)."""


def package_hash_of(
    fields: Mapping[str, Any],
    *,
    interpreter_login: str | None = None,
    materials: Iterable[MaterialSnapshot] = (),
) -> str:
    """:func:`package_hash` of a document's fields by name — a loaded document's columns or a
    new draft's values alike, so which fields make the package is said once (above)."""
    given: dict[str, Any] = {name: fields.get(name) for name in PACKAGE_FIELDS}
    given["title"], given["body"] = given["title"] or "", given["body"] or ""
    return package_hash(**given, interpreter_login=interpreter_login, materials=materials)


def package_hash(
    *,
    title: str,
    doc_number: str | None,
    body: str,
    disclosure: str | None,
    plan: str | None,
    risk_assessment: str | None,
    response_plan: str | None,
    interpreter_login: str | None,
    materials: Iterable[MaterialSnapshot],
) -> str:
    payload = {
        "title": title,
        "doc_number": doc_number or "",
        "body": body,
        "disclosure": disclosure or "",
        "plan": plan or "",
        "risk_assessment": risk_assessment or "",
        "response_plan": response_plan or "",
        "interpreter": interpreter_login or "",
        "materials": [m.content_hash for m in materials],
    }
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
