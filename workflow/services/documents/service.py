"""The one path every change to a document takes.

``load → authorise → ask states/ → write the document, its audit event and its outbox rows``
in one transaction. A refusal (no right, wrong state, a guard failed) rolls that transaction
back and writes only the audit line of the refusal, in a transaction of its own. A concurrent
change is caught by the compare-and-set on ``documents.version`` and reported, not merged.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from states import permissions
from states.lifecycle import EDITABLE, State, Trigger, decide, triggers_from
from states.package import content_hash, package_hash
from states.reasons import Reason
from states.snapshot import (
    CHANNELS, DISCLOSURES, MATERIAL_FORMS, ActorSnapshot, DocumentSnapshot, MaterialSnapshot,
)

from workflow.kernel import audit
from workflow.kernel.clock import Clock, to_utc
from workflow.kernel.db import Database
from workflow.kernel.errors import ConcurrentChange, Forbidden, InvalidInput, NotFound, Refused, SantongbuError
from workflow.kernel.models import Document, Material, Posting, Signature, Signer, Unit, User
from workflow.kernel.settings import Settings
from workflow.kernel.snapshots import actor_snapshot, document_snapshot

T = TypeVar("T")

# Fields a clerk may edit, with their length limits; ``None`` = free text.
TEXT_FIELDS: dict[str, int | None] = {
    "title": 500, "doc_number": 200, "body": None, "plan": None,
    "risk_assessment": None, "response_plan": None,
}
# Where a posting may still be recorded.
POSTABLE = frozenset({State.PUBLISHED})


def invalid(field: str, problem: str) -> InvalidInput:
    return InvalidInput(Reason("invalid", {"field": field, "problem": problem}))


def check_url(field: str, value: str | None, *, required: bool = False) -> str | None:
    """Only http(s) URLs: a URL ends up as a link in emails and pages."""
    if value is None or not value.strip():
        if required:
            raise invalid(field, "required")
        return None
    value = value.strip()
    if not value.lower().startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise invalid(field, "must be an http:// or https:// URL without spaces")
    if len(value) > 2000:
        raise invalid(field, "longer than 2000 characters")
    return value


@dataclass(frozen=True)
class Outcome:
    """What a successful command did; ``version`` is what the next ``--if-version`` expects."""

    document_id: int
    action: str
    state_before: str
    state_after: str
    version: int
    details: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"document_id": self.document_id, "action": self.action,
                "state_before": self.state_before, "state_after": self.state_after,
                "version": self.version, "details": dict(self.details)}


class _Refusal(Exception):
    """Internal: carries a refusal out of the rolled-back transaction to be audited."""

    def __init__(self, error: SantongbuError, state: str | None) -> None:
        self.error = error
        self.state = state


@dataclass
class _Ctx:
    """What a command body is handed inside its transaction."""

    session: Session
    doc: Document
    snap: DocumentSnapshot
    actor: ActorSnapshot
    user: User
    now: datetime
    details: dict[str, Any]
    action: str = ""
    entries: list[audit.Entry] = field(default_factory=list)
    """Audit events of this change before its own, appended with it at the end (one
    :func:`audit.append_many`: three statements however many events a change writes)."""


class Workflow:
    """Commands and reads on documents. Interfaces (CLI, HTTP, workers) hold one of these."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    # ------------------------------------------------------------------ plumbing
    def _actor(self, session: Session, login: str) -> tuple[User, ActorSnapshot]:
        user = session.scalars(select(User).where(User.login == login).options(joinedload(User.unit))).first()
        if user is None:
            raise NotFound(Reason("no_such_user", {"login": login}))
        return user, actor_snapshot(user)

    def _load(self, session: Session, doc_id: int) -> Document:
        doc = session.scalars(
            select(Document).where(Document.id == doc_id).options(
                selectinload(Document.materials), selectinload(Document.signers),
                selectinload(Document.signatures), selectinload(Document.postings),
            )
        ).first()
        if doc is None:
            raise NotFound(Reason("no_such_document", {"id": doc_id}))
        return doc

    def audit_refusal(self, *, actor: ActorSnapshot | None, action: str, document_id: int | None,
                      state: str | None, error: SantongbuError, extra: Mapping[str, Any] | None = None) -> None:
        """The only write a refused command leaves behind."""
        audit.record_refusal(self.db, at=self.clock.now(), actor=actor, action=action,
                             reasons=error.reasons, document_id=document_id, state=state,
                             details=extra)

    def _change(
        self,
        login: str,
        doc_id: int,
        action: str,
        body: Callable[[_Ctx], str | None],
        *,
        authorise: Callable[[ActorSnapshot, DocumentSnapshot], list[Reason]] = permissions.may_edit,
        expected_version: int | None = None,
        audit_details: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Run ``body`` on one document in one transaction; see the module docstring.

        ``body`` returns the new state (or ``None`` to keep it) and may add to ``ctx.details``;
        it raises :class:`Refused` or :class:`InvalidInput` to refuse.
        """
        actor_snap: ActorSnapshot | None = None
        try:
            with self.db.transaction() as session:
                user, actor_snap = self._actor(session, login)
                doc = self._load(session, doc_id)
                if expected_version is not None and doc.version != expected_version:
                    raise ConcurrentChange(Reason("changed_meanwhile"))
                snap = document_snapshot(session, doc)
                before = doc.state
                denied = authorise(actor_snap, snap)
                if denied:
                    raise _Refusal(Forbidden(denied), before)
                ctx = _Ctx(session, doc, snap, actor_snap, user, self.clock.now(),
                           dict(audit_details or {}), action)
                try:
                    after = body(ctx) or before
                except Refused as exc:
                    raise _Refusal(exc, before) from exc
                doc.state = after
                doc.updated_at = ctx.now
                flag_modified(doc, "updated_at")  # every change bumps the version, even at one instant
                session.flush()
                audit.append_many(session, [*ctx.entries, audit.Entry(
                    ctx.now, actor_snap, ctx.action, document_id=doc.id, state_before=before,
                    state_after=after, details=ctx.details)])
                outcome = Outcome(doc.id, ctx.action, before, after, doc.version, ctx.details)
        except _Refusal as refusal:
            self.audit_refusal(actor=actor_snap, action=action, document_id=doc_id,
                               state=refusal.state, error=refusal.error, extra=audit_details)
            raise refusal.error from None
        except StaleDataError as exc:
            raise ConcurrentChange(Reason("changed_meanwhile")) from exc
        except IntegrityError as exc:
            raise ConcurrentChange(Reason("changed_meanwhile")) from exc
        return outcome

    # ------------------------------------------------------------------ package upkeep
    def _rehash(self, ctx: _Ctx) -> None:
        """Recompute the package hash; a new hash voids every earlier signature (audited)."""
        new = self._package_hash(ctx.session, ctx.doc)
        if new == ctx.doc.package_hash:
            return
        ctx.doc.package_hash = new
        self._void_signatures(ctx, "package changed")

    @staticmethod
    def _package_hash(session: Session, doc: Document) -> str:
        interpreter = session.get(User, doc.interpreter_id) if doc.interpreter_id else None
        return package_hash(
            title=doc.title, doc_number=doc.doc_number, body=doc.body or "",
            disclosure=doc.disclosure, plan=doc.plan, risk_assessment=doc.risk_assessment,
            response_plan=doc.response_plan,
            interpreter_login=interpreter.login if interpreter else None,
            materials=[MaterialSnapshot(m.form, m.title, m.content_hash) for m in doc.materials],
        )

    def _void_signatures(self, ctx: _Ctx, why: str) -> None:
        voided = [s for s in ctx.doc.signatures if s.voided_at is None]
        if not voided:
            return
        logins = {u.id: u.login for u in ctx.session.scalars(
            select(User).where(User.id.in_({s.user_id for s in voided})))}
        for s in voided:
            s.voided_at = ctx.now
            s.void_reason = why
        ctx.entries.append(audit.Entry(
            ctx.now, ctx.actor, "signatures_voided", document_id=ctx.doc.id,
            state_before=ctx.doc.state, state_after=ctx.doc.state,
            details={"signers": sorted(logins[s.user_id] for s in voided), "why": why}))

    def _require_editable(self, ctx: _Ctx) -> None:
        if ctx.doc.state not in EDITABLE:
            raise Refused(Reason("frozen", {"state": ctx.doc.state}))

    # ------------------------------------------------------------------ commands
    def create_document(
        self, login: str, *, title: str, doc_number: str | None = None, body: str = "",
        disclosure: str | None = None, risk_assessment_needed: bool | None = None,
        unit_code: str | None = None,
    ) -> Outcome:
        """A clerk opens a new draft for their own unit (or a named unit they belong to)."""
        fields = self._clean_fields({"title": title, "doc_number": doc_number, "body": body,
                                     "disclosure": disclosure})
        if not fields.get("title"):
            raise invalid("title", "required")
        try:
            with self.db.transaction() as session:
                user, actor = self._actor(session, login)
                unit = session.get(Unit, user.unit_id)
                if unit_code is not None and unit_code != unit.code:
                    target = session.scalars(select(Unit).where(Unit.code == unit_code)).first()
                    if target is None:
                        raise NotFound(Reason("no_such_unit", {"code": unit_code}))
                    raise _Refusal(Forbidden(Reason("not_member", {"login": login, "unit": unit_code})), None)
                denied = permissions.may_edit(actor, DocumentSnapshot(state="draft", unit_id=unit.id, unit_code=unit.code))
                if denied:
                    raise _Refusal(Forbidden(denied), None)
                now = self.clock.now()
                doc = Document(unit_id=unit.id, state=State.DRAFT.value, created_by=user.id,
                               created_at=now, updated_at=now, package_hash="",
                               risk_assessment_needed=risk_assessment_needed, body="", title="")
                for key, value in fields.items():
                    setattr(doc, key, value)
                doc.package_hash = self._package_hash(session, doc)
                session.add(doc)
                session.flush()
                audit.append(session, at=now, actor=actor, action="create", document_id=doc.id,
                             state_before=None, state_after=doc.state,
                             details={"title": doc.title, "doc_number": doc.doc_number,
                                      "disclosure": doc.disclosure,
                                      "risk_assessment_needed": risk_assessment_needed})
                session.flush()
                return Outcome(doc.id, "create", "", doc.state, doc.version, {"title": doc.title})
        except _Refusal as refusal:
            self.audit_refusal(actor=actor, action="create", document_id=None, state=None,
                               error=refusal.error, extra={"title": title})
            raise refusal.error from None

    def _clean_fields(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key in TEXT_FIELDS:
                if value is None:
                    if key in ("title", "body"):
                        continue
                    clean[key] = None
                    continue
                if not isinstance(value, str):
                    raise invalid(key, "must be text")
                value = value.strip() if key in ("title", "doc_number") else value
                limit = TEXT_FIELDS[key]
                if limit is not None and len(value) > limit:
                    raise invalid(key, f"longer than {limit} characters")
                if key in ("title", "doc_number") and ("\n" in value or "\r" in value):
                    raise invalid(key, "must be one line")
                clean[key] = value
            elif key == "disclosure":
                if value is not None and value not in DISCLOSURES:
                    raise invalid(key, f"must be one of {', '.join(DISCLOSURES)}")
                clean[key] = value
            elif key == "risk_assessment_needed":
                if value is not None and not isinstance(value, bool):
                    raise invalid(key, "must be true or false")
                clean[key] = value
            elif key == "interpreter":
                clean[key] = value
            else:
                raise invalid(key, "cannot be edited")
        return clean

    def edit_document(self, login: str, doc_id: int, changes: Mapping[str, Any], *,
                      expected_version: int | None = None) -> Outcome:
        """Edit text fields, disclosure, risk flag or interpreter; voids signatures if the
        package changed."""
        clean = self._clean_fields(changes)
        if not clean:
            raise invalid("changes", "nothing to change")

        def body(ctx: _Ctx) -> None:
            self._require_editable(ctx)
            changed = {}
            for key, value in clean.items():
                if key == "interpreter":
                    if value is None:
                        ctx.doc.interpreter_id = None
                    else:
                        who = ctx.session.scalars(select(User).where(User.login == value)).first()
                        if who is None:
                            raise NotFound(Reason("no_such_user", {"login": value}))
                        ctx.doc.interpreter_id = who.id
                    changed[key] = value
                elif getattr(ctx.doc, key) != value:
                    setattr(ctx.doc, key, value)
                    changed[key] = value if key in ("title", "doc_number", "disclosure", "risk_assessment_needed") else f"<{len(value or '')} characters>"
            ctx.details["changed"] = changed
            self._rehash(ctx)
            return None

        return self._change(login, doc_id, "edit", body, expected_version=expected_version,
                            audit_details={"fields": sorted(clean)})

    def add_material(self, login: str, doc_id: int, *, form: str, title: str,
                     body: str | None = None, uri: str | None = None,
                     expected_version: int | None = None) -> Outcome:
        if form not in MATERIAL_FORMS:
            raise invalid("form", f"must be one of {', '.join(MATERIAL_FORMS)}")
        title = (title or "").strip()
        if not title or "\n" in title or len(title) > 500:
            raise invalid("title", "required, one line, at most 500 characters")
        uri = check_url("uri", uri)
        if not (body and body.strip()) and not uri:
            raise invalid("body", "give the material's text or its URI")

        def run(ctx: _Ctx) -> None:
            self._require_editable(ctx)
            m = Material(document_id=ctx.doc.id, form=form, title=title, body=body, uri=uri,
                         content_hash=content_hash(form, title, body, uri),
                         created_by=ctx.user.id, created_at=ctx.now)
            ctx.doc.materials.append(m)
            ctx.session.flush()
            ctx.details.update({"material_id": m.id, "form": form, "title": title,
                                "content_hash": m.content_hash})
            self._rehash(ctx)
            return None

        return self._change(login, doc_id, "attach_material", run, expected_version=expected_version)

    def remove_material(self, login: str, doc_id: int, material_id: int, *,
                        expected_version: int | None = None) -> Outcome:
        def run(ctx: _Ctx) -> None:
            self._require_editable(ctx)
            m = next((m for m in ctx.doc.materials if m.id == material_id), None)
            if m is None:
                raise NotFound(Reason("no_such_material", {"id": material_id}))
            ctx.details.update({"material_id": m.id, "title": m.title})
            ctx.doc.materials.remove(m)
            ctx.session.flush()
            self._rehash(ctx)
            return None

        return self._change(login, doc_id, "remove_material", run, expected_version=expected_version)

    def set_signers(self, login: str, doc_id: int, signer_logins: Sequence[str], *,
                    expected_version: int | None = None) -> Outcome:
        """Name who must sign the package; signatures of those who stay remain valid."""
        wanted = list(dict.fromkeys(s.strip() for s in signer_logins if s.strip()))
        if not wanted:
            raise invalid("signers", "name at least one signer")

        def run(ctx: _Ctx) -> None:
            self._require_editable(ctx)
            users = {u.login: u for u in ctx.session.scalars(select(User).where(User.login.in_(wanted)))}
            for name in wanted:
                if name not in users:
                    raise NotFound(Reason("no_such_user", {"login": name}))
                if not users[name].active:
                    raise invalid("signers", f"{name} is deactivated")
            keep = {users[n].id for n in wanted}
            for s in list(ctx.doc.signers):
                if s.user_id not in keep:
                    ctx.doc.signers.remove(s)
            present = {s.user_id for s in ctx.doc.signers}
            for name in wanted:
                if users[name].id not in present:
                    ctx.doc.signers.append(Signer(document_id=ctx.doc.id, user_id=users[name].id))
            ctx.session.flush()
            ctx.details["signers"] = wanted
            return None

        return self._change(login, doc_id, "set_signers", run, expected_version=expected_version)

    def sign(self, login: str, doc_id: int, *, package: str | None = None,
             expected_version: int | None = None) -> Outcome:
        """Sign the package as it is now; ``package`` (the hash the signer read) guards
        against signing something that changed after it was read."""

        def run(ctx: _Ctx) -> None:
            if ctx.doc.state != State.JOINT_SIGNOFF:
                raise Refused(Reason("wrong_state", {"state": ctx.doc.state, "trigger": "sign"}))
            if package is not None and package != ctx.doc.package_hash:
                raise ConcurrentChange(Reason("changed_meanwhile"))
            if ctx.actor.login in ctx.snap.signed_logins:
                raise Refused(Reason("already_signed", {"login": ctx.actor.login}))
            ctx.doc.signatures.append(Signature(document_id=ctx.doc.id, user_id=ctx.user.id,
                                                package_hash=ctx.doc.package_hash, signed_at=ctx.now))
            ctx.session.flush()
            remaining = sorted(ctx.snap.signer_logins - ctx.snap.signed_logins - {ctx.actor.login})
            ctx.details.update({"package_hash": ctx.doc.package_hash, "remaining": remaining})
            return None

        return self._change(login, doc_id, "sign", run, authorise=permissions.may_sign,
                            expected_version=expected_version)

    def fire(self, login: str, doc_id: int, trigger: str, *, reason: str | None = None,
             publication_url: str | None = None, published_at: datetime | None = None,
             expected_version: int | None = None) -> Outcome:
        """Fire a lifecycle trigger; its effects are applied here, never in callbacks."""
        if trigger == Trigger.PUBLISH:
            publication_url = check_url("publication_url", publication_url)
        if published_at is not None:
            published_at = to_utc(published_at)
        reason = reason.strip() if reason else reason
        if reason and len(reason) > 2000:
            raise invalid("reason", "longer than 2000 characters")

        def authorise(actor: ActorSnapshot, snap: DocumentSnapshot) -> list[Reason]:
            return permissions.may_fire(actor, snap, trigger)

        def run(ctx: _Ctx) -> str:
            args = {"reason": reason, "publication_url": publication_url,
                    "published_at": published_at or (ctx.now if trigger == Trigger.PUBLISH else None),
                    "now": ctx.now}
            decision = decide(ctx.snap, trigger, args)
            if not decision.allowed:
                raise Refused(decision.reasons)
            assert decision.dest is not None
            self._apply_effects(ctx, trigger, args)
            return decision.dest

        return self._change(login, doc_id, trigger, run, authorise=authorise,
                            expected_version=expected_version,
                            audit_details={"reason": reason} if reason else None)

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
            doc.due_at, doc.due_provisional = due.due_at, due.provisional
            doc.next_rung_at = doc.published_at  # the sweep looks once and stores the exact hint
            # The calendar source of each counted year goes on record with the deadline.
            ctx.details.update({"publication_url": doc.publication_url,
                                "published_at": doc.published_at, "due_at": doc.due_at,
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

        def first(channel: str) -> datetime:
            return min(p.posted_at for p in doc.postings if p.channel == channel)

        doc.posted_at = max(first("portal"), first("news_media"))
        assert doc.published_at is not None and doc.due_at is not None
        on_time, taken, late = posting_result(ctx.session, doc.published_at, doc.due_at,
                                              doc.posted_at, self.settings)
        doc.on_time, doc.working_days_taken, doc.working_days_late = on_time, taken, late
        ctx.details.update({"posted_at": doc.posted_at, "on_time": on_time,
                            "working_days_taken": taken, "working_days_late": late})
        if not on_time:
            self._notify(ctx, "posted_late", {"working_days_overdue": late},
                         dedupe_key=f"{doc.id}:posted_late")

    def _notify(self, ctx: _Ctx, event: str, extra: Mapping[str, Any] | None = None,
                dedupe_key: str | None = None) -> None:
        from notifications.outbox import Request, enqueue_many

        # No autoflush meanwhile: the document's own changes go out in the change's single
        # UPDATE (with its version check), and the outbox rows are plain inserts.
        with ctx.session.no_autoflush:
            (queued,) = enqueue_many(ctx.session, [Request(event, ctx.doc, dict(extra or {}), dedupe_key)],
                                     at=ctx.now, settings=self.settings, actor=ctx.actor)
        ctx.entries.extend(queued.entries)
        ids = list(queued.outbox_ids)
        ctx.details.setdefault("emails", []).extend(ids)

    def record_posting(self, login: str, doc_id: int, *, channel: str, url: str | None = None,
                       outlet: str | None = None, evidence: str | None = None,
                       posted_at: datetime | None = None,
                       expected_version: int | None = None) -> Outcome:
        """Record one interpretation posting; once the portal and a news medium both have
        one, the document moves to ``interpretation_posted`` in the same transaction."""
        if channel not in CHANNELS:
            raise invalid("channel", f"must be one of {', '.join(CHANNELS)}")
        url = check_url("url", url)
        if not url and not (evidence and evidence.strip()):
            raise invalid("url", "give the posting's URL or evidence of it")
        if outlet is not None and (len(outlet) > 200 or "\n" in outlet):
            raise invalid("outlet", "one line, at most 200 characters")
        when = to_utc(posted_at) if posted_at is not None else None

        def run(ctx: _Ctx) -> str | None:
            if ctx.doc.state not in POSTABLE:
                raise Refused(Reason("wrong_state", {"state": ctx.doc.state, "trigger": "post_interpretation"}))
            at = when or ctx.now
            if at > ctx.now:
                raise invalid("posted_at", "lies in the future")
            if ctx.doc.published_at and at < ctx.doc.published_at:
                raise invalid("posted_at", "is before the policy was published")
            posting = Posting(document_id=ctx.doc.id, channel=channel, outlet=outlet, url=url,
                              evidence=evidence, posted_at=at, recorded_at=ctx.now,
                              recorded_by=ctx.user.id)
            ctx.doc.postings.append(posting)
            ctx.session.flush()
            ctx.details.update({"channel": channel, "outlet": outlet, "url": url, "posted_at": at})
            snap = document_snapshot(ctx.session, ctx.doc)
            decision = decide(snap, Trigger.POST_INTERPRETATION, {"now": ctx.now})
            if not decision.allowed:
                ctx.details["still_missing"] = [r.code for r in decision.reasons]
                return None
            # Both channels are in: complete in the same transaction. The posting keeps its own
            # audit line; the state change is audited as the trigger it is.
            ctx.entries.append(audit.Entry(
                ctx.now, ctx.actor, "record_posting", document_id=ctx.doc.id,
                state_before=ctx.doc.state, state_after=ctx.doc.state, details=dict(ctx.details)))
            ctx.details.clear()
            ctx.details["following"] = "record_posting"
            ctx.action = Trigger.POST_INTERPRETATION.value
            self._complete(ctx)
            return decision.dest

        outcome = self._change(login, doc_id, "record_posting", run, expected_version=expected_version)
        return outcome

    # ------------------------------------------------------------------ reads
    def read_document(self, login: str, doc_id: int) -> dict[str, Any]:
        """A document with its package, signatures, postings, deadline and what is missing."""
        with self.db.transaction() as session:
            user, actor = self._actor(session, login)
            doc = self._load(session, doc_id)
            snap = document_snapshot(session, doc)
            denied = permissions.may_read(actor, snap)
            if not denied:
                return self._view(session, doc, snap)
        self.audit_refusal(actor=actor, action="read", document_id=doc_id, state=doc.state,
                           error=Forbidden(denied))
        raise Forbidden(denied)

    def next_steps(self, snap: DocumentSnapshot, lang: str | None = None) -> list[dict[str, Any]]:
        """Each trigger offered in the current state and what it still lacks, in words."""
        lang = lang or self.settings.language
        now = self.clock.now()
        # Facts given when the trigger is fired (a reason, the URL) are not "missing" yet.
        given = {"reason": "given when fired", "publication_url": "https://given.when.fired",
                 "published_at": now, "now": now}
        steps = []
        for trig in triggers_from(snap.state):
            decision = decide(snap, trig, given)
            steps.append({"trigger": trig, "ready": decision.allowed,
                          "missing": [r.text(lang) for r in decision.reasons]})
        return steps

    def _view(self, session: Session, doc: Document, snap: DocumentSnapshot) -> dict[str, Any]:
        users = {u.id: u.login for u in session.scalars(select(User).where(User.id.in_(
            {s.user_id for s in doc.signatures} | {p.recorded_by for p in doc.postings})))}
        return {
            "id": doc.id, "title": doc.title, "doc_number": doc.doc_number,
            "unit": snap.unit_code, "state": doc.state, "version": doc.version,
            "disclosure": doc.disclosure, "risk_assessment_needed": doc.risk_assessment_needed,
            "risk_assessment": doc.risk_assessment, "response_plan": doc.response_plan,
            "plan": doc.plan, "body": doc.body, "interpreter": snap.interpreter_login,
            "package_hash": doc.package_hash,
            "materials": [{"id": m.id, "form": m.form, "title": m.title, "uri": m.uri,
                           "body": m.body, "content_hash": m.content_hash} for m in doc.materials],
            "signers": [{"login": login, "signed": login in snap.signed_logins}
                        for login in sorted(snap.signer_logins)],
            "signatures": [{"login": users.get(s.user_id), "package_hash": s.package_hash,
                            "signed_at": s.signed_at, "voided_at": s.voided_at,
                            "void_reason": s.void_reason} for s in doc.signatures],
            "publication_url": doc.publication_url, "published_at": doc.published_at,
            "due_at": doc.due_at, "due_provisional": doc.due_provisional,
            "postings": [{"channel": p.channel, "outlet": p.outlet, "url": p.url,
                          "evidence": p.evidence, "posted_at": p.posted_at,
                          "recorded_by": users.get(p.recorded_by)} for p in doc.postings],
            "posted_at": doc.posted_at, "on_time": doc.on_time,
            "working_days_taken": doc.working_days_taken,
            "working_days_late": doc.working_days_late,
            "closed_reason": doc.closed_reason, "created_at": doc.created_at,
            "updated_at": doc.updated_at, "next_steps": self.next_steps(snap),
        }

    def list_documents(self, login: str, *, state: str | None = None,
                       unit_code: str | None = None, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
        """What this user may see: their unit's and what they sign; everything for readers-of-all."""
        if state is not None and state not in {s.value for s in State}:
            raise invalid("state", f"must be one of {', '.join(s.value for s in State)}")
        with self.db.transaction() as session:
            user, actor = self._actor(session, login)
            stmt = select(Document, Unit.code).join(Unit, Unit.id == Document.unit_id)
            if not actor.roles & permissions.READ_ALL_ROLES:
                signed = select(Signer.document_id).where(Signer.user_id == user.id)
                stmt = stmt.where((Document.unit_id == user.unit_id) | Document.id.in_(signed))
            if state:
                stmt = stmt.where(Document.state == state)
            if unit_code:
                stmt = stmt.where(Unit.code == unit_code)
            stmt = stmt.order_by(Document.id).limit(limit).offset(offset)
            return [{"id": d.id, "unit": code, "title": d.title, "doc_number": d.doc_number,
                     "state": d.state, "due_at": d.due_at, "due_provisional": d.due_provisional,
                     "on_time": d.on_time, "version": d.version}
                    for d, code in session.execute(stmt)]

    def timeline(self, login: str, doc_id: int) -> list[dict[str, Any]]:
        """The document's audit chain, oldest first (readers of the document only)."""
        self.read_document(login, doc_id)  # authorises (and audits a refusal)
        from workflow.kernel.models import AuditEvent
        import json

        with self.db.transaction() as session:
            events = session.scalars(select(AuditEvent).where(
                AuditEvent.chain == audit.chain_for(doc_id)).order_by(AuditEvent.seq))
            return [{"seq": e.seq, "at": e.at, "actor": e.actor, "actor_unit": e.actor_unit,
                     "action": e.action, "outcome": e.outcome, "state_before": e.state_before,
                     "state_after": e.state_after, "details": json.loads(e.details)}
                    for e in events]
