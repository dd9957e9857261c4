"""Material files in an S3-compatible object store (AWS S3, MinIO, Ceph, Alibaba OSS, Tencent
COS…), chosen by ``SANTONGBU_BLOB_STORE=s3://bucket/prefix``: the same content-addressed
interface as the folder (:mod:`workflow.kernel.blobs`), so everything above it is unchanged.

The client is boto3 (README, "Dependencies"): maintained by AWS, it speaks every S3-compatible
server, and its errors, retries and credential chain are the ones operators already know.

* **Keys** are ``<prefix>/<ab>/<cd>/<sha256>``, as in the folder.
* **Streamed in.** The source is read one part (``SANTONGBU_S3_PART_MB``, 8 MiB) at a time,
  hashed as it goes, and never held whole. A file that fits in one part is put under its
  hash at once. A larger one is sent as a multipart upload to a temporary key (its hash is
  known only at the end), then copied server-side under its hash and the temporary key
  removed; past the size limit the multipart upload is aborted and nothing is kept.
* **Streamed out.** :meth:`S3BlobStore.open` hands over the response body as it arrives.
* **Secrets** come from the settings (or boto3's usual chain: environment, profile, instance
  role) and are never logged: the store's ``repr`` names only the bucket and prefix.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import IO, Any, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from workflow.kernel.blobs import CHUNK, HEAD, Stored, TooLarge, check_sha256
from workflow.kernel.settings import Settings

MIB = 1024 * 1024


class S3BlobStore:
    """Blobs as objects in one bucket, under one prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", *, part_size: int = 8 * MIB) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size

    def __repr__(self) -> str:
        return f"S3BlobStore(s3://{self.bucket}/{self.prefix})"

    def key(self, sha256: str) -> str:
        check_sha256(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def put(self, source: IO[bytes], *, limit: int) -> Stored:
        digest = hashlib.sha256()
        first = _read(source, self.part_size)
        if len(first) > limit:
            raise TooLarge(limit)
        digest.update(first)
        head = first[:HEAD]
        if len(first) < self.part_size:  # the whole file in one part: straight under its hash
            sha = digest.hexdigest()
            if self.exists(sha):
                return Stored(sha, len(first), head, False)
            self.client.put_object(Bucket=self.bucket, Key=self.key(sha), Body=first)
            return Stored(sha, len(first), head, True)
        temp = f"{self.prefix}.uploads/{uuid.uuid4().hex}"
        size = self._multipart(temp, first, source, digest, limit)
        sha = digest.hexdigest()
        try:
            if self.exists(sha):
                return Stored(sha, size, head, False)
            self.client.copy(  # managed: a multipart copy past 5 GB
                {"Bucket": self.bucket, "Key": temp},
                self.bucket,
                self.key(sha),
                Config=TransferConfig(multipart_chunksize=self.part_size, use_threads=False),
            )
            return Stored(sha, size, head, True)
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=temp)

    def _multipart(self, temp: str, first: bytes, source: IO[bytes], digest: Any, limit: int) -> int:
        """Send ``first`` and the rest of ``source`` as the parts of an upload to ``temp``."""
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=temp)["UploadId"]
        parts: list[dict[str, Any]] = []
        size, part = 0, first
        try:
            while part:
                size += len(part)
                if size > limit:
                    raise TooLarge(limit)
                if part is not first:
                    digest.update(part)
                number = len(parts) + 1
                sent = self.client.upload_part(
                    Bucket=self.bucket, Key=temp, UploadId=upload, PartNumber=number, Body=part
                )
                parts.append({"ETag": sent["ETag"], "PartNumber": number})
                part = _read(source, self.part_size)
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=temp, UploadId=upload, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=temp, UploadId=upload)
            raise
        return size

    def open(self, sha256: str, start: int = 0) -> IO[bytes]:
        extra = {"Range": f"bytes={start}-"} if start else {}
        body = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256), **extra)["Body"]
        return cast(IO[bytes], body)

    def local_path(self, sha256: str) -> Path | None:
        return None

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, sha256: str) -> bool:
        if not self.exists(sha256):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
        return True


def _read(source: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes (fewer only at the end), read a chunk at a time."""
    out = bytearray()
    while len(out) < size:
        chunk = source.read(min(CHUNK, size - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def s3_store(settings: Settings) -> S3BlobStore:
    """The store ``SANTONGBU_BLOB_STORE=s3://bucket/prefix`` names, with the client the
    ``SANTONGBU_S3_*`` settings describe (path-style addressing for a named endpoint, which
    S3-compatible servers expect)."""
    assert settings.blob_store
    bucket, _, prefix = settings.blob_store[len("s3://") :].partition("/")
    secret = settings.s3_secret_access_key
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region or None,
        aws_access_key_id=settings.s3_access_key_id or None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(
            s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
            retries={"mode": "standard", "max_attempts": 5},
        ),
    )
    return S3BlobStore(client, bucket, prefix, part_size=settings.s3_part_mb * MIB)
