"""Reading a file of documents in progress (.xlsx, or .csv in UTF-8 or GBK) into checked rows.

One row per document, a header row first. Headers may be the English keys or the Chinese
names below (the template ``santongbu doc import --template`` writes); values may be codes or
the Chinese labels of :mod:`states.catalogue` (``公开``, ``主动公开``, ``图解``, ``是``/``否``).
Times are local wall-clock time in the working zone (``2024-02-09 10:00``) unless they carry an
offset; an Excel date-time cell is read as local time. Lists (signers, materials) are
separated by ``;``, ``；``, ``,`` or ``、``.

Every row is checked on its own here (:func:`read_rows`), and every problem of every row is
reported at once, each naming its row and column; what needs the database (units, users,
duplicates) is checked by :mod:`workflow.services.documents.bulk_import`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from states import catalogue
from states.deadline import zone
from states.instants import check_instant
from states.lifecycle import State
from states.snapshot import CHANNELS, DISCLOSURES, MATERIAL_FORMS, REQUIRED_CHANNELS
from workflow.services.table_files import FileProblem, read_grid, records

# key → (Chinese header, required)
COLUMNS: dict[str, tuple[str, bool]] = {
    "title": ("标题", True),
    "doc_number": ("文号", False),
    "unit": ("单位代码", True),
    "state": ("状态", True),
    "disclosure": ("公开属性", False),
    "risk_assessment_needed": ("需舆情风险评估", False),
    "risk_assessment": ("风险评估", False),
    "response_plan": ("应对处置预案", False),
    "body": ("正文", False),
    "plan": ("解读方案", False),
    "interpreter": ("解读人", False),
    "materials": ("解读材料", False),
    "signers": ("审签人", False),
    "signed": ("已签署", False),
    "published_at": ("公开时间", False),
    "publication_url": ("公开网址", False),
    "portal_posted_at": ("门户网站发布时间", False),
    "portal_url": ("门户网站网址", False),
    "news_media_posted_at": ("新闻媒体发布时间", False),
    "news_media_outlet": ("新闻媒体名称", False),
    "news_media_url": ("新闻媒体网址", False),
    "news_media_evidence": ("新闻媒体证明", False),
    "new_media_posted_at": ("政务新媒体发布时间", False),
    "new_media_outlet": ("政务新媒体名称", False),
    "new_media_url": ("政务新媒体网址", False),
    "closed_reason": ("撤回或归档理由", False),
}
_HEADER = {key: key for key in COLUMNS} | {zh: key for key, (zh, _) in COLUMNS.items()}
_LIST_SPLIT = re.compile(r"[;；,，、]\s*")
_YES = {"yes", "true", "1", "是", "y"}
_NO = {"no", "false", "0", "否", "n"}
SIGNED_STATES = frozenset({State.PUBLISHED, State.INTERPRETATION_POSTED, State.FILED})
MAX_ROWS = 10_000
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class Material:
    form: str
    title: str


@dataclass
class Posting:
    channel: str
    posted_at: datetime
    outlet: str | None = None
    url: str | None = None
    evidence: str | None = None


@dataclass
class Row:
    """One document as the file states it, values checked and converted."""

    number: int  # the line in the file (the header is 1)
    title: str
    unit: str
    state: State
    doc_number: str | None = None
    disclosure: str | None = None
    risk_assessment_needed: bool | None = None
    risk_assessment: str | None = None
    response_plan: str | None = None
    body: str = ""
    plan: str | None = None
    interpreter: str | None = None
    materials: list[Material] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)
    signed: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    publication_url: str | None = None
    postings: list[Posting] = field(default_factory=list)
    closed_reason: str | None = None

    def facts(self) -> dict[str, Any]:
        """What the ``imported`` audit event says the file stated."""
        return {
            "row": self.number,
            "state": self.state.value,
            "unit": self.unit,
            "title": self.title,
            "doc_number": self.doc_number,
            "disclosure": self.disclosure,
            "interpreter": self.interpreter,
            "materials": [[m.form, m.title] for m in self.materials],
            "signers": self.signers,
            "signed": self.signed,
            "published_at": self.published_at,
            "publication_url": self.publication_url,
            "postings": [
                {
                    "channel": p.channel,
                    "posted_at": p.posted_at,
                    "outlet": p.outlet,
                    "url": p.url,
                    "evidence": p.evidence,
                }
                for p in self.postings
            ],
            "closed_reason": self.closed_reason,
        }


def _code(kind: str, value: str, codes: tuple[str, ...]) -> str:
    """A code, or its Chinese or English label in the catalogue."""
    if value in codes:
        return value
    for code in codes:
        if value in (catalogue.label(kind, code, "zh"), catalogue.label(kind, code, "en")):
            return code
    raise ValueError(f"{value!r} is not one of {', '.join(codes)} (or their Chinese names)")


def _instant(value: Any, tz: str) -> datetime:
    if isinstance(value, datetime):
        return check_instant(value, tz)
    if isinstance(value, date):
        return check_instant(datetime.combine(value, time(0), tzinfo=zone(tz)), tz)
    text = str(value).strip().replace("/", "-")
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        raise ValueError(f"{value!r} is not a time such as 2024-02-09 10:00") from None
    return check_instant(parsed, tz)  # InstantError is a ValueError: reported with its row


def _url(value: str) -> str:
    if (
        not value.lower().startswith(("http://", "https://"))
        or any(c.isspace() for c in value)
        or len(value) > 2000
    ):
        raise ValueError("must be an http:// or https:// URL without spaces")
    return value


class _Reader:
    """Converts one row's cells, collecting a problem per bad cell instead of stopping."""

    def __init__(self, number: int, cells: dict[str, Any], tz: str) -> None:
        self.number, self.cells, self.tz = number, cells, tz
        self.problems: list[tuple[int, str, str]] = []

    def text(self, key: str, limit: int | None = None, *, line: bool = False) -> str | None:
        raw = self.cells.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        value = str(raw).strip() if line else str(raw).replace("\r\n", "\n")
        if limit is not None and len(value) > limit:
            self.problem(key, f"longer than {limit} characters")
        if line and ("\n" in value or "\r" in value):
            self.problem(key, "must be one line")
        return value

    def problem(self, key: str, message: str) -> None:
        """One problem per cell: the first (a value that could not be read is not also "required")."""
        if not any(p[1] == key for p in self.problems):
            self.problems.append((self.number, key, message))

    def convert(self, key: str, convert: Any) -> Any:
        raw = self.cells.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        try:
            return convert(raw if not isinstance(raw, str) else raw.strip())
        except ValueError as exc:
            self.problem(key, str(exc))
            return None

    def items(self, key: str) -> list[str]:
        value = self.text(key)
        return [v.strip() for v in _LIST_SPLIT.split(value) if v.strip()] if value else []


