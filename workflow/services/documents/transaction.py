"""The transaction every change to a document runs in (docs/design.md §8).

``load → authorise → ask states/ → write the document, its audit event and its outbox rows``
in one transaction. A refusal (no right, wrong state, a guard failed) rolls that transaction
back and writes only the audit line of the refusal, in a transaction of its own. A concurrent
change is caught by the compare-and-set on ``documents.version`` and reported, not merged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from notifications.recipients import known_users
from states import permissions
from states.lifecycle import EDITABLE
from states.package import PACKAGE_FIELDS, package_hash_of
from states.reasons import Reason
from states.snapshot import (
    ActorSnapshot,
    DocumentSnapshot,
    MaterialSnapshot,
)
from workflow.kernel import audit, bursts
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import (
    ConcurrentChange,
    Forbidden,
    NotFound,
    Refused,
    SantongbuError,
)
from workflow.kernel.models import Document, User
from workflow.kernel.settings import Settings
from workflow.kernel.snapshots import actor_snapshot, snapshot_from
from workflow.services import authz
from workflow.services.documents.loading import Loaded, load
from workflow.services.documents.writing import record_editor, void_signatures, write_document


@dataclass(frozen=True)
class Outcome:
    """What a command did; send ``version`` back as ``If-Match`` to guard the next change."""

    # One definition for every interface: the API uses this dataclass as its response model
    # (its docstring is the OpenAPI description), the CLI prints it (``--if-version``).

    document_id: int
    action: str
    state_before: str
    state_after: str
    version: int
    details: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "action": self.action,
            "state_before": self.state_before,
            "state_after": self.state_after,
            "version": self.version,
            "details": dict(self.details),
        }


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
    user: User | authz.Principal
    now: datetime
    details: dict[str, Any]
    action: str = ""
    entries: list[audit.Entry] = field(default_factory=list)
    """Audit events of this change before its own, appended with it at the end (one
    :func:`audit.append_many`: three statements however many events a change writes)."""
    edited: bool = False
    """The body changed the package (text, plan, materials, interpreter): the actor becomes
    one of its editors, who may not sign it (states/signoff.py)."""
    loaded: Loaded | None = None
    """What the command's one read found (the users by id among it)."""
    voided: tuple[list[int], str] | None = None
    """Signatures voided by this change (their ids, why): one Core UPDATE after the
    document's own (:func:`.writing.void_signatures`), not a unit-of-work flush."""

    def snapshot(self) -> DocumentSnapshot:
        """The document as it stands now in this transaction (after the body's changes)."""
        assert self.loaded is not None
        return snapshot_from(
            self.doc, self.loaded.users, self.loaded.units.get(self.doc.unit_id), self.loaded.editors
        )


