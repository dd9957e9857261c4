"""Build the frozen snapshots :mod:`states` decides on from ORM rows."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from states.lifecycle import EDITABLE
from states.snapshot import ActorSnapshot, DocumentSnapshot, MaterialSnapshot, PostingSnapshot, SignerSnapshot
from workflow.kernel.models import Document, DocumentEditor, Unit, User


def actor_snapshot(user: User, unit: Unit | None = None) -> ActorSnapshot:
    unit = unit or user.unit
    return ActorSnapshot(
        login=user.login,
        unit_id=user.unit_id,
        unit_code=unit.code if unit else "",
        roles=user.role_set,
        active=user.active,
        name=user.name or "",
    )


def document_snapshot(session: Session, doc: Document) -> DocumentSnapshot:
    """Everything guards and permissions may look at, resolved to logins and codes."""
    ids = {s.user_id for s in doc.signers} | {s.user_id for s in doc.signatures}
    if doc.interpreter_id is not None:
        ids.add(doc.interpreter_id)
    if doc.created_by is not None:
        ids.add(doc.created_by)
    users = (
        {
            u.id: u
            for u in session.scalars(select(User).where(User.id.in_(ids)).options(joinedload(User.unit)))
        }
        if ids
        else {}
    )
    unit = session.get(Unit, doc.unit_id)
    # Who changed the package in the current sign-off round: only asked while it can change.
    editors: frozenset[str] = frozenset()
    if doc.state in EDITABLE and doc.id is not None:
        editors = frozenset(
            session.scalars(
                select(User.login)
                .join(DocumentEditor, DocumentEditor.user_id == User.id)
                .where(DocumentEditor.document_id == doc.id, DocumentEditor.round >= (doc.signoff_round or 0))
            )
        )
    return snapshot_from(doc, users, unit, editors)


def snapshot_from(
    doc: Document, users: Mapping[int, User], unit: Unit | None, editors: frozenset[str]
) -> DocumentSnapshot:
    """The snapshot of ``doc`` from rows already read (the command path reads them in one
    statement): ``users`` holds at least its signers', signatories', interpreter and creator
    by id (each with its unit), ``editors`` the logins of its current round's editors."""
    if doc.state not in EDITABLE:
        editors = frozenset()
    interpreter = users.get(doc.interpreter_id) if doc.interpreter_id is not None else None
    signed = frozenset(
        users[s.user_id].login
        for s in doc.signatures
        if s.voided_at is None and s.package_hash == doc.package_hash and s.user_id in users
    )
    return DocumentSnapshot(
        id=doc.id,
        state=doc.state,
        unit_id=doc.unit_id,
        unit_code=unit.code if unit else "",
        title=doc.title,
        doc_number=doc.doc_number,
        body=doc.body or "",
        disclosure=doc.disclosure,
        risk_assessment_needed=doc.risk_assessment_needed,
        risk_assessment=doc.risk_assessment,
        response_plan=doc.response_plan,
        plan=doc.plan,
        interpreter_login=interpreter.login if interpreter else None,
        interpreter_unit_id=interpreter.unit_id if interpreter else None,
        materials=tuple(MaterialSnapshot(m.form, m.title, m.content_hash) for m in doc.materials),
        signer_logins=frozenset(users[s.user_id].login for s in doc.signers if s.user_id in users),
        signed_logins=signed,
        package_hash=doc.package_hash,
        publication_url=doc.publication_url,
        published_at=doc.published_at,
        postings=tuple(PostingSnapshot(p.channel, p.url, p.evidence, p.posted_at) for p in doc.postings),
        creator_login=users[doc.created_by].login if doc.created_by in users else None,
        editor_logins=editors,
        unit_head_login=unit.head_login if unit else None,
        signers=tuple(signer_snapshot(users[s.user_id]) for s in doc.signers if s.user_id in users),
    )


def signer_snapshot(user: User) -> SignerSnapshot:
    """A (would-be) signer as the sign-off rule sees them."""
    unit = user.unit
    return SignerSnapshot(
        login=user.login,
        roles=user.role_set,
        unit_code=unit.code if unit else "",
        unit_kind=unit.kind if unit else "",
        active=user.active,
    )