def check_row(number: int, cells: dict[str, Any], tz: str) -> tuple[Row | None, list[tuple[int, str, str]]]:
    """One row converted and checked against the lifecycle's facts for its state."""
    r = _Reader(number, cells, tz)
    title = r.text("title", 500, line=True)
    unit = r.text("unit", 64, line=True)
    state = r.convert("state", lambda v: State(_code("state", v, tuple(s.value for s in State))))
    for key, value in (("title", title), ("unit", unit), ("state", state)):
        if value is None:
            r.problem(key, "required")
    row = Row(number, title or "", unit or "", state or State.DRAFT)
    row.doc_number = r.text("doc_number", 200, line=True)
    row.disclosure = r.convert("disclosure", lambda v: _code("disclosure", v, DISCLOSURES))
    row.risk_assessment_needed = r.convert("risk_assessment_needed", _boolean)
    row.risk_assessment, row.response_plan = r.text("risk_assessment"), r.text("response_plan")
    row.body, row.plan = r.text("body") or "", r.text("plan")
    row.interpreter = r.text("interpreter", 64, line=True)
    for item in r.items("materials"):
        form, _, mtitle = item.partition(":") if ":" in item else item.partition("：")
        try:
            row.materials.append(
                Material(_code("form", form.strip(), MATERIAL_FORMS), (mtitle or form).strip()[:500])
            )
        except ValueError as exc:
            r.problem("materials", f"{item!r}: {exc}; write FORM:TITLE, e.g. 图解:一图读懂")
    row.signers, row.signed = r.items("signers"), r.items("signed")
    row.published_at = r.convert("published_at", lambda v: _instant(v, tz))
    row.publication_url = r.convert("publication_url", _url)
    for channel in CHANNELS:
        at = r.convert(f"{channel}_posted_at", lambda v: _instant(v, tz))
        url = r.convert(f"{channel}_url", _url)
        outlet = r.text(f"{channel}_outlet", 200, line=True)
        evidence = r.text(f"{channel}_evidence", 2000)
        if at is not None:
            if not (url or evidence):
                r.problem(f"{channel}_url", "a posting needs its URL or evidence")
            row.postings.append(Posting(channel, at, outlet, url, evidence))
        elif url or outlet or evidence:
            r.problem(f"{channel}_posted_at", "required with the posting's other facts")
    row.closed_reason = r.text("closed_reason", 2000)
    if state is not None:
        _check_state(r, row)
    return (row if not r.problems else None), r.problems


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(f"{value!r} is not 是/否 (yes/no)")


