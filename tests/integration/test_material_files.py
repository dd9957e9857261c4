"""Materials that are files: each type on the forms it fits, typed by content, size limits,
the file's hash in the package (a replaced file voids the signatures), the read rule on
downloads (refusals audited), shared blobs removed only when nothing refers to them, and a
1 GB upload streamed without the process growing. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import CLERK, HEAD, SIGNER2, make_workflow, seed_bureau, to_plan
from tests.material_files import EVERY, docx, mp4_header, pdf, png
from workflow.kernel.errors import Forbidden, InvalidInput
from workflow.kernel.models import AuditEvent, Signature
from workflow.services.documents import Workflow

FITS = [
    ("graphic", "png"),
    ("graphic", "jpeg"),
    ("graphic", "gif"),
    ("graphic", "pdf"),
    ("video", "mp4"),
    ("video", "mov"),
    ("video", "webm"),
    ("qa", "docx"),
    ("text", "pdf"),
    ("other", "xlsx"),
    ("press_conference", "pptx"),
    ("press_conference", "mp4"),
]


@pytest.fixture
def cfg(settings, tmp_path):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"blob_folder": tmp_path / "files"})


@pytest.fixture
def wf(db, clock, cfg) -> Workflow:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    return make_workflow(db, clock, cfg)


def attach(wf: Workflow, doc: int, form: str, data: bytes, name: str = "解读", **kw) -> int:  # type: ignore[no-untyped-def]
    outcome = wf.attach_file(
        CLERK, doc, form=form, title=name, source=io.BytesIO(data), filename=f"{name}.bin", **kw
    )
    return int(outcome.details["material_id"])


def blobs(cfg) -> list[Path]:  # type: ignore[no-untyped-def]
    return sorted(p for p in cfg.blob_folder.rglob("*") if p.is_file() and not p.name.startswith("."))


@pytest.mark.parametrize(("form", "kind"), FITS)
def test_each_type_on_the_forms_it_fits(wf: Workflow, cfg, form: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    data = EVERY[kind]()
    mid = attach(wf, doc, form, data)
    [m] = [m for m in wf.read_document(CLERK, doc).materials if m.id == mid]
    sha = hashlib.sha256(data).hexdigest()
    assert (m.file_sha256, m.file_size, m.body, m.uri) == (sha, len(data), None, None)
    assert m.file_name.endswith("." + {"jpeg": "jpg"}.get(kind, kind)) and m.file_name.startswith("解读")
    got = wf.read_file(HEAD, doc, mid)
    assert got.path.read_bytes() == data and got.sha256 == sha and got.mime == m.file_type
    assert got.path == cfg.blob_folder / sha[:2] / sha[2:4] / sha
    assert got.inline == (kind not in ("docx", "xlsx", "pptx"))


@pytest.mark.parametrize(
    ("form", "data", "words"),
    [
        ("video", pdf(), "a pdf file cannot be a video material"),
        ("graphic", mp4_header() + b"\0" * 32, "a mp4 file cannot be a graphic material"),
        ("qa", "问:…答:…".encode(), "a file of type unknown"),
        ("other", b"<html><script>alert(1)</script></html>", "a file of type unknown"),
        ("other", b"PK\x03\x04" + b"\0" * 40, "a file of type application/zip"),
    ],
)
def test_the_type_comes_from_the_content_and_must_fit_the_form(
    wf: Workflow, cfg, form: str, data: bytes, words: str
) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    with pytest.raises(InvalidInput) as err:
        wf.attach_file(CLERK, doc, form=form, title="解读", source=io.BytesIO(data), filename="解读.png")
    assert words in err.value.message("en")
    assert wf.read_document(CLERK, doc).materials == () and blobs(cfg) == []


def test_size_limits(db, clock, cfg) -> None:  # type: ignore[no-untyped-def]
    seed_bureau(db, clock)
    wf = make_workflow(
        db, clock, cfg.model_copy(update={"upload_max_bytes": 1000, "upload_max_video_bytes": 3000})
    )
    doc = to_plan(wf)
    big_png = png() + b"\0" * 2000  # trailing bytes: still a PNG by its signature
    with pytest.raises(InvalidInput) as err:
        attach(wf, doc, "graphic", big_png)
    assert "larger than" in err.value.message("en")
    with pytest.raises(InvalidInput):
        attach(wf, doc, "press_conference", big_png)  # may take videos, but this is no video
    attach(wf, doc, "video", mp4_header() + b"\0" * 2500)  # within the video limit
    with pytest.raises(InvalidInput):
        attach(wf, doc, "video", mp4_header() + b"\0" * 3500)
    assert len(blobs(cfg)) == 1


def test_the_files_hash_is_in_the_package_and_replacing_it_voids_signatures(db, wf: Workflow) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    wf.edit_document(CLERK, doc, {"plan": "解读方案", "interpreter": CLERK})
    mid = attach(wf, doc, "graphic", png(b"\xff\x00\x00"), "一图读懂")
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2])
    wf.fire(CLERK, doc, "request_signoff")
    signed_hash = wf.read_document(CLERK, doc).package_hash
    wf.sign(HEAD, doc, package=signed_hash)
    outcome = wf.replace_file(CLERK, doc, mid, source=io.BytesIO(png(b"\x00\x00\xff")), filename="新图.png")
    view = wf.read_document(CLERK, doc)
    assert (
        view.package_hash != signed_hash and outcome.details["previous"] != outcome.details["file"]["sha256"]
    )
    assert [(s.login, s.signed) for s in view.signers] == [(HEAD, False), (SIGNER2, False)]
    with db.transaction() as s:
        assert [sig.void_reason is not None for sig in s.scalars(select(Signature))] == [True]
        voided = s.scalars(select(AuditEvent).where(AuditEvent.action == "signatures_voided")).all()
        assert len(voided) == 1
    # The same bytes as before give the same package back: the hash is the content's.
    wf.replace_file(CLERK, doc, mid, source=io.BytesIO(png(b"\xff\x00\x00")), filename="一图读懂.png")
    assert wf.read_document(CLERK, doc).package_hash == signed_hash
    wf.sign(HEAD, doc, package=signed_hash)


def test_attaching_or_replacing_a_file_makes_an_editor_who_may_not_sign(db, wf: Workflow) -> None:  # type: ignore[no-untyped-def]
    """Separate duties (states/signoff.py): a file attached or replaced is a package edit like
    any other, so whoever did it is one of the round's editors and is refused as its signer."""
    from sqlalchemy import func

    from workflow.kernel.models import DocumentEditor, User

    doc = to_plan(wf)
    wf.edit_document(CLERK, doc, {"plan": "解读方案", "interpreter": CLERK})
    mid = attach(wf, doc, "graphic", png(b"\x01\x02\x03"), "一图读懂")
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2, "director"])
    wf.fire(CLERK, doc, "request_signoff")
    wf.replace_file(HEAD, doc, mid, source=io.BytesIO(png(b"\x03\x02\x01")), filename="新图.png")
    with db.transaction() as s:
        editors = set(
            s.scalars(
                select(User.login)
                .join(DocumentEditor, DocumentEditor.user_id == User.id)
                .where(DocumentEditor.document_id == doc)
            )
        )
        assert {CLERK, HEAD} <= editors
        assert s.scalar(select(func.count()).select_from(DocumentEditor)) >= 2
    with pytest.raises(Forbidden) as err:
        wf.sign(HEAD, doc)
    assert "signer_is_editor" in [r.code for r in err.value.reasons]
    wf.sign(SIGNER2, doc)  # who did not touch the package still signs


