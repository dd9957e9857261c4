"""Document reads: one document with what it still lacks, the list a user may see, the timeline."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from states import permissions
from states.i18n import _
from states.lifecycle import State, decide, triggers_from
from states.snapshot import ActorSnapshot, DocumentSnapshot
from workflow.kernel.errors import Forbidden
from workflow.kernel.models import Document, Signer, Unit, User
from workflow.kernel.snapshots import document_snapshot
from workflow.services.audit_queries import timeline_events
from workflow.services.claims import corrections, posting_claim, publication_claim
from workflow.services.documents.transaction import DocumentService
from workflow.services.documents.validation import invalid
from workflow.services.documents.views import (
    CorrectionView,
    DocumentSummary,
    DocumentView,
    MaterialView,
    NextStep,
    PostingView,
    PublicationClaimView,
    SignatureView,
    SignerView,
    TimelineEvent,
)
from workflow.services.evidence.queries import document_evidence


class DocumentReads(DocumentService):
    """What a user may read of documents; a refused read is audited like a refused change."""

    def read_document(self, login: str, doc_id: int) -> DocumentView:
        """A document with its package, signatures, postings, deadline and what is missing."""
        with self.db.transaction() as session:
            _user, actor = self._actor(session, login)
            doc = self._load(session, doc_id)
            snap = document_snapshot(session, doc)
            denied = permissions.may_read(actor, snap)
            if not denied:
                return self._view(session, doc, snap)
        self.audit_refusal(
            actor=actor, action="read", document_id=doc_id, state=doc.state, error=Forbidden(denied)
        )
        raise Forbidden(denied)

    def _counted_days(self, session: Session, doc: Document) -> tuple[int | None, int | None]:
        """Working days taken and late, counted now on the calendar as the reports count them
        (:func:`states.deadline.posting_outcome`): the stored columns keep what was counted at
        completion, which a later calendar correction (or a count made before the definition
        of stop 13) leaves behind, and a supervisor must not see two figures for one fact. On
        time is the stored verdict: it is judged against the deadline the unit was told."""
        if doc.posted_at is None or doc.published_at is None or doc.due_at is None:
            return doc.working_days_taken, doc.working_days_late
        from workflow.kernel.calendar import posting_result

        _, taken, late = posting_result(session, doc.published_at, doc.due_at, doc.posted_at, self.settings)
        return taken, late

    def next_steps(self, snap: DocumentSnapshot, lang: str | None = None) -> tuple[NextStep, ...]:
        """Each trigger offered in the current state and what it still lacks, in words."""
        lang = lang or self.settings.language
        now = self.clock.now()
        # Facts given when the trigger is fired (a reason, the URL) are not "missing" yet.
        given = {
            "reason": "given when fired",
            "publication_url": "https://given.when.fired",
            "published_at": now,
            "now": now,
            "signer_rule": self.settings.signoff_rule,
            "grace": self.settings.claim_grace,
        }
        steps = []
        for trig in triggers_from(snap.state):
            decision = decide(snap, trig, given)
            steps.append(NextStep(trig, decision.allowed, tuple(r.text(lang) for r in decision.reasons)))
        return tuple(steps)

    def _view(self, session: Session, doc: Document, snap: DocumentSnapshot) -> DocumentView:
        grace = self.settings.claim_grace
        taken, late = self._counted_days(session, doc)
        checked, publication_evidence = document_evidence(session, doc, self.settings.language)
        users = {
            u.id: u.login
            for u in session.scalars(
                select(User).where(
                    User.id.in_({s.user_id for s in doc.signatures} | {p.recorded_by for p in doc.postings})
                )
            )
        }
        claimed = publication_claim(doc, grace)
        publication = PublicationClaimView(**claimed) if claimed is not None else None
        postings = tuple(
            PostingView(
                id=p.id,
                channel=p.channel,
                outlet=p.outlet,
                url=p.url,
                evidence=checked[p.id],
                posted_at=p.posted_at,
                recorded_by=users.get(p.recorded_by),
                **posting_claim(p, grace),
            )
            for p in doc.postings
        )
        waiting = int(bool(publication and publication.awaiting_confirmation)) + sum(
            1 for p in postings if p.awaiting_confirmation
        )
        return DocumentView(
            id=doc.id,
            title=doc.title,
            doc_number=doc.doc_number,
            unit=snap.unit_code,
            state=doc.state,
            version=doc.version,
            disclosure=doc.disclosure,
            risk_assessment_needed=doc.risk_assessment_needed,
            risk_assessment=doc.risk_assessment,
            response_plan=doc.response_plan,
            plan=doc.plan,
            body=doc.body,
            interpreter=snap.interpreter_login,
            package_hash=doc.package_hash,
            materials=tuple(
                MaterialView(
                    m.id,
                    m.form,
                    m.title,
                    m.uri,
                    m.body,
                    m.content_hash,
                    m.file_sha256,
                    m.file_size,
                    m.file_type,
                    m.file_name,
                )
                for m in doc.materials
            ),
            signers=tuple(
                SignerView(login, login in snap.signed_logins) for login in sorted(snap.signer_logins)
            ),
            signatures=tuple(
                SignatureView(users.get(s.user_id), s.package_hash, s.signed_at, s.voided_at, s.void_reason)
                for s in doc.signatures
            ),
            publication_url=doc.publication_url,
            published_at=doc.published_at,
            publication=publication,
            publication_evidence=publication_evidence,
            due_at=doc.due_at,
            due_provisional=doc.due_provisional,
            postings=postings,
            claims_waiting=waiting,
            corrections=tuple(CorrectionView(**c) for c in corrections(session, [doc.id])[doc.id]),
            posted_at=doc.posted_at,
            on_time=doc.on_time,
            working_days_taken=taken,
            working_days_late=late,
            closed_reason=doc.closed_reason,
            created_at=doc.created_at,
            updated_at=doc.updated_at,
            next_steps=self.next_steps(snap),
        )

    def list_documents(
        self,
        login: str,
        *,
        state: str | None = None,
        unit_code: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[DocumentSummary]:
        """What this user may see: their unit's and what they sign; everything for readers-of-all."""
        if state is not None and state not in {s.value for s in State}:
            raise invalid("state", _("must be one of {p0}", p0=", ".join(s.value for s in State)))
        with self.db.transaction() as session:
            user, actor = self._actor(session, login)
            denied = permissions.may_use(actor)
            if not denied:
                return self._list(session, user, actor, state, unit_code, limit, offset)
        self.audit_refusal(
            actor=actor,
            action="list",
            document_id=None,
            state=None,
            error=Forbidden(denied),
            extra={"state": state, "unit": unit_code},
        )
        raise Forbidden(denied)

    @staticmethod
    def _list(
        session: Session,
        user: User,
        actor: ActorSnapshot,
        state: str | None,
        unit_code: str | None,
        limit: int,
        offset: int,
    ) -> list[DocumentSummary]:
        stmt = select(Document, Unit.code).join(Unit, Unit.id == Document.unit_id)
        if not actor.roles & permissions.READ_ALL_ROLES:
            signed = select(Signer.document_id).where(Signer.user_id == user.id)
            stmt = stmt.where((Document.unit_id == user.unit_id) | Document.id.in_(signed))
        if state:
            stmt = stmt.where(Document.state == state)
        if unit_code:
            stmt = stmt.where(Unit.code == unit_code)
        stmt = stmt.order_by(Document.id).limit(limit).offset(offset)
        return [
            DocumentSummary(
                d.id, code, d.title, d.doc_number, d.state, d.due_at, d.due_provisional, d.on_time, d.version
            )
            for d, code in session.execute(stmt)
        ]

    def timeline(self, login: str, doc_id: int) -> list[TimelineEvent]:
        """The document's audit chain, oldest first (readers of the document only). The one
        document timeline of the interfaces; the audit service's ``timeline`` is the same
        chain as an exportable table (``audit timeline``, the CSV download)."""
        self.read_document(login, doc_id)  # authorises (and audits a refusal)
        with self.db.transaction() as session:
            return [
                TimelineEvent(
                    e.seq,
                    e.at,
                    e.actor,
                    e.actor_unit,
                    e.action,
                    e.outcome,
                    e.state_before,
                    e.state_after,
                    json.loads(e.details),
                    channel=e.channel,
                    credential=e.credential,
                    wall_at=e.wall_at,
                    clock_override=e.wall_at is not None,
                )
                for e in timeline_events(session, doc_id)
            ]
