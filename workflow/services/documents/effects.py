"""What each trigger does beyond moving the state: applied inside the change's transaction,
never in a state-machine callback (a callback that fails after the state moved cannot be rolled
back; docs/design.md §9)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from states.claims import awaiting_confirmation, counted_instant
from states.lifecycle import EFFECTS
from states.snapshot import REQUIRED_CHANNELS
from workflow.kernel.models import Posting
from workflow.services.documents.transaction import DocumentService, _Ctx


def counted_at(posting: Posting, grace: timedelta) -> datetime:
    """The instant a posting counts from (states/claims.py)."""
    return counted_instant(
        posting.posted_at,
        posting.recorded_at,
        grace,
        confirmed=posting.confirmed_by is not None,
        migrated=bool(posting.migrated),
    )


class Effects(DocumentService):
    """The effects of the lifecycle's triggers, dispatched by the effect name each transition
    row of :data:`states.lifecycle.TRANSITIONS` carries. A new effect is one method here and
    one entry in :data:`EFFECT_METHODS`."""

    def _apply_effects(self, ctx: _Ctx, trigger: str, args: Mapping[str, Any]) -> None:
        effect = EFFECTS.get(str(trigger))
        if effect is not None:
            EFFECT_METHODS[effect](self, ctx, args)

    def _publish(self, ctx: _Ctx, args: Mapping[str, Any]) -> None:
        """Store the publication facts and the deadline; queue ``published``."""
        from workflow.kernel.calendar import due_for
        from workflow.kernel.calendar.store import due_sources

        doc = ctx.doc
        # The deadline first: due_for's query autoflushes, and with half the publication
        # fields set that cost one more UPDATE (and version) per publish (bench_trigger).
        due = due_for(ctx.session, args["published_at"], self.settings)
        doc.publication_url = args["publication_url"]
        doc.published_at = args["published_at"]
        doc.published_recorded_at = ctx.now  # the server's instant beside the claimed one
        doc.due_at, doc.due_provisional = due.due_at, due.provisional
        doc.next_rung_at = doc.published_at  # the sweep looks once and stores the exact hint
        # The calendar source of each counted year goes on record with the deadline.
        ctx.details.update(
            {
                "publication_url": doc.publication_url,
                "published_at": doc.published_at,
                "recorded_at": ctx.now,
                "backdated": bool(args.get("backdated")),
                "due_at": doc.due_at,
                "due_provisional": doc.due_provisional,
                "counted_days": [d.isoformat() for d in due.counted_days],
                "calendar": due_sources(ctx.session, due, self.settings),
            }
        )
        self._notify(ctx, "published")

    def _request_signoff(self, ctx: _Ctx, args: Mapping[str, Any]) -> None:
        """Record the package hash the signers are asked to sign; queue ``signoff_requested``."""
        ctx.details["package_hash"] = ctx.doc.package_hash
        self._notify(ctx, "signoff_requested")

    def _reject(self, ctx: _Ctx, args: Mapping[str, Any]) -> None:
        """Void the signatures; queue ``rejected`` with the signer's reason."""
        self._void_signatures(ctx, "package rejected")
        self._notify(ctx, "rejected", {"reason": args["reason"]})

    def _close(self, ctx: _Ctx, args: Mapping[str, Any]) -> None:
        """Withdrawn or filed: store the reason and the closing instant."""
        ctx.doc.closed_reason = args.get("reason")
        ctx.doc.closed_at = ctx.now

    def _complete(self, ctx: _Ctx, args: Mapping[str, Any] | None = None) -> None:
        """Record for good when the interpretation went out and whether that was on time."""
        from workflow.kernel.calendar import posting_result

        doc = ctx.doc

        def first(channel: str) -> datetime:  # a claim awaiting confirmation counts as recorded
            return min(counted_at(p, self.settings.claim_grace) for p in doc.postings if p.channel == channel)

        doc.posted_at = max(first(c) for c in REQUIRED_CHANNELS)
        assert doc.published_at is not None and doc.due_at is not None
        on_time, taken, late = posting_result(
            ctx.session, doc.published_at, doc.due_at, doc.posted_at, self.settings
        )
        doc.on_time, doc.working_days_taken, doc.working_days_late = on_time, taken, late
        ctx.details.update(
            {
                "posted_at": doc.posted_at,
                "on_time": on_time,
                "working_days_taken": taken,
                "working_days_late": late,
            }
        )
        if not on_time:
            waiting = sum(
                1
                for p in doc.postings
                if awaiting_confirmation(
                    p.posted_at,
                    p.recorded_at,
                    self.settings.claim_grace,
                    confirmed=p.confirmed_by is not None,
                    migrated=bool(p.migrated),
                )
            )
            self._notify(
                ctx,
                "posted_late",
                {"working_days_overdue": late, "claims_waiting": waiting},
                dedupe_key=f"{doc.id}:posted_late",
            )


# Effect name (the ``effect`` of a transition row) → the :class:`Effects` method applying it.
EFFECT_METHODS: dict[str, Callable[[Effects, _Ctx, Mapping[str, Any]], None]] = {
    "publish": Effects._publish,
    "request_signoff": Effects._request_signoff,
    "reject": Effects._reject,
    "close": Effects._close,
    "complete": Effects._complete,
}