def _check_state(r: _Reader, row: Row) -> None:
    """What the lifecycle requires of a document that has reached ``row.state``."""
    s = row.state
    beyond_draft = s not in (State.DRAFT, State.WITHDRAWN)
    if beyond_draft and row.disclosure is None:
        r.problem("disclosure", f"required in state {s.value}")
    if beyond_draft and row.risk_assessment_needed is None:
        r.problem("risk_assessment_needed", f"required in state {s.value}")
    if s in (State.JOINT_SIGNOFF, *SIGNED_STATES):
        for key, value in (("plan", row.plan), ("interpreter", row.interpreter)):
            if not value:
                r.problem(key, f"required in state {s.value}")
        if not row.materials:
            r.problem("materials", f"at least one in state {s.value}")
        if not row.signers:
            r.problem("signers", f"required in state {s.value}")
        if row.risk_assessment_needed and not (row.risk_assessment and row.response_plan):
            r.problem("risk_assessment", "a flagged risk needs the assessment and the response plan")
    if s in SIGNED_STATES and not row.signed:
        row.signed = list(row.signers)  # a package that went on was signed by all its signers
    unknown = [x for x in row.signed if x not in row.signers]
    if unknown:
        r.problem("signed", f"not among the signers: {', '.join(unknown)}")
    if s in SIGNED_STATES and set(row.signed) != set(row.signers):
        r.problem("signed", f"in state {s.value} every signer has signed")
    published = s in (State.PUBLISHED, State.INTERPRETATION_POSTED)
    if published:
        if row.published_at is None:
            r.problem("published_at", f"required in state {s.value}")
        if row.publication_url is None:
            r.problem("publication_url", f"required in state {s.value}")
        if row.disclosure == "not_disclosed":
            r.problem("disclosure", "a 不予公开 document is filed, never published")
    elif row.published_at or row.publication_url or row.postings:
        r.problem("published_at", f"a document in state {s.value} has no publication or postings")
    if s is State.FILED and row.disclosure not in (None, "not_disclosed"):
        r.problem("disclosure", "only a 不予公开 document is filed")
    channels = {p.channel for p in row.postings}
    if s is State.INTERPRETATION_POSTED and not set(REQUIRED_CHANNELS) <= channels:
        r.problem("portal_posted_at", "posted: a portal and a news-media posting are required")
    if s is State.PUBLISHED and set(REQUIRED_CHANNELS) <= channels:
        r.problem("state", "with a portal and a news-media posting the state is interpretation_posted")
    for p in row.postings:
        if row.published_at is not None and p.posted_at < row.published_at:
            r.problem(f"{p.channel}_posted_at", "before the publication")
    if s in (State.WITHDRAWN, State.FILED) and not row.closed_reason:
        r.problem("closed_reason", f"required in state {s.value}")


def read_rows(path: Path, tz: str) -> tuple[list[Row], list[tuple[int, str, str]]]:
    """Every row of the file, checked; the rows are usable only if there is no problem at all."""
    rows, problems = [], []
    for number, cells in _records(path):
        row, found = check_row(number, cells, tz)
        problems.extend(found)
        if row is not None:
            rows.append(row)
    if not rows and not problems:
        raise FileProblem("the file has a header but no documents")
    return rows, problems


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    grid = read_grid(path, max_bytes=MAX_BYTES)
    if not grid:
        raise FileProblem(f"{path.name} is empty")
    header = [_HEADER.get(str(h).strip().lstrip("\ufeff")) if h is not None else None for h in grid[0]]
    unknown = [str(h) for h, k in zip(grid[0], header, strict=True) if h not in (None, "") and k is None]
    if unknown:
        raise FileProblem(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    missing = [COLUMNS[k][0] + f" ({k})" for k, (_, req) in COLUMNS.items() if req and k not in header]
    if missing:
        raise FileProblem(f"missing column(s): {', '.join(missing)}")
    if len(grid) - 1 > MAX_ROWS:
        raise FileProblem(f"at most {MAX_ROWS} documents per file")
    for number, cells in records(grid, path.name):
        yield number, {_HEADER[k]: v for k, v in cells.items() if k in _HEADER}