def test_downloads_follow_the_read_rule_and_refusals_are_audited(db, wf: Workflow) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    mid = attach(wf, doc, "qa", docx())
    assert wf.read_file("lin.zfc", doc, mid).size == len(docx())  # a supervisor reads everything
    with pytest.raises(Forbidden):
        wf.read_file("xu.kxc", doc, mid)  # another unit's clerk
    with pytest.raises(Forbidden):
        wf.attach_file("xu.kxc", doc, form="qa", title="x", source=io.BytesIO(docx()))
    with pytest.raises(Forbidden):
        wf.replace_file("xu.kxc", doc, mid, source=io.BytesIO(docx()))
    with db.transaction() as s:
        refused = [
            (e.actor, e.action, json.loads(e.details))
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.outcome == "refused").order_by(AuditEvent.id)
            )
        ]
    assert [(a, act) for a, act, _ in refused] == [
        ("xu.kxc", "read_file"),
        ("xu.kxc", "attach_material"),
        ("xu.kxc", "replace_file"),
    ]
    assert refused[0][2]["material_id"] == mid


def test_a_blob_goes_only_when_nothing_refers_to_it(db, wf: Workflow, cfg) -> None:  # type: ignore[no-untyped-def]
    first, second = to_plan(wf), to_plan(wf)
    data = pdf("shared")
    a = attach(wf, first, "text", data)
    b = attach(wf, second, "text", data)  # the same bytes: one blob
    assert len(blobs(cfg)) == 1
    wf.remove_material(CLERK, first, a)
    assert len(blobs(cfg)) == 1 and wf.read_file(CLERK, second, b).path.is_file()
    wf.remove_material(CLERK, second, b)
    assert blobs(cfg) == []
    c = attach(wf, first, "graphic", png())
    wf.replace_file(CLERK, first, c, source=io.BytesIO(pdf("new")), filename="新.pdf")
    assert [p.name for p in blobs(cfg)] == [hashlib.sha256(pdf("new")).hexdigest()]  # the old file went


def test_a_refused_attach_leaves_no_blob(db, wf: Workflow, cfg) -> None:  # type: ignore[no-untyped-def]
    doc = to_plan(wf)
    wf.fire(CLERK, doc, "withdraw", reason="不再出台")
    with pytest.raises(Exception):  # a withdrawn document is frozen
        attach(wf, doc, "graphic", png())
    assert blobs(cfg) == []


def _peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_a_1_gb_upload_streams_without_memory_growth(sqlite_db, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One database is enough: the bytes go to the blob store, never through the database."""
    from workflow.kernel.settings import Settings

    db = sqlite_db
    seed_bureau(db, clock)
    wf = make_workflow(
        db,
        clock,
        Settings(
            database_url=db.url,
            mail_folder=tmp_path / "mail",
            blob_folder=tmp_path / "files",
            upload_max_video_bytes=2 * 1024**3,
        ),
    )
    doc = to_plan(wf)
    source = tmp_path / "1gb.mp4"
    with source.open("wb") as fh:
        fh.write(mp4_header())
        fh.truncate(1024**3)  # sparse: a gigabyte on paper, nothing on disk until read back
    before = _peak_rss_kib()
    with source.open("rb") as fh:
        mid = wf.attach_file(
            CLERK, doc, form="video", title="新闻发布会", source=fh, filename="发布会.mp4"
        ).details["material_id"]
    growth_mib = (_peak_rss_kib() - before) / 1024
    got = wf.read_file(CLERK, doc, mid)
    assert got.size == 1024**3 and got.mime == "video/mp4"
    assert growth_mib < 64, f"peak memory grew {growth_mib:.0f} MiB for a 1 GB upload"
    os.unlink(got.path)
