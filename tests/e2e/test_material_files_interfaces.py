"""Material files through every interface: ``doc attach --file`` with any file, ``doc
replace-file`` and ``doc download``; multipart uploads, downloads (types, ranges, ETag) and
refusals over HTTP; the document page showing images and videos and offering downloads."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from tests.api_support import api_env
from tests.factories import SAMPLE, to_plan
from tests.material_files import docx, mp4, pdf, png, webm
from tests.web_support import PASSWORD, Session, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.entrypoints.cli.main import app
from workflow.services.documents import Workflow

NOW = "2024-02-09T10:00+08:00"


def test_cli_attach_any_file_replace_and_download(db, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANTONGBU_BLOB_FOLDER", str(tmp_path / "files"))

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, ["--db", db.url, "--now", NOW, *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    assert run("unit", "import", str(SAMPLE))[0] == 0
    out = run(
        "doc",
        "create",
        "--as",
        "liu.spc",
        "--title",
        "福州市网约车管理办法",
        "--disclosure",
        "proactive",
        "--no-risk",
        "--json",
    )[1]
    doc = str(json.loads(out)["document_id"])
    (tmp_path / "一图读懂.png").write_bytes(png())
    (tmp_path / "问答.txt").write_text("问:…答:…", encoding="utf-8")
    code, out, _ = run(
        "doc",
        "attach",
        doc,
        "--as",
        "liu.spc",
        "--form",
        "graphic",
        "--title",
        "一图读懂",
        "--file",
        "一图读懂.png",
        "--json",
    )
    assert code == 0, out
    details = json.loads(out)["details"]
    assert (
        details["file"]["type"] == "image/png"
        and details["file"]["sha256"] == hashlib.sha256(png()).hexdigest()
    )
    code, out, _ = run(
        "doc", "attach", doc, "--as", "liu.spc", "--form", "qa", "--title", "问答", "--file", "问答.txt"
    )
    assert code == 0 and "已添加解读材料" in out  # a text file is the material's text, as before
    shown = json.loads(run("doc", "show", doc, "--as", "liu.spc", "--json")[1])
    assert [(m["form"], m["body"], m["file_type"]) for m in shown["materials"]] == [
        ("graphic", None, "image/png"),
        ("qa", "问:…答:…", None),
    ]
    mid = str(details["material_id"])
    (tmp_path / "新图.pdf").write_bytes(pdf())
    code, out, _ = run("doc", "replace-file", doc, mid, "--file", "新图.pdf", "--as", "liu.spc")
    assert code == 0 and "已更换文件" in out
    code, out, _ = run("doc", "download", doc, mid, "--as", "lin.zfc", "-o", str(tmp_path / "got.pdf"))
    assert code == 0 and (tmp_path / "got.pdf").read_bytes() == pdf()
    code, out, err = run("doc", "download", doc, mid, "--as", "xu.kxc")
    assert code == 2 and "Traceback" not in out + err


def test_multipart_upload_download_and_refusals_over_http(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with api_env(db, tmp_path / "mail") as env:  # files go to tmp_path / "files"
        doc = to_plan(env.wf)
        clerk = env.client("clerk")
        video = mp4()
        up = clerk.post(
            f"/documents/{doc}/materials/file",
            data={"form": "video", "title": "新闻发布会"},
            files={"file": ("发布会.mp4", video, "application/octet-stream")},
        )
        assert up.status_code == 201, up.text
        mid = up.json()["details"]["material_id"]
        assert up.json()["details"]["file"]["type"] == "video/mp4" and up.headers["etag"]
        got = env.client("supervisor").get(f"/documents/{doc}/materials/{mid}/file")
        assert got.status_code == 200 and got.content == video
        assert got.headers["content-type"] == "video/mp4"
        assert (
            got.headers["content-disposition"].startswith("inline;")
            and "nosniff" in got.headers["x-content-type-options"]
        )
        assert got.headers["etag"] == f'"{hashlib.sha256(video).hexdigest()}"'
        part = env.client("supervisor").get(
            f"/documents/{doc}/materials/{mid}/file", headers={"Range": "bytes=4-11"}
        )
        assert part.status_code == 206 and part.content == video[4:12]  # a video seeks
        assert env.client("other_clerk").get(f"/documents/{doc}/materials/{mid}/file").status_code == 403
        wrong = clerk.post(
            f"/documents/{doc}/materials/file",
            data={"form": "video", "title": "x"},
            files={"file": ("x.mp4", pdf(), "video/mp4")},
        )  # the client's word is not taken
        assert wrong.status_code == 422 and "pdf" in wrong.text
        office = clerk.post(
            f"/documents/{doc}/materials/file",
            data={"form": "qa", "title": "问答"},
            files={"file": ("问答.docx", docx(), "application/octet-stream")},
        )
        oid = office.json()["details"]["material_id"]
        assert (
            clerk.get(f"/documents/{doc}/materials/{oid}/file")
            .headers["content-disposition"]
            .startswith("attachment;")
        )
        swap = clerk.put(
            f"/documents/{doc}/materials/{mid}/file", files={"file": ("新.webm", webm(), "video/webm")}
        )
        assert swap.status_code == 200, swap.text
        assert swap.json()["details"]["previous"] == hashlib.sha256(video).hexdigest()
    assert sorted(p.name for p in (tmp_path / "files").rglob("*") if p.is_file()) == sorted(
        hashlib.sha256(x).hexdigest() for x in (docx(), webm())
    )  # the replaced video's blob went


def test_the_document_page_shows_images_and_videos(web_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with web_env(web_db, tmp_path, people=None) as env:  # files go to tmp_path / "files"
        wf = Workflow(web_db, env.clock, env.settings)
        doc = to_plan(wf)
        image = wf.attach_file(
            "liu.spc",
            doc,
            form="graphic",
            title="一图读懂",
            source=io.BytesIO(png()),
            filename="一图读懂.png",
        ).details["material_id"]
        s = Session(env.base_url)
        s.sign_in("liu.spc", PASSWORD)
        page = s.get(f"/web/documents/{doc}").text
        url = f"/web/documents/{doc}/materials/{image}/file"
        assert f'<img src="{url}"' in page and f'href="{url}?download=1"' in page
        shown = s.get(url)
        assert (
            shown.status_code == 200
            and shown.content == png()
            and shown.headers["content-type"] == "image/png"
        )
        assert "sandbox" in shown.headers["content-security-policy"]
        assert s.get(url + "?download=1").headers["content-disposition"].startswith("attachment;")
        s.close()
        other = Session(env.base_url)
        other.sign_in("xu.kxc", PASSWORD)
        assert other.get(url).status_code == 403
        other.close()
