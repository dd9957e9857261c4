"""Bringing in documents already in progress (an office that starts mid-year): a file of
documents with their facts so far, validated whole and written all or nothing (administrators).

Each document is written as the file states it: its state, package (text, plan, materials),
signers and signatures on that package, publication instant and URL, postings, and for a
posted one whether it was on time. Its audit chain starts with one ``imported`` event that
says so: the file (name and SHA-256), the row, and every fact the file stated. From then on
the engine takes over: a published document has its deadline computed on the calendar as for
any publication, and the sweep looks at it at once (its hint is its publication instant), so
an imported document already overdue is escalated by the next sweep, once per rung. No email
is sent for the import itself. One ``documents_imported`` event on the system chain records
the file and the ids it made.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from states import permissions
from states.lifecycle import State
from states.package import content_hash
from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow.kernel import audit
from workflow.kernel.errors import Denied, InvalidInput
from workflow.kernel.models import Document, Material, Posting, Signature, Signer, Unit, User
from workflow.services import authz
from workflow.services.documents.import_rows import Row, read_rows
from workflow.services.documents.transaction import DocumentService
from workflow.services.documents.validation import invalid
from workflow.services.table_files import FileProblem

ACTION = "imported"


@dataclass(frozen=True)
class ImportReport:
    file: str
    sha256: str
    documents: tuple[int, ...]
    """The ids made, in the file's order (empty for a dry run)."""
    by_state: dict[str, int]
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "documents": list(self.documents),
            "count": sum(self.by_state.values()),
            "by_state": self.by_state,
            "dry_run": self.dry_run,
        }


def _problems(found: list[tuple[int, str, str]]) -> InvalidInput:
    return InvalidInput(
        [Reason("invalid", {"field": f"row {n}: {key}", "problem": msg}) for n, key, msg in sorted(found)]
    )


