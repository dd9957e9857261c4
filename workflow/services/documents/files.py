"""Materials that are files: attaching (streamed into the blob store, typed by content), replacing
(which voids the signatures: the file's hash is part of the package), reading (the document's
read rule; a refusal is audited) and letting go of a blob nobody refers to any more.

The bytes go into the store before the change's transaction (a slow upload holds no lock) and
the change then refers to them by hash. A blob is removed only when no material refers to it,
checked and removed under a lock on that hash (``pg_advisory_xact_lock``; SQLite's
``BEGIN IMMEDIATE`` admits one writer anyway), and an attach checks under the same lock that
its blob is still there, so a removal and an attach of the same bytes cannot cross.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import filetype
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from states import files, permissions
from states.i18n import _
from states.package import content_hash
from states.reasons import Reason
from states.snapshot import MATERIAL_FORMS
from workflow.kernel.blob_stores import blob_store_for
from workflow.kernel.blobs import BlobStore, Stored, TooLarge
from workflow.kernel.errors import ConcurrentChange, Forbidden, NotFound
from workflow.kernel.models import Material
from workflow.kernel.snapshots import document_snapshot
from workflow.services.documents.transaction import DocumentService, Outcome, _Ctx
from workflow.services.documents.validation import invalid

MAX_NAME = 255


def file_content_hash(form: str, title: str, sha256: str) -> str:
    """A file material's content hash: its form, title and the file's SHA-256."""
    return content_hash(form, title, None, None, f"sha256:{sha256}")


@dataclass(frozen=True)
class FileRead:
    """What a reader is handed: the bytes (a local file, or a stream from a remote store)
    and how to serve them."""

    path: Path | None
    """The file on this host (served with byte ranges), or ``None`` (:meth:`open` streams)."""
    size: int
    mime: str
    name: str
    sha256: str
    store: BlobStore

    def open(self, start: int = 0) -> IO[bytes]:
        """The bytes from ``start`` on, streamed from the store (the caller closes it)."""
        return self.store.open(self.sha256, start)

    @property
    def inline(self) -> bool:
        return self.mime in files.SHOWN_IN_BROWSER


class BlobKeeping(DocumentService):
    """The blob store, and releasing a blob once no material refers to it."""

    _blobs: BlobStore | None = None

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            self._blobs = blob_store_for(self.settings)
        return self._blobs

    @blobs.setter
    def blobs(self, store: BlobStore) -> None:
        self._blobs = store

    def _lock_blob(self, session: Session, sha256: str) -> None:
        if not self.db.is_sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:sha, 19))"), {"sha": sha256})

    def _release_blob(self, sha256: str | None) -> bool:
        """Remove the blob if no material refers to it (any more, or yet); whether it went."""
        if not sha256:
            return False
        with self.db.transaction() as session:
            self._lock_blob(session, sha256)
            used = session.scalar(
                select(func.count()).select_from(Material).where(Material.file_sha256 == sha256)
            )
            return False if used else self.blobs.delete(sha256)


class DocumentFiles(BlobKeeping):
    """``doc attach --file``, ``doc replace-file``, the API's multipart uploads and downloads."""

    def _store(self, source: IO[bytes], form: str) -> tuple[Stored, str]:
        """Stream ``source`` into the store, within the size limit, and type it by content."""
        video_ok = bool(files.BY_FORM.get(form, frozenset()) & files.VIDEOS.keys())
        limit = self.settings.upload_max_video_bytes if video_ok else self.settings.upload_max_bytes
        try:
            stored = self.blobs.put(source, limit=limit)
        except TooLarge as exc:
            raise invalid("file", _("larger than {p0} MB", p0=exc.limit // (1024 * 1024))) from None
        kind = filetype.guess(stored.head)
        mime = kind.mime if kind else None
        problem = files.fits(form, mime)
        if problem is None and mime not in files.VIDEOS and stored.size > self.settings.upload_max_bytes:
            problem = f"larger than {self.settings.upload_max_bytes // (1024 * 1024)} MB"
        if problem is not None:
            if stored.new:
                self._release_blob(stored.sha256)
            raise invalid("file", problem)
        assert mime is not None
        return stored, mime

    def _attach_with(
        self,
        login: str,
        doc_id: int,
        action: str,
        stored: Stored,
        body: Callable[[_Ctx], None],
        expected_version: int | None,
    ) -> Outcome:
        def run(ctx: _Ctx) -> None:
            self._require_editable(ctx)
            self._lock_blob(ctx.session, stored.sha256)
            if not self.blobs.exists(stored.sha256):
                raise ConcurrentChange(
                    Reason("invalid", {"field": "file", "problem": _("removed meanwhile; upload it again")})
                )
            body(ctx)
            ctx.edited = True  # a package edit: the uploader may not sign this round (states/signoff.py)
            self._rehash(ctx)

        try:
            return self._change(login, doc_id, action, run, expected_version=expected_version)
        except BaseException:
            self._release_blob(stored.sha256)  # kept only if another material holds these bytes
            raise

    def attach_file(
        self,
        login: str,
        doc_id: int,
        *,
        form: str,
        title: str,
        source: IO[bytes],
        filename: str | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """A material whose content is a file: 图解, video, PDF, DOCX, XLSX or PPTX."""
        title = _title(form, title)
        self._may_edit(
            login, doc_id, "attach_material"
        )  # before the upload is read: an outsider sends nothing to disk
        stored, mime = self._store(source, form)
        name = _name(filename, mime)

        def body(ctx: _Ctx) -> None:
            m = Material(
                document_id=ctx.doc.id,
                form=form,
                title=title,
                body=None,
                uri=None,
                content_hash=file_content_hash(form, title, stored.sha256),
                created_by=ctx.user.id,
                created_at=ctx.now,
                file_sha256=stored.sha256,
                file_size=stored.size,
                file_type=mime,
                file_name=name,
            )
            ctx.doc.materials.append(m)
            ctx.session.flush()
            ctx.details.update(
                {
                    "material_id": m.id,
                    "form": form,
                    "title": title,
                    "content_hash": m.content_hash,
                    "file": {"sha256": stored.sha256, "size": stored.size, "type": mime, "name": name},
                }
            )

        return self._attach_with(login, doc_id, "attach_material", stored, body, expected_version)

    def replace_file(
        self,
        login: str,
        doc_id: int,
        material_id: int,
        *,
        source: IO[bytes],
        filename: str | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """A material's file replaced: a new package, so every earlier signature is voided."""
        self._may_edit(login, doc_id, "replace_file")
        form = self._material_form(doc_id, material_id)
        stored, mime = self._store(source, form)
        name = _name(filename, mime)
        old: list[str | None] = []

        def body(ctx: _Ctx) -> None:
            m = next((m for m in ctx.doc.materials if m.id == material_id), None)
            if m is None:
                raise NotFound(Reason("no_such_material", {"id": material_id}))
            old.append(m.file_sha256)
            ctx.details.update(
                {
                    "material_id": m.id,
                    "title": m.title,
                    "previous": m.file_sha256,
                    "file": {"sha256": stored.sha256, "size": stored.size, "type": mime, "name": name},
                }
            )
            m.file_sha256, m.file_size, m.file_type, m.file_name = stored.sha256, stored.size, mime, name
            m.body = m.uri = None
            m.content_hash = file_content_hash(m.form, m.title, stored.sha256)

        outcome = self._attach_with(login, doc_id, "replace_file", stored, body, expected_version)
        if old and old[0] != stored.sha256:
            self._release_blob(old[0])
        return outcome

    def read_file(self, login: str, doc_id: int, material_id: int) -> FileRead:
        """A material's file for whoever may read the document (docs/design.md §7); a refused
        read is audited (``read_file``)."""
        with self.db.transaction() as session:
            actor = self._actor(session, login)[1]
            doc = self._load(session, doc_id)
            denied = permissions.may_read(actor, document_snapshot(session, doc))
            m = next((m for m in doc.materials if m.id == material_id), None)
            state = doc.state
        if denied:
            self.audit_refusal(
                actor=actor,
                action="read_file",
                document_id=doc_id,
                state=state,
                error=Forbidden(denied),
                extra={"material_id": material_id},
            )
            raise Forbidden(denied)
        if m is None or not m.file_sha256:
            raise NotFound(Reason("no_such_material", {"id": material_id}))
        if not self.blobs.exists(m.file_sha256):
            raise NotFound(Reason("invalid", {"field": "file", "problem": _("missing from the file store")}))
        return FileRead(
            self.blobs.local_path(m.file_sha256),
            int(m.file_size or 0),
            m.file_type or "application/octet-stream",
            m.file_name or f"material-{m.id}",
            m.file_sha256,
            self.blobs,
        )

    def _may_edit(self, login: str, doc_id: int, action: str) -> None:
        """The edit rule, read-only; the change itself checks (and audits) again."""
        with self.db.transaction() as session:
            actor = self._actor(session, login)[1]
            doc = self._load(session, doc_id)
            denied = permissions.may_edit(actor, document_snapshot(session, doc))
            state = doc.state
        if denied:
            self.audit_refusal(
                actor=actor, action=action, document_id=doc_id, state=state, error=Forbidden(denied)
            )
            raise Forbidden(denied)

    def _material_form(self, doc_id: int, material_id: int) -> str:
        with self.db.transaction() as session:
            m = session.get(Material, material_id)
            if m is None or m.document_id != doc_id:
                raise NotFound(Reason("no_such_material", {"id": material_id}))
            return m.form


def _title(form: str, title: str) -> str:
    if form not in MATERIAL_FORMS:
        raise invalid("form", _("must be one of {p0}", p0=", ".join(MATERIAL_FORMS)))
    title = (title or "").strip()
    if not title or "\n" in title or len(title) > 500:
        raise invalid("title", _("required, one line, at most 500 characters"))
    return title


def _name(filename: str | None, mime: str) -> str:
    """A safe download name: the uploaded name's last part, with the extension of its type."""
    base = Path((filename or "").replace("\\", "/")).name
    stem = "".join(c for c in Path(base).stem if c.isprintable() and c not in '"/\\<>:|?*')[
        : MAX_NAME - 10
    ].strip()
    return f"{stem or 'material'}.{files.EXTENSIONS[mime]}"
