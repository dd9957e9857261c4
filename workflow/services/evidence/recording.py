"""Writing one evidence check: the row, its audit event, the alert email (docs/evidence.md).

Split from :mod:`workflow.services.evidence.service` so that module keeps the run — what is due,
fetching, judging the outcome — while this one owns the transaction that records a result:
the compare-and-set on the previous current check, ``evidence_checked`` in the audit chain and,
once a page has been bad long enough, the ``evidence_problem`` email (one per bad episode).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from notifications.outbox import Request, enqueue_many
from notifications.render import format_instant
from states import evidence as ev
from states.catalogue import label
from states.reasons import Reason
from states.snapshot import SYSTEM
from workflow.kernel import audit
from workflow.kernel.models import Document, EvidenceCheck
from workflow.kernel.settings import Settings
from workflow.services.evidence.due import Due
from workflow.services.evidence.results import Checked

ACTION = "evidence_checked"
EMAIL = "evidence_problem"


class _Raced(Exception):
    """The previous check stopped being current meanwhile: another checker recorded first."""


def write_check(
    session: Session,
    d: Due,
    values: dict[str, Any],
    reasons: list[Reason],
    alert: bool,
    now: datetime,
    settings: Settings,
) -> Checked:
    """Record one check in ``session``: the previous check no longer current (a compare-and-set;
    :class:`_Raced` when another checker got there first), the new row, its audit event and,
    when ``alert``, the deduplicated email to the drafting unit."""
    if d.previous is not None:
        moved = session.execute(
            update(EvidenceCheck)
            .where(EvidenceCheck.id == d.previous.id, EvidenceCheck.is_current.is_(True))
            .values(is_current=False)
        )
        if cast(CursorResult[Any], moved).rowcount != 1:
            raise _Raced()
    row = EvidenceCheck(**values)
    session.add(row)
    session.flush()
    doc = session.get_one(Document, d.document_id)
    details = {
        "check_id": row.id,
        "target": d.target,
        "channel": d.channel,
        "posting_id": d.posting_id,
        "url": row.url,
        "final_url": row.final_url,
        "status": row.status,
        "reasons": reasons,
        "http_status": row.http_status,
        "sha256": row.sha256,
        "size": row.size,
        "page_date": row.page_date,
        "change": row.change,
        "attempts": row.attempts,
        "next_check_at": row.next_check_at,
    }
    entries = [
        audit.Entry(
            now,
            SYSTEM,
            ACTION,
            document_id=doc.id,
            state_before=doc.state,
            state_after=doc.state,
            details=details,
        )
    ]
    emails: tuple[int, ...] = ()
    if alert:
        assert row.bad_since is not None
        key = f"evidence:{d.target}:{int(row.bad_since.timestamp())}"
        (queued,) = enqueue_many(
            session,
            [Request(EMAIL, doc, {"evidence": _words(row, reasons, settings)}, key)],
            at=now,
            settings=settings,
            actor=SYSTEM,
        )
        entries.extend(queued.entries)
        emails = queued.outbox_ids
    audit.append_many(session, entries)
    return Checked(
        d.document_id,
        d.posting_id,
        d.channel,
        d.url,
        row.status,
        tuple(reasons),
        now,
        row.sha256,
        row.change or "",
        row.id,
        True,
        emails,
    )


def _words(row: EvidenceCheck, reasons: list[Reason], settings: Settings) -> dict[str, Any]:
    """The email's facts about the page, in the installation's language."""
    lang, tz = settings.language, settings.timezone
    channel = ("政策文件", "policy") if row.channel == ev.PUBLICATION else None
    return {
        "channel": (channel[0] if lang == "zh" else channel[1])
        if channel
        else label("channel", row.channel, lang),
        "status": label("evidence", row.status, lang),
        "url": row.url,
        "since": format_instant(row.bad_since, lang, tz),
        "checked_at": format_instant(row.checked_at, lang, tz),
        "reasons": [r.text(lang) for r in reasons],
    }
