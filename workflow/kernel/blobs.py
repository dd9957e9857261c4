"""The store of material files, content-addressed by SHA-256 (docs/design.md §2: a file's hash is
part of the package hash).

The default store is a folder (``SANTONGBU_BLOB_FOLDER``; an S3-compatible store is the other
kind, :mod:`workflow.kernel.blobs_s3`; :mod:`workflow.kernel.blob_stores` picks one): a file lives at
``<folder>/<first two hex digits>/<next two>/<sha256>``, written once and never changed, so two
materials with the same bytes share one file and a file's name proves its content.

* **Streamed in.** :meth:`FolderBlobStore.put` reads its source in chunks of 1 MiB, hashing and
  writing each to a temporary file in the store, and stops with :class:`TooLarge` at the size
  limit; a whole upload is never in memory. The temporary file is then renamed into place
  (atomic on one file system), or dropped if the store already holds those bytes.
* **Sniffed.** The first bytes are kept so the caller can tell the type from the content
  (never from the name or the client's word).
* **Removed** only by the caller that has checked nothing refers to the file any more.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

CHUNK = 1024 * 1024
HEAD = 8192  # what type sniffing reads
_HEX = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(Exception):
    """The source passed the limit; nothing was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    head: bytes
    """The first bytes, for type sniffing."""
    new: bool
    """Whether this put added the file (False: the store already held these bytes)."""


class BlobStore(Protocol):
    """What every store does: the folder here, S3 in :mod:`workflow.kernel.blobs_s3`."""

    def put(self, source: IO[bytes], *, limit: int) -> Stored: ...

    def open(self, sha256: str, start: int = 0) -> IO[bytes]:
        """The bytes from ``start`` on, streamed (the caller closes it)."""
        ...

    def local_path(self, sha256: str) -> Path | None:
        """The file on this host, if the store keeps one (a server then serves byte ranges
        from it); ``None`` for a remote store."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> bool: ...


class FolderBlobStore:
    """Blobs as files in a folder (the embedded default; a shared folder serves several hosts)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, source: IO[bytes], *, limit: int) -> Stored:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size, head = 0, b""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(source):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(limit)
                    if len(head) < HEAD:
                        head += chunk[: HEAD - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self.path(sha)
            if target.exists():
                os.utime(target)  # a fresh touch tells a collector this file was just wanted
                return Stored(sha, size, head, False)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
            tmp = ""
            return Stored(sha, size, head, True)
        finally:
            if tmp:
                Path(tmp).unlink(missing_ok=True)

    def open(self, sha256: str, start: int = 0) -> IO[bytes]:
        file = self.path(sha256).open("rb")
        file.seek(start)
        return file

    def local_path(self, sha256: str) -> Path | None:
        return self.path(sha256)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def delete(self, sha256: str) -> bool:
        target = self.path(sha256)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        for folder in (target.parent, target.parent.parent):
            try:
                folder.rmdir()  # only if empty
            except OSError:
                break
        return True


def check_sha256(sha256: str) -> str:
    if not _HEX.match(sha256):
        raise ValueError("not a SHA-256 in hex")
    return sha256


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            return
        yield chunk
