"""Small real files of each type a material may carry, made by the tests (no binary fixtures in
the repository): a PNG, a JPEG, a GIF, a PDF, a DOCX, an XLSX (openpyxl), a PPTX, an MP4, a
WebM and a QuickTime movie, each as its format lays out (signatures, boxes, zip parts)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from openpyxl import Workbook


def png(pixel: bytes = b"\xff\x00\x00") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" + pixel))
        + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    return bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300" + "01" * 64 + "ffd9")


def gif() -> bytes:
    return b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


def pdf(text: str = "interpretation") -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%" + text.encode()[:20] + b"\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _ooxml(main: str, content_type: str, xml: str) -> bytes:
    buf = io.BytesIO()
    stamp = (2024, 2, 9, 10, 0, 0)  # fixed, so the same call gives the same bytes (and hash)

    def entry(name: str) -> zipfile.ZipInfo:
        return zipfile.ZipInfo(name, date_time=stamp)

    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            entry("[Content_Types].xml"),
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/{main}" ContentType="{content_type}"/></Types>',
        )
        z.writestr(
            entry("_rels/.rels"),
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships/officeDocument" Target="{main}"/></Relationships>',
        )
        z.writestr(entry(main), xml)
    return buf.getvalue()


def docx(text: str = "问:…答:…") -> bytes:
    return _ooxml(
        "word/document.xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
        f"<w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
    )


def pptx() -> bytes:
    return _ooxml(
        "ppt/presentation.xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>',
    )


def xlsx() -> bytes:
    wb = Workbook()
    wb.active.append(["问题", "回答"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def mp4_header() -> bytes:
    """An ISO base media file's opening: ftyp (isom) then free; an mdat may follow."""
    return struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00isomiso2" + struct.pack(">I", 8) + b"free"


def mp4() -> bytes:
    payload = b"\x00" * 64
    return mp4_header() + struct.pack(">I", 8 + len(payload)) + b"mdat" + payload


def mov() -> bytes:
    return struct.pack(">I", 20) + b"ftypqt  " + b"\x00\x00\x02\x00qt  " + struct.pack(">I", 8) + b"free"


def webm() -> bytes:
    return bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d4287810242858102")


EVERY = {
    "png": png,
    "jpeg": jpeg,
    "gif": gif,
    "pdf": pdf,
    "docx": docx,
    "xlsx": xlsx,
    "pptx": pptx,
    "mp4": mp4,
    "mov": mov,
    "webm": webm,
}
