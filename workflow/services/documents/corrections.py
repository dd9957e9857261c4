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
from states.i18n import _
from states.lifecycle import State
from states.reasons import Reason
from states.snapshot import ActorSnapshot, DocumentSnapshot
from workflow.kernel.clock import to_utc
from workflow.kernel.errors import Forbidden, Refused
from workflow.kernel.models import Posting
from workflow.services.authz import Who
from workflow.services.documents.effects import Effects
from workflow.services.documents.transaction import Outcome, _Ctx, _Refusal
from workflow.services.documents.validation import check_url, invalid

AFTER_PUBLICATION = frozenset({State.PUBLISHED, State.INTERPRETATION_POSTED})


def _what(what: str) -> str:
    if what not in WHAT:
        raise invalid("what", _("must be one of {p0}", p0=", ".join(WHAT)))
    return what


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", _("required"))
    if len(reason) > 2000:
        raise invalid("reason", _("longer than 2000 characters"))
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
        before = {
            "posted_at": ctx.doc.posted_at,
            "on_time": ctx.doc.on_time,
            "working_days_late": ctx.doc.working_days_late,
        }
        with ctx.session.no_autoflush:  # the document goes out in the change's one UPDATE
            self._complete(ctx)
        after = {
            "posted_at": ctx.doc.posted_at,
            "on_time": ctx.doc.on_time,
            "working_days_late": ctx.doc.working_days_late,
        }
        if before != after:
            ctx.details["result_before"] = before
            ctx.details["result_after"] = after

    # ------------------------------------------------------------------ confirm
    def confirm(
        self, login: Who, doc_id: int, *, what: str, reason: str, expected_version: int | None = None
    ) -> Outcome:
        """A supervisor confirms a claim awaiting confirmation (publication, or a channel's
        postings); the result is recomputed on the confirmed instant."""
        what, reason = _what(what), _reason(reason)

        def run(ctx: _Ctx) -> None:
            self._published(ctx, "confirm")
            grace = self.settings.claim_grace
            confirmed: list[dict[str, Any]] = []
            if what == "publication":
                doc = ctx.doc
                assert doc.published_at is not None  # _published checked it
                if not claims.awaiting_confirmation(
                    doc.published_at,
                    doc.published_recorded_at,
                    grace,
                    confirmed=doc.publication_confirmed_by is not None,
                    migrated=bool(doc.publication_migrated),
                ):
                    raise Refused(Reason("no_claim_waiting", {"what": what}))
                doc.publication_confirmed_by, doc.publication_confirmed_at = ctx.actor.login, ctx.now
                doc.publication_confirm_reason = reason
                confirmed.append({"claimed_at": doc.published_at, "recorded_at": doc.published_recorded_at})
            else:
                for p in self._postings(ctx, what):
                    if claims.awaiting_confirmation(
                        p.posted_at,
                        p.recorded_at,
                        grace,
                        confirmed=p.confirmed_by is not None,
                        migrated=bool(p.migrated),
                    ):
                        p.confirmed_by, p.confirmed_at, p.confirm_reason = ctx.actor.login, ctx.now, reason
                        confirmed.append(
                            {"posting_id": p.id, "claimed_at": p.posted_at, "recorded_at": p.recorded_at}
                        )
                if not confirmed:
                    raise Refused(Reason("no_claim_waiting", {"what": what}))
            ctx.details.update({"what": what, "reason": reason, "confirmed": confirmed})
            self._recount(ctx)

        def authorise(actor: ActorSnapshot, snap: DocumentSnapshot) -> list[Reason]:
            return claims.may_confirm(actor, snap)

        return self._change(
            login,
            doc_id,
            "confirm",
            run,
            authorise=authorise,
            expected_version=expected_version,
            audit_details={"what": what},
        )

    # ------------------------------------------------------------------ correct
    def correct(
        self,
        login: Who,
        doc_id: int,
        *,
        what: str,
        reason: str,
        url: str | None = None,
        at: datetime | None = None,
        outlet: str | None = None,
        evidence: str | None = None,
        posting_id: int | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """Correct a published fact with a reason; the original stays in the trail (the event's
        ``before``), and the deadline, the ladder's hint and the result are recomputed."""
        what, reason = _what(what), _reason(reason)
        url = check_url("url", url)
        at = to_utc(at) if at is not None else None
        if outlet is not None and (len(outlet) > 200 or "\n" in outlet):
            raise invalid("outlet", _("one line, at most 200 characters"))
        if what == "publication" and (outlet is not None or evidence is not None or posting_id is not None):
            raise invalid("what", _("a publication has a URL and an instant only"))
        if url is None and at is None and outlet is None and evidence is None:
            raise invalid("changes", _("give --url, --at, --outlet or --evidence"))

        def run(ctx: _Ctx) -> None:
            self._published(ctx, "correct")
            if at is not None and at > ctx.now:
                raise invalid("at", _("lies in the future"))
            if what == "publication":
                before, after, favourable = self._correct_publication(ctx, url, at)
            else:
                before, after, favourable = self._correct_posting(
                    ctx, what, posting_id, url, at, outlet, evidence
                )
            if before == after:
                raise Refused(Reason("nothing_corrected"))
            if favourable:  # nobody makes their own record look better: a supervisor does
                denied = claims.may_confirm(ctx.actor, ctx.snap)
                if denied:
                    raise _Refusal(Forbidden([Reason("correction_needs_supervisor"), *denied]), ctx.doc.state)
                self._vouch(ctx, what, after.get("posting_id"), reason)
            ctx.details.update(
                {"what": what, "reason": reason, "before": before, "after": after, "favourable": favourable}
            )
            self._recount(ctx)

        def authorise(actor: ActorSnapshot, snap: DocumentSnapshot) -> list[Reason]:
            if not permissions.may_edit(actor, snap) or not claims.may_confirm(actor, snap):
                return []
            return [Reason("not_corrector", {"login": actor.login})]

        return self._change(
            login,
            doc_id,
            "correct",
            run,
            authorise=authorise,
            expected_version=expected_version,
            audit_details={"what": what},
        )

    def _correct_publication(
        self, ctx: _Ctx, url: str | None, at: datetime | None
    ) -> tuple[dict[str, Any], dict[str, Any], bool]:
        from workflow.kernel.calendar import due_for

        doc = ctx.doc
        was = doc.published_at
        before = {
            "publication_url": doc.publication_url,
            "published_at": was,
            "due_at": doc.due_at,
            "due_provisional": doc.due_provisional,
        }
        if url is not None:
            doc.publication_url = url
        if at is not None and at != doc.published_at:
            first = min((p.posted_at for p in doc.postings), default=None)
            if first is not None and at > first:
                raise invalid("at", _("is after an interpretation posting; correct the posting first"))
            due = due_for(ctx.session, at, self.settings)
            doc.published_at, doc.due_at, doc.due_provisional = at, due.due_at, due.provisional
            doc.next_rung_at = at  # the sweep recomputes which rungs are due on the new deadline
        after = {
            "publication_url": doc.publication_url,
            "published_at": doc.published_at,
            "due_at": doc.due_at,
            "due_provisional": doc.due_provisional,
        }
        return before, after, claims.favourable_to_unit("publication", was, doc.published_at)

    def _correct_posting(
        self,
        ctx: _Ctx,
        channel: str,
        posting_id: int | None,
        url: str | None,
        at: datetime | None,
        outlet: str | None,
        evidence: str | None,
    ) -> tuple[dict[str, Any], dict[str, Any], bool]:
        postings = self._postings(ctx, channel)
        if posting_id is not None:
            postings = [p for p in postings if p.id == posting_id]
        if not postings:
            raise Refused(Reason("no_such_posting", {"channel": channel}))
        if len(postings) > 1:
            raise invalid(
                "posting",
                _("{channel} has {p1} postings: say which (--posting ID)", channel=channel, p1=len(postings)),
            )
        p = postings[0]

        def facts() -> dict[str, Any]:
            return {
                "posting_id": p.id,
                "url": p.url,
                "outlet": p.outlet,
                "evidence": p.evidence,
                "posted_at": p.posted_at,
            }

        before = facts()
        if at is not None and ctx.doc.published_at is not None and at < ctx.doc.published_at:
            raise invalid("at", _("is before the policy was published"))
        p.url = url if url is not None else p.url
        p.outlet = outlet if outlet is not None else p.outlet
        p.evidence = evidence if evidence is not None else p.evidence
        p.posted_at = at if at is not None else p.posted_at
        if not p.url and not (p.evidence and p.evidence.strip()):
            raise invalid("url", _("a posting keeps its URL or evidence"))
        ctx.session.flush()
        return before, facts(), claims.favourable_to_unit(channel, before["posted_at"], p.posted_at)

    def _vouch(self, ctx: _Ctx, what: str, posting_id: int | None, reason: str) -> None:
        """A favourable correction made by a supervisor confirms the corrected claim."""
        if what == "publication":
            doc = ctx.doc
            doc.publication_confirmed_by, doc.publication_confirmed_at = ctx.actor.login, ctx.now
            doc.publication_confirm_reason = reason
            return
        for p in ctx.doc.postings:
            if p.id == posting_id:
                p.confirmed_by, p.confirmed_at, p.confirm_reason = ctx.actor.login, ctx.now, reason
