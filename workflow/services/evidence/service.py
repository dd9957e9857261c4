"""The evidence checker: which pages are due, fetching them, recording what was found
(docs/evidence.md).

A run (beat's ``santongbu.check_evidence``, or ``santongbu evidence check``) takes the pages due
now — the publication page of each published or posted document and each posting's URL, never
checked or whose ``next_check_at`` has come — fetches them outside any transaction, analyses
them, keeps each page that answered in the WARC store, and records each result in a transaction
of its own: the new ``evidence_checks`` row, the previous one no longer current (a
compare-and-set: a racing checker that recorded first wins and this result is dropped), its
``evidence_checked`` audit event and, when the page has been bad for a day, the
``evidence_problem`` email to the drafting unit (deduplicated per bad episode).

The due pages are chosen in :mod:`.due`, the result types live in :mod:`.results` and a
result is written by :mod:`.recording`; their names are re-exported here for callers.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from states import evidence as ev
from states.reasons import Reason
from workflow.kernel import audit
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange, NotFound
from workflow.kernel.models import EvidenceCheck
from workflow.kernel.settings import Settings
from workflow.services.evidence.checks import Analysis, Claim, analyse, decode_html, parse
from workflow.services.evidence.due import Due, due_pages
from workflow.services.evidence.fetcher import Fetched, Fetcher
from workflow.services.evidence.queries import reasons_of, target_of
from workflow.services.evidence.recording import ACTION, EMAIL, _Raced, write_check
from workflow.services.evidence.results import Checked, CheckRun, Reader, Shown
from workflow.services.evidence.store import EvidenceStore

__all__ = [
    "ACTION",
    "ATTEMPTS",
    "EMAIL",
    "CheckRun",
    "Checked",
    "Due",
    "Evidence",
    "Reader",
    "Shown",
    "due_pages",
    "schedule_for",
]

log = logging.getLogger("santongbu.evidence")
ATTEMPTS = 3


def schedule_for(settings: Settings) -> ev.Schedule:
    return ev.Schedule(
        recheck_after=timedelta(days=settings.evidence_recheck_days),
        retry_for=timedelta(days=settings.evidence_retry_days),
        retry_base=timedelta(seconds=settings.evidence_retry_base_seconds),
        retry_max=timedelta(seconds=settings.evidence_retry_max_seconds),
        alert_after=timedelta(hours=settings.evidence_alert_after_hours),
    )


class Evidence:
    """Checks pages and reads what was found (docs/evidence.md)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        fetcher: Fetcher,
        store: EvidenceStore,
        reader: Reader | None = None,
    ) -> None:
        self.reader = reader
        self.db = db
        self.clock = clock
        self.settings = settings
        self.fetcher = fetcher
        self.store = store
        self.schedule = schedule_for(settings)

    # ------------------------------------------------------------------ reading
    def show(self, login: str, check_id: int) -> Shown:
        """The check ``check_id`` and its kept page, for a reader of its document."""
        with self.db.transaction() as session:
            row = session.get(EvidenceCheck, check_id)
            if row is None:
                raise NotFound(Reason("no_such_check", {"id": check_id}))
            session.expunge(row)
        if self.reader is None:
            raise RuntimeError("Evidence.show needs the documents service (bootstrap hands it)")
        self.reader.read_document(login, row.document_id)  # authorises; audits a refusal
        check = {
            c.name: getattr(row, c.name)
            for c in EvidenceCheck.__table__.columns
            if c.name not in ("reasons", "findings", "is_current")
        }
        check.update(
            reasons=list(reasons_of(row, self.settings.language)),
            findings=row.finding_map,
            current=row.is_current,
        )
        page = self.store.read(row.sha256) if row.sha256 else None
        return Shown(
            check,
            page.headers if page else None,
            page.body if page else None,
            str(self.store.path(row.sha256)) if page and row.sha256 else None,
        )

    # ------------------------------------------------------------------ checking
    def check_due(self, *, limit: int | None = None) -> CheckRun:
        """Check every page due now (at most ``limit``, default ``evidence_batch_size``)."""
        now = self.clock.now()
        with self.db.transaction() as session:
            due = due_pages(session, now, limit or self.settings.evidence_batch_size)
        run = CheckRun(now)
        if not due:
            return run
        fetched = dict(
            zip((d.target for d in due), self.fetcher.fetch_all([d.url for d in due]), strict=True)
        )
        analyses = {
            d.target: self._analyse(d, fetched[d.target], None) for d in due if d.channel == ev.PUBLICATION
        }
        policy = self._policy_pages(due, fetched, analyses)
        for d in due:
            f = fetched[d.target]
            analysis = analyses.get(d.target) or self._analyse(d, f, policy.get(d.document_id))
            run.checked.append(self._record(d, f, analysis, now))
        log.info(
            "evidence as of %s: %s",
            now.isoformat(),
            ", ".join(f"{s} {run.count(s)}" for s in ev.RECORDED if run.count(s)) or "nothing recorded",
        )
        return run

    def _policy_pages(
        self, due: list[Due], fetched: dict[str, Fetched], analyses: dict[str, Analysis | None]
    ) -> dict[int, tuple[frozenset[str], str]]:
        """The links on each policy page a portal posting of this run should be linked back
        from: fetched in this run, else the kept copy of its current check, else fetched now."""
        wanted = {d.document_id for d in due if d.channel == "portal" and d.publication_url}
        pages: dict[int, tuple[frozenset[str], str]] = {}
        for doc_id in wanted:
            a = analyses.get(target_of(doc_id, None))
            f = fetched.get(target_of(doc_id, None))
            if a is not None and a.page is not None and f is not None and f.final_url:
                pages[doc_id] = (a.page.links, f.final_url)
        missing = wanted - set(pages)
        if missing:
            with self.db.transaction() as session:
                kept = {
                    r.document_id: r
                    for r in session.scalars(
                        select(EvidenceCheck).where(
                            EvidenceCheck.document_id.in_(missing),
                            EvidenceCheck.posting_id.is_(None),
                            EvidenceCheck.is_current.is_(True),
                            EvidenceCheck.sha256.is_not(None),
                        )
                    )
                }
            for doc_id, row in kept.items():
                page = self.store.read(row.sha256) if row.sha256 else None
                if page is not None:
                    html, _ = decode_html(page.body, page.content_type)
                    base = row.final_url or row.url
                    pages[doc_id] = (parse(html, base).links, base)
        urls = {d.document_id: d.publication_url for d in due if d.document_id in wanted - set(pages)}
        for doc_id, f in zip(urls, self.fetcher.fetch_all([u for u in urls.values() if u]), strict=True):
            if f.ok and f.status is not None and f.status < 300 and f.body is not None and f.final_url:
                html, _ = decode_html(f.body, f.content_type)
                pages[doc_id] = (parse(html, f.final_url).links, f.final_url)
        return pages

    def _analyse(self, d: Due, f: Fetched, policy: tuple[frozenset[str], str] | None) -> Analysis | None:
        if not f.ok or f.status is None or f.status >= 300 or f.body is None or not f.final_url:
            return None
        claim = Claim(
            d.channel,
            d.doc_title,
            d.doc_number,
            d.claimed_at,
            d.publication_url,
            policy[0] if policy else None,
            policy[1] if policy else None,
        )
        return analyse(
            f.body, f.content_type, f.final_url, claim, self.settings.timezone, own_urls=(d.url, f.final_url)
        )

    def _outcome(
        self, d: Due, f: Fetched, analysis: Analysis | None, now: datetime
    ) -> tuple[str, list[Reason], str, str | None]:
        """Status, reasons, how the page compares with the check before, and the SHA-256 of
        the page kept (a page that answered is kept, whatever the analysis found)."""
        prev = d.previous
        if analysis is None:
            reason = f.failure or Reason("http_status", {"status": f.status})
            reasons = [reason]
            if prev is not None and prev.status != ev.UNREACHABLE:
                if prev.status == ev.VERIFIED:
                    reasons.insert(0, Reason("disappeared"))
                return ev.UNREACHABLE, reasons, ev.DISAPPEARED, None
            return ev.UNREACHABLE, reasons, ev.FIRST if prev is None else ev.SAME, None
        assert f.body is not None and f.status is not None
        sha = self.store.put(
            url=f.final_url or d.url,
            status=f.status,
            reason="",
            headers=f.headers,
            body=f.body,
            fetched_at=now,
            address=f.address,
        )
        change = ev.FIRST if prev is None else ev.SAME if prev.sha256 == sha else ev.CHANGED
        return analysis.status, list(analysis.reasons), change, sha

    def _record(self, d: Due, f: Fetched, analysis: Analysis | None, now: datetime) -> Checked:
        status, reasons, change, sha = self._outcome(d, f, analysis, now)
        prev = d.previous
        same_episode = prev is not None and prev.status in ev.BAD and status in ev.BAD
        bad_since = (
            (prev.bad_since if same_episode and prev and prev.bad_since else now)
            if status in ev.BAD
            else None
        )
        attempts = (
            (prev.attempts + 1 if prev and prev.status == ev.UNREACHABLE else 1)
            if status == ev.UNREACHABLE
            else 0
        )
        alerted_before = bool(same_episode and prev and prev.alerted)
        alert = ev.alert_due(status, bad_since, alerted_before, now, self.schedule)
        next_at = ev.next_check(
            status,
            now=now,
            bad_since=bad_since,
            attempts=attempts,
            alerted=alerted_before or alert,
            schedule=self.schedule,
        )
        findings: dict[str, Any] = dict(analysis.findings) if analysis else {}
        findings.update(
            {
                "hops": f.hops,
                "address": f.address,
                "attempts": attempts,
                "given_up": ev.given_up(status, bad_since, now, self.schedule),
            }
        )
        values = dict(
            target=d.target,
            document_id=d.document_id,
            posting_id=d.posting_id,
            channel=d.channel,
            url=d.url[:2000],
            checked_at=now,
            status=status,
            reasons=json.dumps(
                [{"code": r.code, "params": dict(r.params)} for r in reasons], ensure_ascii=False, default=str
            ),
            http_status=f.status,
            final_url=(f.final_url or None) and f.final_url[:2000],
            content_type=(f.content_type or None) and (f.content_type or "")[:200],
            size=len(f.body) if f.body is not None else None,
            sha256=sha,
            title=analysis.title if analysis else None,
            page_date=analysis.page_date if analysis else None,
            claimed_at=d.claimed_at,
            change=change,
            findings=audit.dump_details(findings),
            attempts=attempts,
            bad_since=bad_since,
            alerted=alerted_before or alert,
            next_check_at=next_at,
            is_current=True,
        )
        for attempt in range(ATTEMPTS):
            try:
                with self.db.transaction() as session:
                    return write_check(session, d, values, reasons, alert, now, self.settings)
            except (IntegrityError, _Raced):
                log.info("evidence: %s was recorded by another checker meanwhile", d.target)
                break
            except ConcurrentChange:
                if attempt == ATTEMPTS - 1:
                    log.warning("evidence: %s left for the next run: its audit chain kept moving", d.target)
        return Checked(
            d.document_id,
            d.posting_id,
            d.channel,
            d.url,
            status,
            tuple(reasons),
            now,
            sha,
            change,
            None,
            False,
        )
