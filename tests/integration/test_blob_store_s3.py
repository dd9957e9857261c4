"""The S3-compatible blob store against a real S3 server on loopback (moto's, started by the
test on a free port): the same content-addressed interface as the folder, small files put
whole, large ones sent as multipart uploads a part at a time and copied under their hash,
an upload past the limit aborted with nothing left behind, downloads streamed back
byte-identical through the service, the API and ``doc download``; the secret key never
printed."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from typer.testing import CliRunner

from tests.api_support import live_server
from tests.factories import CLERK, make_workflow, seed_bureau, to_plan
from tests.material_files import mp4_header, png
from workflow.entrypoints.api import create_app
from workflow.entrypoints.cli.main import app as cli
from workflow.kernel.blob_stores import blob_store_for
from workflow.kernel.blobs import CHUNK, TooLarge
from workflow.kernel.blobs_s3 import MIB, S3BlobStore
from workflow.services.tokens import Tokens

BUCKET = "santongbu-files"
SECRET = "s3cr3t-never-printed-9f8e7d"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint: str, request: pytest.FixtureRequest) -> Any:
    """A fresh bucket on the loopback server (the server keeps state across the module)."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="santongbu",
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket = f"{BUCKET}-{abs(hash(request.node.name)) % 10**8}"
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket  # type: ignore[attr-defined]
    return client


def keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3.bucket).get("Contents", []))


class Reader(io.RawIOBase):
    """``size`` bytes made as they are read (never held whole), recording each read's size."""

    def __init__(self, size: int) -> None:
        self.left, self.n, self.reads = size, 0, []  # type: list[int]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads.append(size)
        take = min(self.left, size if size >= 0 else self.left)
        self.left -= take
        start, self.n = self.n, self.n + take
        return bytes((i * 7) % 251 for i in range(start, start + take))


def made(size: int) -> bytes:
    return bytes((i * 7) % 251 for i in range(size))


class Calls:
    """The real client, with the names of the calls made through it kept (a spy, not a mock)."""

    def __init__(self, client: Any) -> None:
        self.client, self.names = client, []  # type: Any, list[str]

    def __getattr__(self, name: str) -> Any:
        self.names.append(name)
        return getattr(self.client, name)


def test_small_and_large_files_are_content_addressed(s3: Any) -> None:
    spy = Calls(s3)
    store = S3BlobStore(spy, s3.bucket, "prod/files", part_size=5 * MIB)
    small = store.put(io.BytesIO(png()), limit=MIB)
    sha = hashlib.sha256(png()).hexdigest()
    assert (small.sha256, small.size, small.new, small.head) == (sha, len(png()), True, png())
    assert keys(s3) == [f"prod/files/{sha[:2]}/{sha[2:4]}/{sha}"]
    assert "create_multipart_upload" not in spy.names
    assert store.put(io.BytesIO(png()), limit=MIB).new is False  # the same bytes: one object

    size = 11 * MIB + 123  # three parts of 5 MiB, 5 MiB and the rest
    source = Reader(size)
    big = store.put(source, limit=20 * MIB)
    assert big.size == size and big.new and big.sha256 == hashlib.sha256(made(size)).hexdigest()
    assert max(source.reads) <= CHUNK  # read a chunk at a time, never whole
    assert spy.names.count("upload_part") == 3 and "complete_multipart_upload" in spy.names
    assert len(keys(s3)) == 2 and not [k for k in keys(s3) if ".uploads/" in k]  # the temporary key went
    with store.open(big.sha256) as body:
        back = hashlib.sha256()
        while chunk := body.read(CHUNK):
            back.update(chunk)
    assert back.hexdigest() == big.sha256 and store.local_path(big.sha256) is None
    again = store.put(Reader(size), limit=20 * MIB)
    assert again.new is False and len(keys(s3)) == 2

    assert store.delete(sha) is True and store.exists(sha) is False and store.delete(sha) is False


def test_past_the_limit_the_multipart_upload_is_aborted(s3: Any) -> None:
    store = S3BlobStore(s3, s3.bucket, "", part_size=5 * MIB)
    with pytest.raises(TooLarge):
        store.put(Reader(12 * MIB), limit=7 * MIB)
    with pytest.raises(TooLarge):
        store.put(Reader(3 * MIB), limit=2 * MIB)
    assert keys(s3) == []
    assert s3.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_workflow_api_and_cli_over_the_s3_store(  # type: ignore[no-untyped-def]
    s3: Any, endpoint: str, db, clock, settings, tmp_path: Path, monkeypatch, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {
        "SANTONGBU_BLOB_STORE": f"s3://{s3.bucket}/santongbu",
        "SANTONGBU_S3_ENDPOINT_URL": endpoint,
        "SANTONGBU_S3_REGION": "us-east-1",
        "SANTONGBU_S3_ACCESS_KEY_ID": "santongbu",
        "SANTONGBU_S3_SECRET_ACCESS_KEY": SECRET,
        "SANTONGBU_S3_PART_MB": "5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = type(settings)(database_url=settings.database_url, mail_folder=tmp_path / "mail")
    assert SECRET not in repr(cfg) and SECRET not in repr(blob_store_for(cfg))
    seed_bureau(db, clock)
    wf = make_workflow(db, clock, cfg)
    doc = to_plan(wf)
    video = mp4_header() + made(6 * MIB)  # past one part: a multipart upload
    mid = wf.attach_file(
        CLERK, doc, form="video", title="发布会", source=io.BytesIO(video), filename="发布会.mp4"
    ).details["material_id"]
    sha = hashlib.sha256(video).hexdigest()
    assert keys(s3) == [f"santongbu/{sha[:2]}/{sha[2:4]}/{sha}"]
    assert not (tmp_path / "santongbu-files").exists()  # nothing in a local folder
    got = wf.read_file(CLERK, doc, mid)
    assert got.path is None and got.mime == "video/mp4"
    with got.open() as body:
        assert body.read() == video

    token = Tokens(db, clock).create("admin", "lin.zfc", "s3 test")[0]
    with live_server(create_app(db, clock, cfg)) as url:
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.get(f"{url}/documents/{doc}/materials/{mid}/file", headers=auth, timeout=30)
        ranges = {
            asked: httpx.get(
                f"{url}/documents/{doc}/materials/{mid}/file", headers={**auth, "Range": asked}, timeout=30
            )
            for asked in ("bytes=4-11", "bytes=-5", f"bytes={len(video) - 3}-", f"bytes={len(video)}-")
        }
    # A video seeks in the store too: one range is asked of S3 and served as 206.
    seek = ranges["bytes=4-11"]
    assert (seek.status_code, seek.content) == (206, video[4:12])
    assert seek.headers["content-range"] == f"bytes 4-11/{len(video)}"
    assert ranges["bytes=-5"].content == video[-5:]
    assert ranges[f"bytes={len(video) - 3}-"].content == video[-3:]
    assert ranges[f"bytes={len(video)}-"].status_code == 416
    assert r.status_code == 200 and r.content == video
    assert r.headers["content-type"] == "video/mp4" and r.headers["etag"] == f'"{sha}"'
    assert r.headers["content-length"] == str(len(video))
    assert r.headers["content-disposition"].startswith("inline; filename*=utf-8''")

    result = CliRunner().invoke(
        cli,
        [
            "--db",
            db.url,
            "doc",
            "download",
            str(doc),
            str(mid),
            "--as",
            "lin.zfc",
            "-o",
            str(tmp_path / "v.mp4"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "v.mp4").read_bytes() == video and sha in result.stdout
    assert SECRET not in result.output + caplog.text
