"""Keeping fetched pages: compressed, content-addressed, in a standard archive format.

Each page is one gzipped WARC file (ISO 28500, written with ``warcio``) holding a ``response``
record — the HTTP status line and headers and the page's bytes — at
``<folder>/<sha[:2]>/<sha256>.warc.gz``, where the SHA-256 is that of the page's bytes as read
(content encoding removed, so ``Content-Encoding`` is dropped from the kept headers and
``Content-Length`` is the kept length). The record's ``WARC-Payload-Digest`` is that SHA-256
(base 32, as WARC writes digests) and the same hash is in the evidence row and its audit event,
so anyone can check the kept page against the trail with ``sha256sum`` after ``warcio extract``.

Content-addressed: the same bytes fetched again are not written again; the file keeps the first
capture's URL and date, and each check's own URL and instant are in its row. A file is written
to a temporary name and renamed, so a reader never sees half a record, and two checkers writing
the same page at once both leave the same file.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from workflow.kernel.db import normalise_url
from workflow.kernel.settings import Settings

_DROPPED = frozenset({"content-encoding", "transfer-encoding", "content-length", "connection"})


def evidence_folder(settings: Settings) -> Path:
    """``evidence_folder``, else ``santongbu-evidence`` beside the SQLite file, else beside the
    mail folder."""
    if settings.evidence_folder is not None:
        return settings.evidence_folder
    url = make_url(normalise_url(settings.database_url))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / "santongbu-evidence"
    return settings.mail_folder.parent / "santongbu-evidence"


def sha256_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class StoredPage:
    """One kept page, as read back from its WARC record."""

    sha256: str
    url: str
    captured_at: str
    status: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def content_type(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "content-type"), None)


class EvidenceStore:
    """The folder of kept pages."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 in hex")
        return self.folder / sha256[:2] / f"{sha256}.warc.gz"

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def put(
        self,
        *,
        url: str,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        body: bytes,
        fetched_at: datetime,
        address: str | None = None,
    ) -> str:
        """Keep ``body`` (with its HTTP status and headers) unless kept already; its SHA-256."""
        from warcio.statusandheaders import StatusAndHeaders
        from warcio.warcwriter import WARCWriter

        digest = sha256_of(body)
        target = self.path(digest)
        if target.exists():
            return digest
        kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED]
        kept.append(("Content-Length", str(len(body))))
        http_headers = StatusAndHeaders(f"{status} {reason}".strip(), kept, protocol="HTTP/1.1")
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=True, warc_version="WARC/1.1")
        warc_headers = {
            "WARC-Date": fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "WARC-Payload-Digest": "sha256:" + base64.b32encode(bytes.fromhex(digest)).decode("ascii"),
        }
        if address:
            warc_headers["WARC-IP-Address"] = address
        record = writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )
        writer.write_record(record)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".warc.gz")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(buffer.getvalue())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def read(self, sha256: str) -> StoredPage | None:
        """The kept page, or ``None`` if this store does not hold it."""
        from warcio.archiveiterator import ArchiveIterator

        path = self.path(sha256)
        if not path.exists():
            return None
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type != "response":
                    continue
                body = record.content_stream().read()
                http = record.http_headers
                return StoredPage(
                    sha256,
                    record.rec_headers.get_header("WARC-Target-URI"),
                    record.rec_headers.get_header("WARC-Date"),
                    http.get_statuscode() if http else "",
                    list(http.headers) if http else [],
                    body,
                )
        return None