class DocumentImport(DocumentService):
    """``santongbu doc import FILE``."""

    def import_documents(self, login: str, path: Path, *, dry_run: bool = False) -> ImportReport:
        """Every row checked first (the file, then against the directory and the documents
        already there); any problem refuses the whole file, listing each with its row."""
        try:
            rows, found = read_rows(path, self.settings.timezone)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except FileProblem as exc:
            raise invalid(path.name, exc.args[0]) from None
        try:
            with self.db.transaction() as session:
                user, actor = authz.require(session, login, permissions.may_administer)
                found += self._check(session, rows)
                if found:
                    raise _problems(found)
                counts = dict(Counter(r.state.value for r in rows))
                if dry_run:
                    return ImportReport(path.name, digest, (), counts, True)
                ids = self._write(session, user, actor, rows, path.name, digest)
                return ImportReport(path.name, digest, tuple(ids), counts, False)
        except Denied as denied:
            audit.record_refusal(
                self.db,
                at=self.clock.now(),
                actor=denied.actor,
                action="documents_imported",
                reasons=denied.error.reasons,
                details={"file": path.name},
            )
            raise denied.error from None

    def _check(self, session: Session, rows: list[Row]) -> list[tuple[int, str, str]]:
        """What the file cannot know: units, users, who may interpret and sign, the clock,
        and 文号 already used (in the file or the database)."""
        found: list[tuple[int, str, str]] = []
        now = self.clock.now()
        units = {u.code: u for u in session.scalars(select(Unit))}
        logins = {x for r in rows for x in (r.interpreter, *r.signers) if x}
        users = (
            {u.login: u for u in session.scalars(select(User).where(User.login.in_(logins)))}
            if logins
            else {}
        )
        numbers = Counter(r.doc_number for r in rows if r.doc_number)
        taken = (
            set(session.scalars(select(Document.doc_number).where(Document.doc_number.in_(list(numbers)))))
            if numbers
            else set()
        )
        for r in rows:
            unit = units.get(r.unit)
            if unit is None:
                found.append((r.number, "unit", f"no unit {r.unit!r}"))
            for key, names in (
                ("interpreter", [r.interpreter] if r.interpreter else []),
                ("signers", r.signers),
            ):
                for name in names:
                    person = users.get(name)
                    if person is None:
                        found.append((r.number, key, f"no user {name!r}"))
                    elif not person.active:
                        found.append((r.number, key, f"{name} is inactive"))
            interpreter = users.get(r.interpreter or "")
            if unit is not None and interpreter is not None and interpreter.unit_id != unit.id:
                found.append(
                    (
                        r.number,
                        "interpreter",
                        f"{interpreter.login} is not a member of {unit.code} (谁起草谁解读)",
                    )
                )
            if r.doc_number and (numbers[r.doc_number] > 1 or r.doc_number in taken):
                where = "twice in the file" if numbers[r.doc_number] > 1 else "already in the database"
                found.append((r.number, "doc_number", f"{r.doc_number} {where}"))
            for key, when in (
                ("published_at", r.published_at),
                *((f"{p.channel}_posted_at", p.posted_at) for p in r.postings),
            ):
                if when is not None and when > now:
                    found.append((r.number, key, "in the future"))
        return found

    def _write(
        self, session: Session, user: User, actor: ActorSnapshot, rows: list[Row], file: str, digest: str
    ) -> list[int]:
        from workflow.kernel.calendar import due_for, posting_result

        now = self.clock.now()
        units = {u.code: u.id for u in session.scalars(select(Unit))}
        logins = {x for r in rows for x in (r.interpreter, *r.signers) if x}
        people = (
            {u.login: u.id for u in session.scalars(select(User).where(User.login.in_(logins)))}
            if logins
            else {}
        )
        entries: list[audit.Entry] = []
        ids: list[int] = []
        for r in rows:
            doc = Document(
                unit_id=units[r.unit],
                title=r.title,
                doc_number=r.doc_number,
                body=r.body,
                disclosure=r.disclosure,
                risk_assessment_needed=r.risk_assessment_needed,
                risk_assessment=r.risk_assessment,
                response_plan=r.response_plan,
                plan=r.plan,
                interpreter_id=people.get(r.interpreter or ""),
                state=r.state.value,
                created_by=user.id,
                created_at=now,
                updated_at=now,
                package_hash="",
            )
            doc.materials = [
                Material(
                    form=m.form,
                    title=m.title,
                    content_hash=content_hash(m.form, m.title, None, None),
                    created_by=user.id,
                    created_at=now,
                )
                for m in r.materials
            ]
            session.add(doc)
            session.flush()
            doc.package_hash = self._package_hash(session, doc)
            doc.signers = [Signer(user_id=people[x]) for x in r.signers]
            doc.signatures = [
                Signature(user_id=people[x], package_hash=doc.package_hash, signed_at=r.published_at or now)
                for x in r.signed
            ]
            doc.postings = [
                Posting(
                    channel=p.channel,
                    outlet=p.outlet,
                    url=p.url,
                    evidence=p.evidence,
                    posted_at=p.posted_at,
                    recorded_at=now,
                    recorded_by=user.id,
                    # History brought in from before the system: counted as claimed, as
                    # 0007_trust counts the postings recorded before claims were judged.
                    migrated=True,
                )
                for p in r.postings
            ]
            session.flush()  # the postings' ids, for the imported event (audit verify replays them)
            details: dict[str, Any] = {
                "file": file,
                "sha256": digest,
                **r.facts(),
                "package_hash": doc.package_hash,
            }
            for fact, posting in zip(details["postings"], doc.postings, strict=True):
                fact["posting_id"] = posting.id
            if r.published_at is not None:
                due = due_for(session, r.published_at, self.settings)
                doc.publication_url, doc.published_at = r.publication_url, r.published_at
                doc.published_recorded_at, doc.publication_migrated = now, True  # as the postings
                doc.due_at, doc.due_provisional = due.due_at, due.provisional
                details.update(due_at=due.due_at, due_provisional=due.provisional)
                if r.state is State.PUBLISHED:
                    doc.next_rung_at = r.published_at  # the sweep looks at it at once
            if r.state is State.INTERPRETATION_POSTED:
                assert doc.published_at is not None and doc.due_at is not None
                doc.posted_at = max(
                    min(p.posted_at for p in r.postings if p.channel == c) for c in ("portal", "news_media")
                )
                doc.on_time, doc.working_days_taken, doc.working_days_late = posting_result(
                    session, doc.published_at, doc.due_at, doc.posted_at, self.settings
                )
                details.update(
                    posted_at=doc.posted_at,
                    on_time=doc.on_time,
                    working_days_taken=doc.working_days_taken,
                    working_days_late=doc.working_days_late,
                )
            if r.state in (State.WITHDRAWN, State.FILED):
                doc.closed_reason, doc.closed_at = r.closed_reason, now
            ids.append(doc.id)
            entries.append(
                audit.Entry(
                    now,
                    actor,
                    ACTION,
                    document_id=doc.id,
                    state_before=None,
                    state_after=doc.state,
                    details=details,
                )
            )
        session.flush()
        entries.append(
            audit.Entry(
                now, actor, "documents_imported", details={"file": file, "sha256": digest, "documents": ids}
            )
        )
        audit.append_many(session, entries)
        return ids