class DocumentService:
    """What document commands and reads share: the database, the clock, the settings, and the
    one transaction template every change runs in."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    # ------------------------------------------------------------------ plumbing
    def _actor(self, session: Session, login: str) -> tuple[User, ActorSnapshot]:
        return authz.actor(session, login)

    def _principal(self, session: Session, who: authz.Who) -> tuple[User | authz.Principal, ActorSnapshot]:
        """The acting user as given by an interface that authenticated them, or looked up."""
        if isinstance(who, authz.Principal):
            return who, who.actor
        return authz.actor(session, who)

    def _load(self, session: Session, doc_id: int) -> Document:
        doc = session.scalars(
            select(Document)
            .where(Document.id == doc_id)
            .options(
                selectinload(Document.materials),
                selectinload(Document.signers),
                selectinload(Document.signatures),
                selectinload(Document.postings),
            )
        ).first()
        if doc is None:
            raise NotFound(Reason("no_such_document", {"id": doc_id}))
        return doc

    def audit_refusal(
        self,
        *,
        actor: ActorSnapshot | None,
        action: str,
        document_id: int | None,
        state: str | None,
        error: SantongbuError,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """The only write a refused command leaves behind."""
        audit.record_refusal(
            self.db,
            at=self.clock.now(),
            actor=actor,
            action=action,
            reasons=error.reasons,
            document_id=document_id,
            state=state,
            details=extra,
        )

    def _change(
        self,
        login: authz.Who,
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

        Statements: one read of everything the decision needs (:mod:`.loading`), the body's
        own writes (a signature, a posting, an outbox row …), the document's versioned UPDATE,
        one multi-row INSERT of the audit events (on PostgreSQL after the chain's lock and
        head), COMMIT.
        """
        actor_snap: ActorSnapshot | None = None
        try:
            with self.db.transaction() as session:
                principal = login if isinstance(login, authz.Principal) else None
                loaded = load(session, doc_id, None if principal else authz.login_of(login))
                if loaded is None:
                    if principal is None:
                        self._actor(session, authz.login_of(login))  # an unknown login says so first
                    raise NotFound(Reason("no_such_document", {"id": doc_id}))
                user: User | authz.Principal
                if principal is not None:
                    user, actor_snap = principal, principal.actor
                elif loaded.actor is not None:
                    user, actor_snap = loaded.actor, actor_snapshot(loaded.actor)
                else:
                    raise NotFound(Reason("no_such_user", {"login": login}))
                doc = loaded.doc
                if expected_version is not None and doc.version != expected_version:
                    raise ConcurrentChange(Reason("changed_meanwhile"))
                snap = snapshot_from(doc, loaded.users, loaded.units.get(doc.unit_id), loaded.editors)
                known_users(session, loaded.users.values())  # recipients look them up by login
                before = doc.state
                denied = authorise(actor_snap, snap)
                if denied:
                    raise _Refusal(Forbidden(denied), before)
                ctx = _Ctx(
                    session,
                    doc,
                    snap,
                    actor_snap,
                    user,
                    self.clock.now(),
                    dict(audit_details or {}),
                    action,
                    loaded=loaded,
                )
                try:
                    with session.no_autoflush:
                        after = body(ctx) or before
                except Refused as exc:
                    raise _Refusal(exc, before) from exc
                doc.state = after
                doc.updated_at = ctx.now
                flag_modified(doc, "updated_at")  # every change bumps the version, even at one instant
                write_document(session, doc)
                if ctx.voided:
                    void_signatures(session, *ctx.voided, ctx.now)
                session.flush()
                if ctx.edited:
                    record_editor(session, doc, user.id, ctx.now)
                audit.append_many(
                    session,
                    [
                        *ctx.entries,
                        audit.Entry(
                            ctx.now,
                            actor_snap,
                            ctx.action,
                            document_id=doc.id,
                            state_before=before,
                            state_after=after,
                            details=ctx.details,
                        ),
                    ],
                    heads=loaded.heads,
                )
                outcome = Outcome(doc.id, ctx.action, before, after, doc.version, ctx.details)
        except _Refusal as refusal:
            self.audit_refusal(
                actor=actor_snap,
                action=action,
                document_id=doc_id,
                state=refusal.state,
                error=refusal.error,
                extra=audit_details,
            )
            raise refusal.error from None
        except (StaleDataError, IntegrityError, ConcurrentChange) as exc:
            self._audit_conflict(authz.login_of(login), doc_id, action)
            raise ConcurrentChange(Reason("changed_meanwhile")) from exc
        return outcome

    def _audit_conflict(self, login: str, doc_id: int, action: str) -> None:
        """A lost compare-and-set is a refusal too, but they come in bursts (two hundred writers
        racing on one document): counted per document and written as one ``changed_meanwhile``
        event per window on the document's chain (:mod:`workflow.kernel.bursts`)."""
        bursts.count(
            self.db,
            key=f"changed_meanwhile:doc:{doc_id}",
            action="changed_meanwhile",
            document_id=doc_id,
            at=self.clock.now(),
            window=timedelta(seconds=self.settings.audit_burst_window_seconds),
            tally={"action": action, "actor": login},
        )

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
        return package_hash_of(
            {name: getattr(doc, name) for name in PACKAGE_FIELDS},
            interpreter_login=interpreter.login if interpreter else None,
            materials=[MaterialSnapshot(m.form, m.title, m.content_hash) for m in doc.materials],
        )

    def _void_signatures(self, ctx: _Ctx, why: str) -> None:
        voided = [s for s in ctx.doc.signatures if s.voided_at is None]
        if not voided:
            return
        known = ctx.loaded.users if ctx.loaded is not None else {}
        missing = {s.user_id for s in voided} - known.keys()
        logins = {uid: u.login for uid, u in known.items()}
        if missing:
            logins.update(
                (u.id, u.login) for u in ctx.session.scalars(select(User).where(User.id.in_(missing)))
            )
        for s in voided:  # as written: the UPDATE follows the document's (see _change)
            set_committed_value(s, "voided_at", ctx.now)
            set_committed_value(s, "void_reason", why)
        earlier = ctx.voided[0] if ctx.voided else []
        ctx.voided = ([*earlier, *(s.id for s in voided)], why)
        ctx.entries.append(
            audit.Entry(
                ctx.now,
                ctx.actor,
                "signatures_voided",
                document_id=ctx.doc.id,
                state_before=ctx.doc.state,
                state_after=ctx.doc.state,
                details={"signers": sorted(logins[s.user_id] for s in voided), "why": why},
            )
        )

    def _require_editable(self, ctx: _Ctx) -> None:
        if ctx.doc.state not in EDITABLE:
            raise Refused(Reason("frozen", {"state": ctx.doc.state}))

    # ------------------------------------------------------------------ commands
    def _notify(
        self, ctx: _Ctx, event: str, extra: Mapping[str, Any] | None = None, dedupe_key: str | None = None
    ) -> None:
        from notifications.outbox import Request, enqueue_many

        # No autoflush meanwhile: the document's own changes go out in the change's single
        # UPDATE (with its version check), and the outbox rows are plain inserts.
        with ctx.session.no_autoflush:
            (queued,) = enqueue_many(
                ctx.session,
                [Request(event, ctx.doc, dict(extra or {}), dedupe_key)],
                at=ctx.now,
                settings=self.settings,
                actor=ctx.actor,
            )
        ctx.entries.extend(queued.entries)
        ids = list(queued.outbox_ids)
        ctx.details.setdefault("emails", []).extend(ids)
