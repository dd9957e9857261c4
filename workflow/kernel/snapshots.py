"""Build the frozen snapshots :mod:`states` decides on from ORM rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from states.snapshot import ActorSnapshot, DocumentSnapshot, MaterialSnapshot, PostingSnapshot
from workflow.kernel.models import Document, Unit, User


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
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    unit = session.get(Unit, doc.unit_id)
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
    )
