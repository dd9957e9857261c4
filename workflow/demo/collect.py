"""The facts of a finished demo, read back from its database, mail folder and audit trail.

Everything the summary shows is collected here from the demo's own files after the run — the
documents, the escalation records, the outbox rows with the ``.eml`` files the worker wrote, and
the audit trail as ``audit.verify`` sees it — as JSON-ready data (``santongbu demo --json``).
Turning that data into text is :mod:`workflow.demo.report`'s job.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from states.lifecycle import State

# Audit actions too frequent to help in a one-line timeline (they are all in the trail).
QUIET_ACTIONS = frozenset({"email_queued", "email_sent", "email_retry", "email_not_queued"})


def _keyring(settings: Any) -> Any:
    from workflow.kernel.auditkeys import load_keyring

    return load_keyring(settings.audit_key_file) if settings.audit_key_file else None


def collect(run: Any) -> dict[str, Any]:
    """The facts of a finished :class:`workflow.demo.run.DemoRun`, JSON-ready."""
    from notifications.content import subject_of
    from notifications.transports.folder import file_name
    from states.deadline import is_late, working_days_overdue
    from workflow.kernel import audit
    from workflow.kernel.calendar import calendar_for
    from workflow.kernel.models import AuditEvent, Document, Escalation, Signature, Signer, Unit, User
    from workflow.kernel.models.outbox import OutboxMessage
    from workflow.services.sweep import ladder_for

    settings, now = run.settings, run.clock.now()
    mail = Path(settings.mail_folder)
    keys = {doc_id: key for key, doc_id in run.ids.items()}
    with run.db.transaction() as s:
        calendar = calendar_for(s, settings)
        units = {u.id: u for u in s.scalars(select(Unit))}
        logins = {u.id: u.login for u in s.scalars(select(User))}
        outbox = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

        def email_view(row: OutboxMessage) -> dict[str, Any]:
            path = mail / file_name(row.id)
            return {
                "outbox_id": row.id,
                "event": row.event,
                "document_id": row.document_id,
                "subject": subject_of(row),
                "status": row.status,
                "to": [r["address"] for r in row.to_list],
                "cc": [r["address"] for r in row.cc_list],
                "file": str(path),
                "file_exists": path.exists(),
            }

        emails = [email_view(r) for r in outbox]
        by_doc_event = {(e["document_id"], e["event"]): e for e in emails}
        documents = []
        for doc in s.scalars(select(Document).order_by(Document.id)):
            esc = [
                {
                    "level": e.level,
                    "fired_at": e.fired_at,
                    "working_days_overdue": e.working_days_overdue,
                    "email": by_doc_event.get((doc.id, ladder_for(settings).rung(e.level).event)),
                }
                for e in s.scalars(
                    select(Escalation).where(Escalation.document_id == doc.id).order_by(Escalation.id)
                )
            ]
            signers = [
                logins[x.user_id] for x in s.scalars(select(Signer).where(Signer.document_id == doc.id))
            ]
            signed = {
                logins[x.user_id]
                for x in s.scalars(
                    select(Signature).where(Signature.document_id == doc.id, Signature.voided_at.is_(None))
                )
            }
            events = list(
                s.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.chain == audit.chain_for(doc.id))
                    .order_by(AuditEvent.seq)
                )
            )
            overdue_now = (
                working_days_overdue(doc.due_at, now, calendar, settings.timezone)
                if doc.state == State.PUBLISHED and doc.due_at
                else None
            )
            documents.append(
                {
                    "id": doc.id,
                    "key": keys.get(doc.id),
                    "title": doc.title,
                    "doc_number": doc.doc_number,
                    "unit": units[doc.unit_id].code,
                    "unit_name": units[doc.unit_id].name,
                    "state": doc.state,
                    "published_at": doc.published_at,
                    "due_at": doc.due_at,
                    "due_provisional": doc.due_provisional,
                    "posted_at": doc.posted_at,
                    "on_time": doc.on_time,
                    "working_days_taken": doc.working_days_taken,
                    "working_days_late": doc.working_days_late,
                    "late_now": bool(
                        doc.state == State.PUBLISHED and doc.due_at and is_late(doc.due_at, now)
                    ),
                    "working_days_overdue_now": overdue_now,
                    "closed_reason": doc.closed_reason,
                    "awaiting_signatures": sorted(set(signers) - signed)
                    if doc.state == State.JOINT_SIGNOFF
                    else [],
                    "escalations": esc,
                    "audit_events": len(events),
                    "timeline": [
                        {
                            "at": e.at,
                            "actor": e.actor,
                            "action": e.action,
                            "outcome": e.outcome,
                            "state_before": e.state_before,
                            "state_after": e.state_after,
                            "details": json.loads(e.details),
                        }
                        for e in events
                        if e.action not in QUIET_ACTIONS
                    ],
                }
            )
    from workflow.kernel.audit_verify import VerifyOptions, verify

    with run.db.snapshot() as s:
        report = verify(
            s,
            VerifyOptions(
                keyring=_keyring(settings) or audit.current_keyring(), anchors=settings.audit_export_dir
            ),
        )
    statuses = {
        st: sum(1 for e in emails if e["status"] == st) for st in ("sent", "pending", "sending", "failed")
    }
    by_event: dict[str, int] = {}
    for e in emails:
        by_event[e["event"]] = by_event.get(e["event"], 0) + 1
    return {
        "folder": str(run.folder),
        "database": str(run.folder / "santongbu.db"),
        "mail_folder": str(mail),
        "as_of": now,
        "seconds": round(run.seconds, 1),
        "ladder": [
            r.as_dict() | {"when": r.describe("en"), "when_zh": r.describe("zh")}
            for r in ladder_for(settings).rungs
        ],
        "steps": [
            {
                "at": st.at,
                "note_zh": st.note[0],
                "note_en": st.note[1],
                "fired": [{"document_id": d, "level": lv} for d, lv in st.fired],
                "emails_sent": st.emails_sent,
            }
            for st in run.steps
        ],
        "documents": documents,
        "emails": {
            "total": len(emails),
            **statuses,
            "by_event": by_event,
            "eml_files": len(list(mail.glob("*.eml"))),
            "list": emails,
        },
        "audit": report.as_dict() | {"checkpoint": run.checkpoint},
    }
