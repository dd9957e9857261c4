"""After publication: confirming a claimed instant, and correcting a wrong fact, both audited.

* :meth:`Corrections.confirm` — a supervisor vouches, with a reason, for a claim older than the
  grace window (states/claims.py); the posting then counts from its claimed instant and the
  result (on time, working days) is recomputed.
* :meth:`Corrections.correct` — a wrong publication URL or instant, or a posting's URL, outlet,
  evidence or instant, is corrected with a reason. The correction is an event whose details hold
  the values before and after, so the original stays in the trail; the deadline, the ladder's
  hint and the result are recomputed. A correction favourable to the drafting unit (an earlier
  posting, a later publication) needs a supervisor outside that unit, as a confirmation does.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from states import claims, permissions
from states.claims import WHAT
from states.lifecycle import State
from states.reasons import Reason
from states.snapshot import ActorSnapshot, DocumentSnapshot
from workflow.kernel.clock import to_utc
from workflow.kernel.errors import Forbidden, Refused
from workflow.kernel.models import Posting
from workflow.services.documents.effects import Effects, counted_at
from workflow.services.documents.transaction import Outcome, _Ctx
from workflow.services.documents.validation import check_url, invalid

AFTER_PUBLICATION = frozenset({State.PUBLISHED, State.INTERPRETATION_POSTED})


def _what(what: str) -> str:
    if what not in WHAT:
        raise invalid("what", f"must be one of {', '.join(WHAT)}")
    return what


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", "required")
    if len(reason) > 2000:
        raise invalid("reason", "longer than 2000 characters")
    return reason


class Corrections(Effects):
    """Confirmations and corrections of published facts."""

    def _published(self, ctx: _Ctx, action: str) -> None:
        if ctx.doc.state not in AFTER_PUBLICATION or ctx.doc.published_at is None:
            raise Refused(Reason("wrong_state", {"state": ctx.doc.state, "trigger": action}))

    def _postings(self, ctx: _Ctx, channel: str) -> list[Posting]:
        return [p for p in ctx.doc.postings if p.channel == channel]

    def _recount(self, ctx: _Ctx) -> None:
        """Recompute the result of a completed document after its facts changed."""
        if ctx.doc.state != State.INTERPRETATION_POSTED:
            return
        before = {"posted_at": ctx.doc.posted_at, "on_time": ctx.doc.on_time,
                  "working_days_late": ctx.doc.working_days_late}
        self._complete(ctx)
        after = {"posted_at": ctx.doc.posted_at, "on_time": ctx.doc.on_time,
                 "working_days_late": ctx.doc.working_days_late}
        if before != after:
            ctx.details["result_before"] = before
            ctx.details["result_after"] = after

    # ------------------------------------------------------------------ confirm
    def confirm(self, login: str, doc_id: int, *, what: str, reason: str,
                expected_version: int | None = None) -> Outcome:
        """A supervisor confirms a claim awaiting confirmation (publication, or a channel's
        postings); the result is recomputed on the confirmed instant."""
        what, reason = _what(what), _reason(reason)

        def run(ctx: _Ctx) -> None:
            self._published(ctx, "confirm")
            grace = self.settings.claim_grace
            confirmed: list[dict[str, Any]] = []
            if what == "publication":
                doc = ctx.doc
                if not claims.awaiting_confirmation(doc.published_at, doc.published_recorded_at, grace,
                                                    confirmed=doc.publication_confirmed_by is not None,
                                                    migrated=bool(doc.publication_migrated)):
                    raise Refused(Reason("no_claim_waiting", {"what": what}))
                doc.publication_confirmed_by, doc.publication_confirmed_at = ctx.actor.login, ctx.now
                doc.publication_confirm_reason = reason
                confirmed.append({"claimed_at": doc.published_at, "recorded_at": doc.published_recorded_at})
            else:
                for p in self._postings(ctx, what):
                    if claims.awaiting_confirmation(p.posted_at, p.recorded_at, grace,
                                                    confirmed=p.confirmed_by is not None, migrated=bool(p.migrated)):
                        p.confirmed_by, p.confirmed_at, p.confirm_reason = ctx.actor.login, ctx.now, reason
                        confirmed.append({"posting_id": p.id, "claimed_at": p.posted_at,
                                          "recorded_at": p.recorded_at})
                if not confirmed:
                    raise Refused(Reason("no_claim_waiting", {"what": what}))
            ctx.details.update({"what": what, "reason": reason, "confirmed": confirmed})
            self._recount(ctx)
            return None

        def authorise(actor: ActorSnapshot, snap: DocumentSnapshot) -> list[Reason]:
            return claims.may_confirm(actor, snap)

        return self._change(login, doc_id, "confirm", run, authorise=authorise,
                            expected_version=expected_version, audit_details={"what": what})
