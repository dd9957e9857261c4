"""Which files a material may carry: the type, as sniffed from the content, must fit the form.

A 图解 (graphic) is an image or a PDF; a video is a video; the other forms (text, Q&A, online
interview, press conference, other) take documents: PDF, DOCX, XLSX, PPTX, or an image (a
scanned transcript). Nothing else: no HTML or SVG (a page could run scripts), no archives or
executables. Images, PDFs and videos are shown in the browser; office files are downloaded.
"""

from __future__ import annotations

IMAGES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
VIDEOS = {"video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov"}
PDF = {"application/pdf": "pdf"}
OFFICE = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
}
EXTENSIONS = {**IMAGES, **VIDEOS, **PDF, **OFFICE}
"""Every type a material file may have, with the extension a download gets."""
SHOWN_IN_BROWSER = frozenset({*IMAGES, *VIDEOS, *PDF})

_DOCUMENTS = frozenset({*PDF, *OFFICE, *IMAGES})
BY_FORM: dict[str, frozenset[str]] = {
    "graphic": frozenset({*IMAGES, *PDF}),
    "video": frozenset(VIDEOS),
    "text": _DOCUMENTS,
    "qa": _DOCUMENTS,
    "online_interview": _DOCUMENTS | frozenset(VIDEOS),
    "press_conference": _DOCUMENTS | frozenset(VIDEOS),
    "other": _DOCUMENTS,
}


def fits(form: str, mime: str | None) -> str | None:
    """Why a file of type ``mime`` cannot be a ``form`` material, or ``None`` if it can."""
    allowed = BY_FORM.get(form, frozenset())
    if mime in allowed:
        return None
    kinds = ", ".join(sorted({EXTENSIONS[m] for m in allowed}))
    what = f"a {EXTENSIONS[mime]} file" if mime in EXTENSIONS else f"a file of type {mime or 'unknown'}"
    return f"{what} cannot be a {form} material; it takes {kinds}"


def is_video(form: str) -> bool:
    """Videos have their own, larger size limit."""
    return form == "video"
