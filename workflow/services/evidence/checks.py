"""What a fetched page says, and whether it bears the claim out (docs/evidence.md, "The checks").

Pure: bytes and facts in, findings and reasons out; no network, no database, no clock.

* **Decoding**: the charset the server declares, else the page's own ``<meta charset>`` /
  ``http-equiv``, else detection (charset-normalizer); GB2312 and GBK are read as GB18030, their
  superset, since portals declare the narrower one and use the wider.
* **Names the document**: the page's text contains the document's title or its number, compared
  on letters and digits only (NFKC), so ``榕交〔2024〕1号`` matches ``榕交[2024]1号`` and a title
  broken by spaces or quoted in 《》 still matches.
* **Links**: every ``<a href>``, resolved against the page's final URL and compared without
  fragment or default port.
* **The page's date**: meta tags first (``PubDate``, ``publishdate``, ``article:published_time``,
  ``firstpublishedtime``, Dublin Core), else a labelled date in the text (发布时间, 发布日期,
  发表时间, 来源…时间, 时间, 日期 — never 成文日期, the day the text was signed). It is compared as a
  local date with the claimed instant: a page dated later than the claim is a mismatch.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from states import evidence as ev
from states.reasons import Reason
from workflow.services.evidence.fetcher import same_url

_WIDER = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.I)
_DECLARED = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_\-:.]+)", re.I)
HTML_TYPES = ("text/html", "application/xhtml+xml")

DATE = (
    r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[\sT]*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2}))?)?"
)
_DATE = re.compile(DATE)
# Labels before a page's own date, most specific first; 成文日期 (signed on) is never taken.
_LABELS = [
    re.compile(label + r"\s*[:：]?\s*" + DATE)
    for label in (
        r"发布时间",
        r"发布日期",
        r"发表时间",
        r"发表日期",
        r"发稿时间",
        r"更新时间",
        r"来源[:：][^:：]{0,40}?时间",
        r"(?<!成文)(?<!印发)(?<!生效)(?<!实施)日期",
        r"(?<!成文)时间",
    )
]
_META_DATES = (
    "pubdate",
    "publishdate",
    "publish_date",
    "publishtime",
    "publish-date",
    "article:published_time",
    "og:article:published_time",
    "firstpublishedtime",
    "dcterms.issued",
    "dc.date.issued",
    "dc.date",
    "dcterms.date",
    "date",
)


def charset_of(content_type: str | None) -> str | None:
    found = _DECLARED.search(content_type or "")
    return found.group(1).lower() if found else None


def _usable(name: str | None) -> str | None:
    if not name:
        return None
    name = _WIDER.get(name.lower(), name.lower())
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """The page as text, and the charset it was read with (see the module doc)."""
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8) :].decode("utf-8", "replace"), "utf-8"
    for candidate in (charset_of(content_type), _meta_charset(body)):
        name = _usable(candidate)
        if name:
            try:
                return body.decode(name), name
            except UnicodeDecodeError:
                continue  # declared wrongly: fall through to the next clue
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    name = _usable(best.encoding if best else None) or "utf-8"
    return body.decode(name, "replace"), name


def _meta_charset(body: bytes) -> str | None:
    found = _META_CHARSET.search(body[:8192])
    return found.group(1).decode("ascii", "ignore").lower() if found else None


class _Parser(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.links: list[str] = []
        self.metas: dict[str, str] = {}
        self.text: list[str] = []
        self._in_title = False
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"].strip())
        elif tag == "meta":
            key = (a.get("name") or a.get("property") or a.get("itemprop") or "").strip().lower()
            if key and key not in self.metas:
                self.metas[key] = a.get("content", "").strip()
        elif tag in ("br", "p", "div", "li", "tr", "td", "span", "h1", "h2", "h3"):
            self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skip:
            self.text.append(data)


@dataclass(frozen=True)
class Page:
    title: str
    text: str
    links: frozenset[str]
    metas: dict[str, str] = field(default_factory=dict)


def parse(html: str, base_url: str) -> Page:
    p = _Parser()
    try:
        p.feed(html)
        p.close()
    except Exception:
        pass
    links = frozenset(
        same_url(urljoin(base_url, href))
        for href in p.links
        if not href.lower().startswith(("javascript:", "mailto:", "#"))
    )
    text = re.sub(r"\s+", " ", "".join(p.text)).strip()
    return Page(re.sub(r"\s+", " ", "".join(p.title)).strip()[:500], text, links, p.metas)


def squeeze(text: str) -> str:
    """Letters and digits only, NFKC, lower case: how titles and numbers are compared."""
    return "".join(
        ch for ch in unicodedata.normalize("NFKC", text).lower() if unicodedata.category(ch)[0] in "LN"
    )


def _parse_date(m: re.Match[str]) -> date | datetime | None:
    try:
        day = date(int(m["y"]), int(m["m"]), int(m["d"]))
        if m["H"] is not None:
            return datetime(day.year, day.month, day.day, int(m["H"]), int(m["M"]), int(m["S"] or 0))
        return day
    except ValueError:
        return None


def page_date(page: Page) -> tuple[date | datetime | None, str | None]:
    """The date the page shows and where it was found (``meta:<name>`` or ``text:<label>``)."""
    for name in _META_DATES:
        value = page.metas.get(name)
        if value:
            found = _DATE.search(value)
            if found and (when := _parse_date(found)) is not None:
                return when, f"meta:{name}"
    for label in _LABELS:
        found = label.search(page.text)
        if found and (when := _parse_date(found)) is not None:
            return when, "text:" + found.group(0).split(found["y"])[0].strip(" :：")[:20]
    return None, None


@dataclass(frozen=True)
class Claim:
    """What the checked page should bear out."""

    channel: str
    doc_title: str
    doc_number: str | None
    claimed_at: datetime | None
    policy_url: str | None
    """For a posting: the policy page it should link to (the document's publication URL)."""
    policy_links: frozenset[str] | None = None
    """For a portal posting: the links on the policy page, to see whether it links back;
    ``None`` when the policy page could not be read."""
    policy_final_url: str | None = None


@dataclass(frozen=True)
class Analysis:
    status: str
    reasons: tuple[Reason, ...]
    title: str | None
    page_date: str | None
    findings: dict[str, Any]
    page: Page | None = None


def analyse(
    body: bytes,
    content_type: str | None,
    final_url: str,
    claim: Claim,
    tz: str,
    own_urls: tuple[str, ...] = (),
) -> Analysis:
    """Verified or mismatch, with every reason; ``own_urls``: the URLs this page is known by
    (as recorded and as finally fetched), to find the policy page's link back to it."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind and kind not in HTML_TYPES and not kind.startswith("text/"):
        return Analysis(
            ev.MISMATCH,
            (Reason("not_html", {"content_type": kind[:80]}),),
            None,
            None,
            {"content_type": kind},
        )
    html, charset = decode_html(body, content_type)
    page = parse(html, final_url)
    haystack = squeeze(page.title + " " + page.text)
    names_title = bool(squeeze(claim.doc_title)) and squeeze(claim.doc_title) in haystack
    names_number = (
        bool(claim.doc_number and squeeze(claim.doc_number)) and squeeze(claim.doc_number or "") in haystack
    )
    when, where = page_date(page)
    findings: dict[str, Any] = {
        "charset": charset,
        "names_title": names_title,
        "names_number": names_number,
        "date_source": where,
        "links": len(page.links),
    }
    reasons: list[Reason] = []
    if not (names_title or names_number):
        reasons.append(Reason("title_not_found"))
    if claim.channel != ev.PUBLICATION and claim.policy_url:
        targets = {same_url(claim.policy_url)} | (
            {same_url(claim.policy_final_url)} if claim.policy_final_url else set()
        )
        links_to_policy = bool(targets & page.links)
        findings["links_to_policy"] = links_to_policy
        if claim.policy_links is not None and links_to_policy:
            findings["links_back"] = bool({same_url(u) for u in own_urls if u} & claim.policy_links)
        if claim.channel == "portal":  # 政策文件与解读材料相互关联: required on the portal
            if not links_to_policy:
                reasons.append(Reason("no_policy_link", {"url": claim.policy_url}))
            elif findings.get("links_back") is False:
                reasons.append(Reason("no_back_link"))
    if when is not None and claim.claimed_at is not None:
        claimed_local = claim.claimed_at.astimezone(ZoneInfo(tz))
        shown = when if not isinstance(when, datetime) else when.date()
        if shown > claimed_local.date():
            reasons.append(
                Reason(
                    "date_later",
                    {
                        "page_date": when.isoformat(sep=" ")
                        if isinstance(when, datetime)
                        else when.isoformat(),
                        "claimed": claimed_local.strftime("%Y-%m-%d %H:%M"),
                    },
                )
            )
    status = ev.MISMATCH if reasons else ev.VERIFIED
    shown_date = (
        None
        if when is None
        else (when.isoformat(sep=" ") if isinstance(when, datetime) else when.isoformat())
    )
    return Analysis(status, tuple(reasons), page.title or None, shown_date, findings, page)
