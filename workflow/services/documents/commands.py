"""Document commands: create, sign, fire a trigger, reject, record a posting.

Editing the package (fields, materials, signers) lives in :mod:`.package`.

Each runs in :meth:`DocumentService._change`'s single transaction (docs/design.md §8).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from states import claims, permissions, signoff
from states.i18n import _
from states.lifecycle import REJECT_TO, State, Trigger, decide
from states.package import package_hash_of
from states.reasons import Reason
from states.snapshot import (
    CHANNELS,
    ActorSnapshot,
    DocumentSnapshot,
)
from workflow.kernel import audit
from workflow.kernel.audit_hashing import active_key
from workflow.kernel.clock import to_utc
from workflow.kernel.errors import (
    ConcurrentChange,
    Forbidden,
    NotFound,
    Refused,
)
from workflow.kernel.models import (
    Unit,
)
from workflow.services.authz import Principal, Who, login_of
from workflow.services.documents import creation
from workflow.services.documents.effects import Effects
from workflow.services.documents.files import BlobKeeping
from workflow.services.documents.transaction import (
    Outcome,
    _Ctx,
    _Refusal,
)
from workflow.services.documents.validation import (
    POSTABLE,
    check_text,
    check_url,
    clean_fields,
    duplicate_reason,
    invalid,
)
from workflow.services.documents.writing import add_to


@dataclass(frozen=True)
class _UnitRef:
    id: int | None
    code: str


class DocumentCommands(Effects, BlobKeeping):
    """Every change to a document."""

    def create_document(
        self,
        login: Who,
        *,
        title: str,
        doc_number: str | None = None,
        body: str = "",
        disclosure: str | None = None,
        risk_assessment_needed: bool | None = None,
        unit_code: str | None = None,
        allow_duplicate_number: bool = False,
    ) -> Outcome:
        """A clerk opens a new draft for their own unit (or a named unit they belong to); a
        文号 another document has is refused unless ``allow_duplicate_number``."""
        fields = clean_fields(
            {"title": title, "doc_number": doc_number, "body": body, "disclosure": disclosure},
            max_bytes=self.settings.max_text_bytes,
        )
        if not fields.get("title"):
            raise invalid("title", _("required"))
        principal = login if isinstance(login, Principal) else None
        actor: ActorSnapshot | None = principal.actor if principal else None
        number = None if allow_duplicate_number else fields.get("doc_number")
        try:
            with self.db.transaction() as session:
                # One read: the actor and their unit, the 文号's twin, the newest key if unkeyed.
                found = creation.read(
                    session, None if principal else login_of(login), number, unkeyed=active_key() is None
                )
                if principal is not None:
                    user_id = principal.id
                elif found.actor is not None and found.user_id is not None:
                    user_id, actor = found.user_id, found.actor
                else:
                    raise NotFound(Reason("no_such_user", {"login": login}))
                assert actor is not None
                unit = _UnitRef(actor.unit_id, actor.unit_code)  # every user belongs to a unit
                if unit_code is not None and unit_code != unit.code:
                    target = session.scalars(select(Unit).where(Unit.code == unit_code)).first()
                    if target is None:
                        raise NotFound(Reason("no_such_unit", {"code": unit_code}))
                    raise _Refusal(
                        Forbidden(Reason("not_member", {"login": actor.login, "unit": unit_code})), None
                    )
                denied = permissions.may_edit(
                    actor, DocumentSnapshot(state=State.DRAFT, unit_id=unit.id, unit_code=unit.code)
                )
                if denied:
                    raise _Refusal(Forbidden(denied), None)
                if found.twin is not None:
                    raise _Refusal(Refused(duplicate_reason(number, found.twin)), None)
                now = self.clock.now()
                values = {
                    "unit_id": unit.id,
                    "state": State.DRAFT.value,
                    "created_by": user_id,
                    "created_at": now,
                    "updated_at": now,
                    "risk_assessment_needed": risk_assessment_needed,
                    "body": "",
                    "title": "",
                    **fields,
                }
                values["package_hash"] = package_hash_of(values)  # no plan, interpreter, materials yet
                doc_id = creation.write(session, values, user_id)
                audit.append_many(
                    session,
                    [
                        audit.Entry(
                            now,
                            actor,
                            "create",
                            document_id=doc_id,
                            state_before=None,
                            state_after=State.DRAFT.value,
                            details={
                                "title": values["title"],
                                "doc_number": values.get("doc_number"),
                                "disclosure": values.get("disclosure"),
                                "risk_assessment_needed": risk_assessment_needed,
                            },
                        )
                    ],
                    # A new chain: no head, no other writer (see .creation).
                    heads=audit.Heads({audit.chain_for(doc_id): (0, audit.GENESIS)}, found.newest_key_id),
                )
                return Outcome(doc_id, "create", "", State.DRAFT.value, 1, {"title": values["title"]})
        except _Refusal as refusal:
            self.audit_refusal(
                actor=actor,
                action="create",
                document_id=None,
                state=None,
                error=refusal.error,
                extra={"title": title},
            )
            raise refusal.error from None

    def sign(
        self, login: Who, doc_id: int, *, package: str | None = None, expected_version: int | None = None
    ) -> Outcome:
        """Sign the package as it is now; ``package`` (the hash the signer read) guards
        against signing something that changed after it was read."""

        def run(ctx: _Ctx) -> None:
            if ctx.doc.state != State.JOINT_SIGNOFF:
                raise Refused(Reason("wrong_state", {"state": ctx.doc.state, "trigger": "sign"}))
            if package is not None and package != ctx.doc.package_hash:
                raise ConcurrentChange(Reason("changed_meanwhile"))
            if ctx.actor.login in ctx.snap.signed_logins:
                raise Refused(Reason("already_signed", {"login": ctx.actor.login}))
            add_to(
                ctx.session,
                ctx.doc,
                "signatures",
                {"user_id": ctx.user.id, "package_hash": ctx.doc.package_hash, "signed_at": ctx.now},
            )
            remaining = sorted(ctx.snap.signer_logins - ctx.snap.signed_logins - {ctx.actor.login})
            ctx.details.update({"package_hash": ctx.doc.package_hash, "remaining": remaining})
            if not remaining:  # a round is complete: later changes make new editors
                ctx.doc.signoff_round = (ctx.doc.signoff_round or 0) + 1
                ctx.details["round"] = ctx.doc.signoff_round
            return None

        def authorise(actor: ActorSnapshot, snap: DocumentSnapshot) -> list[Reason]:
            return permissions.may_sign(actor, snap) or signoff.may_sign_package(actor, snap)

        return self._change(
            login, doc_id, "sign", run, authorise=authorise, expected_version=expected_version
        )

    def fire(
        self,
        login: Who,
        doc_id: int,
        trigger: str,
        *,
        reason: str | None = None,
        publication_url: str | None = None,
        published_at: datetime | None = None,
        backdated: bool = False,
        expected_version: int | None = None,
    ) -> Outcome:
        """Fire a lifecycle trigger; its effects are applied here, never in callbacks.

        ``backdated`` says a publication claimed more than the grace window in the past really
        was (states/claims.py); without it such a claim is refused as a likely typo."""
        if trigger == Trigger.PUBLISH:
            publication_url = check_url("publication_url", publication_url)
        if published_at is not None:
            published_at = to_utc(published_at)
        check_text("reason", reason)
        reason = reason.strip() if reason else reason
        if reason and len(reason) > 2000:
            raise invalid("reason", _("longer than 2000 characters"))

        def authorise(actor: ActorSnapshot, snap: DocumentSnapshot) -> list[Reason]:
            return permissions.may_fire(actor, snap, trigger)

        def run(ctx: _Ctx) -> str:
            args = {
                "reason": reason,
                "publication_url": publication_url,
                "published_at": published_at or (ctx.now if trigger == Trigger.PUBLISH else None),
                "now": ctx.now,
                "signer_rule": self.settings.signoff_rule,
                "grace": self.settings.claim_grace,
                "backdated": backdated,
                "tz": self.settings.timezone,
            }
            decision = decide(ctx.snap, trigger, args)
            if not decision.allowed:
                raise Refused(decision.reasons)
            assert decision.dest is not None
            self._apply_effects(ctx, trigger, args)
            return decision.dest

        return self._change(
            login,
            doc_id,
            trigger,
            run,
            authorise=authorise,
            expected_version=expected_version,
            audit_details={"reason": reason} if reason else None,
        )

    def reject(
        self,
        login: Who,
        doc_id: int,
        reason: str | None,
        *,
        to: str = "plan",
        expected_version: int | None = None,
    ) -> Outcome:
        """As a named signer, send the package back with a reason: to the interpretation plan
        (``to="plan"``, trigger ``reject``) or to the draft (``to="draft"``, ``reject_to_draft``).
        Every interface rejects through here (docs/design.md §2)."""
        trigger = REJECT_TO.get(to)
        if trigger is None:
            raise invalid("to", _("must be one of {p0}", p0=", ".join(REJECT_TO)))
        return self.fire(login, doc_id, trigger, reason=reason, expected_version=expected_version)

    def record_posting(
        self,
        login: Who,
        doc_id: int,
        *,
        channel: str,
        url: str | None = None,
        outlet: str | None = None,
        evidence: str | None = None,
        posted_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """Record one interpretation posting; once the portal and a news medium both have
        one, the document moves to ``interpretation_posted`` in the same transaction."""
        if channel not in CHANNELS:
            raise invalid("channel", _("must be one of {p0}", p0=", ".join(CHANNELS)))
        url = check_url("url", url)
        check_text("outlet", outlet, one_line=True)
        check_text("evidence", evidence)
        if not url and not (evidence and evidence.strip()):
            raise invalid("url", _("give the posting's URL or evidence of it"))
        if outlet is not None and (len(outlet) > 200 or "\n" in outlet):
            raise invalid("outlet", _("one line, at most 200 characters"))
        when = to_utc(posted_at) if posted_at is not None else None

        def run(ctx: _Ctx) -> str | None:
            if ctx.doc.state not in POSTABLE:
                raise Refused(
                    Reason("wrong_state", {"state": ctx.doc.state, "trigger": "post_interpretation"})
                )
            at = when or ctx.now
            if at > ctx.now:
                raise invalid("posted_at", _("lies in the future"))
            if ctx.doc.published_at and at < ctx.doc.published_at:
                raise invalid("posted_at", _("is before the policy was published"))
            posting = add_to(
                ctx.session,
                ctx.doc,
                "postings",
                {
                    "channel": channel,
                    "outlet": outlet,
                    "url": url,
                    "evidence": evidence,
                    "posted_at": at,
                    "recorded_at": ctx.now,
                    "recorded_by": ctx.user.id,
                },
            )
            ctx.details.update(
                {
                    "posting_id": posting.id,
                    "channel": channel,
                    "outlet": outlet,
                    "url": url,
                    "posted_at": at,
                    "recorded_at": ctx.now,
                }
            )
            if claims.is_backdated(at, ctx.now, self.settings.claim_grace):
                ctx.details["awaiting_confirmation"] = True  # counts as recorded until confirmed
            snap = ctx.snapshot()
            decision = decide(snap, Trigger.POST_INTERPRETATION, {"now": ctx.now})
            if not decision.allowed:
                ctx.details["still_missing"] = [r.code for r in decision.reasons]
                return None
            # Both channels are in: complete in the same transaction. The posting keeps its own
            # audit line; the state change is audited as the trigger it is.
            ctx.entries.append(
                audit.Entry(
                    ctx.now,
                    ctx.actor,
                    "record_posting",
                    document_id=ctx.doc.id,
                    state_before=ctx.doc.state,
                    state_after=ctx.doc.state,
                    details=dict(ctx.details),
                )
            )
            ctx.details.clear()
            ctx.details["following"] = "record_posting"
            ctx.action = Trigger.POST_INTERPRETATION.value
            self._complete(ctx)
            return decision.dest

        outcome = self._change(login, doc_id, "record_posting", run, expected_version=expected_version)
        return outcome
