"""How ``santongbu doc show`` and ``santongbu doc list`` print a document for a person.

Split from :mod:`.doc_cmds` so the commands module keeps only argument handling and service
calls; everything here turns a service's view into text (instants in the working zone, claims,
evidence, corrections, the timeline) and touches no service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import typer

from states.catalogue import label
from states.deadline import overdue_words
from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _
from workflow.services.documents.views import (
    DocumentSummary,
    DocumentView,
    PostingView,
    PublicationClaimView,
    TimelineEvent,
)


def render_document(view: DocumentView, events: Sequence[TimelineEvent], lang: str, tz: str) -> None:
    """Print a document, its package, deadline, what is missing, and its timeline."""
    echo = typer.echo
    echo(
        _(
            "#{id} {title}  [{number}]  unit {unit}",
            id=view.id,
            title=view.title,
            number=view.doc_number or "-",
            unit=view.unit,
        )
    )
    echo(
        _(
            "  state: {state}   version {version}   disclosure {disclosure}",
            state=label("state", view.state, lang),
            version=view.version,
            disclosure=label("disclosure", view.disclosure, lang) or "-",
        )
    )
    echo(
        _(
            "  interpreter: {login}   package {hash}",
            login=view.interpreter or "-",
            hash=view.package_hash[:12],
        )
    )
    for m in view.materials:
        echo(_("  material {id}: [{form}] {title}", id=m.id, form=label("form", m.form, lang), title=m.title))
    for s in view.signers:
        echo(
            _(
                "  signer {login}: {status}",
                login=s.login,
                status=_("signed") if s.signed else _("not signed"),
            )
        )
    if view.published_at:
        echo(
            _(
                "  published {at} at {url}{claim}",
                at=_local(view.published_at, tz),
                url=view.publication_url,
                claim=_claim(view.publication, tz, publication=True),
            )
        )
    if view.due_at:
        flag = _(" (provisional: that year's holiday schedule is not loaded)") if view.due_provisional else ""
        echo(_("  interpretation due {at}{flag}", at=_local(view.due_at, tz), flag=flag))
    if view.publication_evidence is not None:
        echo(_("  policy page evidence: {evidence}", evidence=_evidence(view.publication_evidence, lang, tz)))
    for p in view.postings:
        echo(
            _(
                "  posted [{channel}] {outlet} {where} at {at}{claim}",
                channel=label("channel", p.channel, lang),
                outlet=p.outlet or "",
                where=p.url or p.evidence.note,
                at=_local(p.posted_at, tz),
                claim=_claim(p, tz),
            )
        )
        echo(_("    evidence: {evidence}", evidence=_evidence(p.evidence, lang, tz)))
    for c in view.corrections:
        echo(
            _(
                "  corrected {what} {at} by {by}: {reason} ({changes})",
                what=c.what,
                at=_local(c.at, tz),
                by=c.by,
                reason=c.reason,
                changes=_changes(c.before or {}, c.after or {}, tz),
            )
        )
    if view.on_time is not None:
        result = _("on time") if view.on_time else overdue_words(view.working_days_late or 0, lang)
        echo(
            _("  result: {result}, {days} working day(s) taken", result=result, days=view.working_days_taken)
        )
    for step in view.next_steps:
        sep = ";" if lang == "zh" else "; "
        status = _("ready") if step.ready else _("missing: {what}", what=sep.join(step.missing))
        echo(
            _(
                "  next: {name} ({trigger}): {status}",
                name=label("trigger", step.trigger, lang),
                trigger=step.trigger,
                status=status,
            )
        )
    if events:
        echo(_("  timeline:"))
        common.table(
            [_("No."), _("time"), _("by"), _("action"), _("outcome"), _("state"), _("via")],
            [
                [
                    e.seq,
                    _local(e.at, tz),
                    e.actor or _("system"),
                    label("action", e.action, lang),
                    label("outcome", e.outcome, lang),
                    f"{label('state', e.state_before, lang)} → {label('state', e.state_after, lang)}"
                    if e.state_before != e.state_after
                    else "",
                    e.channel or "",
                ]
                for e in events
            ],
        )


def render_list(docs: Sequence[DocumentSummary], lang: str, tz: str) -> None:
    """A table: id, unit, state, title and its due date (``?``: provisional)."""
    if not docs:
        typer.echo(_("no documents"))
        return
    common.table(
        [_("id"), _("unit"), _("state"), _("title"), _("due")],
        [
            [
                d.id,
                d.unit,
                label("state", d.state, lang),
                d.title,
                (_local(d.due_at, tz) + ("?" if d.due_provisional else "")) if d.due_at else "",
            ]
            for d in docs
        ],
    )


def _changes(before: Mapping[str, Any], after: Mapping[str, Any], tz: str) -> str:
    """What a correction changed, field by field (instants in the working zone)."""

    def shown(value: Any) -> str:
        if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
            try:
                return _local(datetime.fromisoformat(value), tz)
            except ValueError:
                return value
        return str(value)

    return "; ".join(
        f"{k} {shown(before.get(k))} → {shown(after.get(k))}"
        for k in after
        if k != "posting_id" and before.get(k) != after.get(k)
    )


def _claim(claim: PublicationClaimView | PostingView | None, tz: str, *, publication: bool = False) -> str:
    """How a claimed instant stands: recorded when, waiting for or confirmed by a supervisor."""
    if claim is None or claim.recorded_at is None or claim.migrated:
        return ""
    if claim.awaiting_confirmation:
        counts = _("the deadline runs from the claim") if publication else _("counts as recorded")
        return _(
            " (claimed; recorded {at}: CLAIM AWAITING CONFIRMATION, {counts})",
            at=_local(claim.recorded_at, tz),
            counts=counts,
        )
    if claim.confirmed_by:
        return _(
            " (recorded {at}; claim confirmed by {login})",
            at=_local(claim.recorded_at, tz),
            login=claim.confirmed_by,
        )
    return ""


def _evidence(e: Any, lang: str, tz: str = "Asia/Shanghai") -> str:
    """One line: status, when checked, the kept page's hash, the reasons (docs/evidence.md)."""
    parts = [label("evidence", e.status, lang)]
    if e.checked_at:
        parts.append(_("checked {at}", at=_local(e.checked_at, tz)))
    if e.sha256:
        parts.append(f"sha256 {e.sha256[:16]}… (santongbu evidence show {e.check_id})")
    parts.extend(r["message"] for r in e.reasons)
    return (";" if lang == "zh" else "; ").join(parts)


def _local(instant: Any, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S%z") if instant else "-"
