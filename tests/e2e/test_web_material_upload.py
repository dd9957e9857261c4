"""Attaching file materials from the document page: in Chromium a clerk uploads a real PNG, an
MP4 and a PDF, sees the image inline and the video in a player, and downloads each back
byte-identical; over plain HTTP the upload needs the session's CSRF token, a user who may
read the document but not edit it is refused (and the refusal is in the audit trail), the
size limit and the type sniffing are the service's own, and nothing refused reaches the store.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import to_plan
from tests.material_files import docx, mp4, pdf, png
from tests.web_support import (  # noqa: F401 (fixtures)
    PASSWORD,
    Session,
    Shots,
    browser,
    seeded_template,
    sign_in,
    web_db,
    web_env,
)
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, Material
from workflow.services.documents import Workflow


def blobs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def materials(db: Database, doc: int) -> list[tuple[str, str | None, str | None]]:
    with db.transaction() as s:
        rows = s.scalars(select(Material).where(Material.document_id == doc).order_by(Material.id))
        return [(m.title, m.file_type, m.file_sha256) for m in rows]


def test_a_clerk_uploads_views_and_downloads_files_in_the_browser(
    browser: Any, web_db: Database, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    shots = Shots()
    with web_env(web_db, tmp_path, people=None) as env:
        doc = to_plan(Workflow(web_db, env.clock, env.settings))
        (tmp_path / "一图读懂.png").write_bytes(png())
        (tmp_path / "发布会.mp4").write_bytes(mp4())
        (tmp_path / "答记者问.pdf").write_bytes(pdf())
        clerk = sign_in(browser, env, "liu.spc")
        clerk.goto(env.url(f"/web/documents/{doc}"))
        for form, title, name in (
            ("graphic", "一图读懂", "一图读懂.png"),
            ("video", "新闻发布会", "发布会.mp4"),
            ("qa", "答记者问", "答记者问.pdf"),
        ):
            clerk.get_by_label("形式").select_option(form)
            clerk.get_by_label("材料标题").fill(title)
            clerk.get_by_label("或上传文件").set_input_files(str(tmp_path / name))
            clerk.get_by_role("button", name="添加解读材料").click()
            clerk.wait_for_url(re.compile(r"done=attach_material"))
            expect(clerk.locator("#flash")).to_have_text("解读材料已添加。")
        rows = materials(web_db, doc)
        assert [(t, ty) for t, ty, _ in rows] == [
            ("一图读懂", "image/png"),
            ("新闻发布会", "video/mp4"),
            ("答记者问", "application/pdf"),
        ]
        assert [sha for *_, sha in rows] == [hashlib.sha256(x).hexdigest() for x in (png(), mp4(), pdf())]
        image = clerk.locator("img.material-image")
        expect(image).to_have_count(1)
        # The browser really decoded the picture it was served (a 1x1 PNG), not a broken image.
        assert clerk.evaluate("() => document.querySelector('img.material-image').naturalWidth") == 1
        expect(clerk.locator("video.material-video")).to_have_count(1)
        expect(clerk.get_by_role("link", name="在浏览器中打开")).to_have_count(1)  # the PDF
        shots(clerk, "16-materials-uploaded")
        links = clerk.locator(".file a[download]")
        expect(links).to_have_count(3)
        for i, ((title, _, _), data) in enumerate(zip(rows, (png(), mp4(), pdf()))):
            with clerk.expect_download() as got:
                links.nth(i).click()
            saved = tmp_path / f"back-{got.value.suggested_filename}"
            got.value.save_as(saved)
            assert saved.read_bytes() == data, title
        clerk.context.close()


def test_upload_rules_over_http(web_db: Database, tmp_path: Path) -> None:
    with web_env(web_db, tmp_path, people=None, upload_max_bytes=1024) as env:
        doc = to_plan(Workflow(web_db, env.clock, env.settings))
        url = f"/web/documents/{doc}/materials"
        files = tmp_path / "files"

        clerk = Session(env.base_url)
        clerk.sign_in("liu.spc", PASSWORD)
        token = clerk.csrf(f"/web/documents/{doc}")
        assert 'enctype="multipart/form-data"' in clerk.get(f"/web/documents/{doc}").text

        # Without the session's token nothing is read into the store.
        forged = clerk.post(url, {"form": "graphic", "title": "x"}, files={"file": ("x.png", png())})
        assert forged.status_code == 403 and blobs(files) == []

        ok = clerk.post(
            url,
            {"csrf_token": token, "form": "graphic", "title": "一图读懂", "version": ""},
            files={"file": ("一图读懂.png", png(), "application/octet-stream")},
        )
        assert ok.status_code == 303 and "done=attach_material" in ok.headers["location"]
        assert blobs(files) == [hashlib.sha256(png()).hexdigest()]

        # The content decides the type, not the name; the refusal stands next to the upload form.
        wrong = clerk.post(
            url,
            {"csrf_token": token, "form": "video", "title": "发布会"},
            files={"file": ("发布会.mp4", pdf(), "video/mp4")},
        )
        assert wrong.status_code == 422 and 'data-refusal="material"' in wrong.text
        big = clerk.post(
            url,
            {"csrf_token": token, "form": "qa", "title": "问答"},
            files={"file": ("问答.docx", docx() + b"\0" * 2048)},
        )
        assert big.status_code == 422 and "1024" not in big.text and "MB" in big.text
        both = clerk.post(
            url,
            {"csrf_token": token, "form": "qa", "title": "问答", "body": "问:…"},
            files={"file": ("问答.docx", docx())},
        )
        assert both.status_code == 422 and "不能两者兼有" in both.text
        # Without a file the same form adds a text material, as before.
        text = clerk.post(url, {"csrf_token": token, "form": "qa", "title": "问答", "body": "问:…答:…"})
        assert text.status_code == 303
        assert blobs(files) == [hashlib.sha256(png()).hexdigest()]  # the refused bytes went
        clerk.close()

        # A supervisor may read the document but not change it: refused, audited, nothing kept.
        supervisor = Session(env.base_url)
        supervisor.sign_in("lin.zfc", PASSWORD)
        page = supervisor.get(f"/web/documents/{doc}").text
        assert 'id="form-material"' not in page
        refused = supervisor.post(
            url,
            {"csrf_token": supervisor.csrf(f"/web/documents/{doc}"), "form": "graphic", "title": "图"},
            files={"file": ("图.png", png(b"\x00\xff\x00"))},
        )
        assert refused.status_code == 403
        supervisor.close()
        assert blobs(files) == [hashlib.sha256(png()).hexdigest()]
        assert [t for t, *_ in materials(web_db, doc)] == ["一图读懂", "问答"]
        with web_db.transaction() as s:
            audited = [
                (e.actor, e.action, e.channel)
                for e in s.scalars(
                    select(AuditEvent).where(AuditEvent.outcome == "refused", AuditEvent.document_id == doc)
                )
            ]
        assert ("lin.zfc", "attach_material", "web") in audited


@pytest.mark.slow
def test_a_large_upload_from_the_page_is_streamed_not_held(web_db: Database, tmp_path: Path) -> None:
    """128 MiB through the form: spooled to disk as it arrives and streamed into the store, so
    the server process (here, in this process) does not grow by the file's size."""
    import resource

    def peak_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with web_env(web_db, tmp_path, people=None) as env:
        doc = to_plan(Workflow(web_db, env.clock, env.settings))
        source = tmp_path / "发布会.mp4"
        with source.open("wb") as fh:
            fh.write(mp4())
            fh.truncate(128 * 1024 * 1024)
        clerk = Session(env.base_url)
        clerk.sign_in("liu.spc", PASSWORD)
        token = clerk.csrf(f"/web/documents/{doc}")
        before = peak_mib()
        with source.open("rb") as fh:  # httpx streams a file object part by part
            done = clerk.post(
                f"/web/documents/{doc}/materials",
                {"csrf_token": token, "form": "video", "title": "新闻发布会"},
                files={"file": ("发布会.mp4", fh, "video/mp4")},
            )
        growth = peak_mib() - before
        clerk.close()
        assert done.status_code == 303, done.text[:500]
        [(_, kind, sha)] = materials(web_db, doc)
        assert kind == "video/mp4" and (tmp_path / "files" / sha[:2] / sha[2:4] / sha).stat().st_size == (
            128 * 1024 * 1024
        )
        assert growth < 48, f"peak memory grew {growth:.0f} MiB for a 128 MiB upload"
