"""What each trigger does beyond moving the state: applied inside the change's transaction,
never in a state-machine callback (a callback that fails after the state moved cannot be rolled
back; docs/design.md §9)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from states.lifecycle import Trigger
from workflow.kernel.models import Posting
from workflow.services.documents.transaction import DocumentService, _Ctx


def counted_at(posting: Posting, grace: timedelta) -> datetime:
    """The instant a posting counts from (states/claims.py)."""
    from states.claims import counted_instant

    return counted_instant(posting.posted_at, posting.recorded_at, grace,
                           confirmed=posting.confirmed_by is not None, migrated=bool(posting.migrated))


class Effects(DocumentService):
    """The effects of the lifecycle's triggers."""

    def _apply_effects(self, ctx: _Ctx, trigger: str, args: Mapping[str, Any]) -> None:
        doc = ctx.doc
        if trigger == Trigger.PUBLISH:
            from workflow.kernel.calendar import due_for
            from workflow.kernel.calendar.store import due_sources

            # The deadline first: due_for's query autoflushes, and with half the publication
            # fields set that cost one more UPDATE (and version) per publish (bench_trigger).
            due = due_for(ctx.session, args["published_at"], self.settings)
            doc.publication_url = args["publication_url"]
            doc.published_at = args["published_at"]
            doc.published_recorded_at = ctx.now  # the server's instant beside the claimed one
            doc.due_at, doc.due_provisional = due.due_at, due.provisional
            doc.next_rung_at = doc.published_at  # the sweep looks once and stores the exact hint
            # The calendar source of each counted year goes on record with the deadline.
            ctx.details.update({"publication_url": doc.publication_url,
                                "published_at": doc.published_at, "recorded_at": ctx.now,
                                "backdated": bool(args.get("backdated")), "due_at": doc.due_at,
                                "due_provisional": doc.due_provisional,
                                "counted_days": [d.isoformat() for d in due.counted_days],
                                "calendar": due_sources(ctx.session, due, self.settings)})
            self._notify(ctx, "published")
        elif trigger == Trigger.REQUEST_SIGNOFF:
            ctx.details["package_hash"] = doc.package_hash
            self._notify(ctx, "signoff_requested")
        elif trigger in (Trigger.REJECT, Trigger.REJECT_TO_DRAFT):
            self._void_signatures(ctx, "package rejected")
            self._notify(ctx, "rejected", {"reason": args["reason"]})
        elif trigger in (Trigger.WITHDRAW, Trigger.FILE_UNDISCLOSED):
            doc.closed_reason = args.get("reason")
            doc.closed_at = ctx.now
        elif trigger == Trigger.POST_INTERPRETATION:
            self._complete(ctx)

    def _complete(self, ctx: _Ctx) -> None:
        """Record for good when the interpretation went out and whether that was on time."""
        from workflow.kernel.calendar import posting_result

        doc = ctx.doc

        def first(channel: str) -> datetime:  # a claim awaiting confirmation counts as recorded
            return min(counted_at(p, self.settings.claim_grace) for p in doc.postings if p.channel == channel)

        doc.posted_at = max(first("portal"), first("news_media"))
        assert doc.published_at is not None and doc.due_at is not None
        on_time, taken, late = posting_result(ctx.session, doc.published_at, doc.due_at,
                                              doc.posted_at, self.settings)
        doc.on_time, doc.working_days_taken, doc.working_days_late = on_time, taken, late
        ctx.details.update({"posted_at": doc.posted_at, "on_time": on_time,
                            "working_days_taken": taken, "working_days_late": late})
        if not on_time:
            from states.claims import awaiting_confirmation

            waiting = sum(1 for p in doc.postings if awaiting_confirmation(
                p.posted_at, p.recorded_at, self.settings.claim_grace,
                confirmed=p.confirmed_by is not None, migrated=bool(p.migrated)))
            self._notify(ctx, "posted_late", {"working_days_overdue": late, "claims_waiting": waiting},
                         dedupe_key=f"{doc.id}:posted_late")

