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
from workflow.services.documents.views import (
    DocumentSummary,
    DocumentView,
    PostingView,
    PublicationClaimView,
    TimelineEvent,
)


def render_document(view: DocumentView, events: Sequence[TimelineEvent], lang: str, tz: str) -> None:
    """Print a document, its package, deadline, what is missing, and its timeline."""
    typer.echo(f"#{view.id} {view.title}  [{view.doc_number or '-'}]  unit {view.unit}")
    typer.echo(
        f"  state: {label('state', view.state, lang)}   version {view.version}   disclosure {view.disclosure or '-'}"
    )
    typer.echo(f"  interpreter: {view.interpreter or '-'}   package {view.package_hash[:12]}")
    for m in view.materials:
        typer.echo(f"  material {m.id}: [{m.form}] {m.title}")
    for s in view.signers:
        typer.echo(f"  signer {s.login}: {'signed' if s.signed else 'not signed'}")
    if view.published_at:
        typer.echo(
            f"  published {_local(view.published_at, tz)} at {view.publication_url}"
            f"{_claim(view.publication, tz, publication=True)}"
        )
    if view.due_at:
        flag = " (provisional: that year's holiday schedule is not loaded)" if view.due_provisional else ""
        typer.echo(f"  interpretation due {_local(view.due_at, tz)}{flag}")
    if view.publication_evidence is not None:
        typer.echo(f"  policy page evidence: {_evidence(view.publication_evidence, lang)}")
    for p in view.postings:
        typer.echo(
            f"  posted [{p.channel}] {p.outlet or ''} {p.url or p.evidence.note} at "
            f"{_local(p.posted_at, tz)}{_claim(p, tz)}"
        )
        typer.echo(f"    evidence: {_evidence(p.evidence, lang)}")
    for c in view.corrections:
        typer.echo(
            f"  corrected {c.what} {_local(c.at, tz)} by {c.by}: {c.reason} "
            f"({_changes(c.before or {}, c.after or {}, tz)})"
        )
    if view.on_time is not None:
        result = "on time" if view.on_time else overdue_words(view.working_days_late or 0, lang)
        typer.echo(f"  result: {result}, {view.working_days_taken} working day(s) taken")
    for step in view.next_steps:
        status = "ready" if step.ready else "missing: " + "; ".join(step.missing)
        typer.echo(f"  next: {label('trigger', step.trigger, lang)} ({step.trigger}): {status}")
    if events:
        typer.echo("  timeline:")
        for e in events:
            moved = f" {e.state_before or ''}→{e.state_after}" if e.state_before != e.state_after else ""
            via = f" via {e.channel}" if e.channel else ""
            typer.echo(
                f"    {e.seq:>3} {_local(e.at, tz)} {e.actor or 'system':<12} {e.action:<20} "
                f"{e.outcome}{moved}{via}"
            )


def render_list(docs: Sequence[DocumentSummary], lang: str, tz: str) -> None:
    """One line a document: id, unit, state, title and its due date."""
    for d in docs:
        due = f" due {_local(d.due_at, tz)}" + ("?" if d.due_provisional else "") if d.due_at else ""
        typer.echo(f"{d.id:>6} {d.unit:<10} {label('state', d.state, lang):<10} {d.title}{due}")
    if not docs:
        typer.echo("no documents")


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
        counts = "the deadline runs from the claim" if publication else "counts as recorded"
        return f" (claimed; recorded {_local(claim.recorded_at, tz)}: CLAIM AWAITING CONFIRMATION, {counts})"
    if claim.confirmed_by:
        return f" (recorded {_local(claim.recorded_at, tz)}; claim confirmed by {claim.confirmed_by})"
    return ""


def _evidence(e: Any, lang: str) -> str:
    """One line: status, when checked, the kept page's hash, the reasons (docs/evidence.md)."""
    parts = [label("evidence", e.status, lang)]
    if e.checked_at:
        parts.append(f"checked {e.checked_at:%Y-%m-%d %H:%M} UTC")
    if e.sha256:
        parts.append(f"sha256 {e.sha256[:16]}… (santongbu evidence show {e.check_id})")
    parts.extend(r["message"] for r in e.reasons)
    return "; ".join(parts)


def _local(instant: Any, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S%z") if instant else "-"
