"""Package edits: change a draft's fields, attach or remove materials, name its signers.

Split from :mod:`.commands` because these all change *what is signed* (the package) and share
its rules: only an editable document, rehash afterwards, void stale signatures. Each runs in
:meth:`DocumentService._change`'s single transaction (docs/design.md §8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, select

from states import signoff
from states.i18n import _
from states.package import content_hash
from states.reasons import Reason
from states.snapshot import MATERIAL_FORMS, SignerSnapshot
from workflow.kernel.errors import NotFound, Refused
from workflow.kernel.models import Unit, User
from workflow.kernel.models.directory import role_set
from workflow.services.authz import Who
from workflow.services.documents.effects import Effects
from workflow.services.documents.files import BlobKeeping
from workflow.services.documents.transaction import Outcome, _Ctx
from workflow.services.documents.validation import (
    NothingChanged,
    check_size,
    check_text,
    check_url,
    clean_fields,
    duplicate_number,
    invalid,
)
from workflow.services.documents.writing import add_to, remove_from

_SIGNERS_NAMED = (
    select(User.id, User.login, User.roles, User.active, Unit.code, Unit.kind)
    .select_from(User)
    .outerjoin(Unit, Unit.id == User.unit_id)
    .where(User.login.in_(bindparam("logins", expanding=True)))
)
"""The users named as signers with their units, in one Core statement (the ORM query and
a lazy load of each unit were most of ``set_signers``)."""


def _signer(row: Any) -> SignerSnapshot:
    """:func:`workflow.kernel.snapshots.signer_snapshot` of a row of :data:`_SIGNERS_NAMED`."""
    return SignerSnapshot(
        login=row.login,
        roles=role_set(row.roles),
        unit_code=row.code or "",
        unit_kind=row.kind or "",
        active=row.active,
    )


class DocumentPackage(Effects, BlobKeeping):
    """Every change to a document's package while it is editable."""

    def edit_document(
        self,
        login: Who,
        doc_id: int,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        allow_duplicate_number: bool = False,
    ) -> Outcome:
        """Edit text fields, disclosure, risk flag or interpreter; voids signatures if the
        package changed. An edit that changes nothing writes nothing (no version, no audit
        event): the outcome says so with ``details["unchanged"]``."""
        clean = clean_fields(changes, max_bytes=self.settings.max_text_bytes)
        if not clean:
            raise invalid("changes", _("nothing to change"))

        def body(ctx: _Ctx) -> None:
            self._require_editable(ctx)
            changed = {}
            for key, value in clean.items():
                if key == "interpreter":
                    who_id = None
                    if value is not None:
                        who = ctx.session.scalars(select(User).where(User.login == value)).first()
                        if who is None:
                            raise NotFound(Reason("no_such_user", {"login": value}))
                        who_id = who.id
                    if ctx.doc.interpreter_id != who_id:
                        ctx.doc.interpreter_id = who_id
                        changed[key] = value
                elif getattr(ctx.doc, key) != value:
                    if key == "doc_number" and not allow_duplicate_number:
                        twin = duplicate_number(ctx.session, value, other_than=ctx.doc.id)
                        if twin is not None:
                            raise Refused(twin)
                    setattr(ctx.doc, key, value)
                    changed[key] = (
                        value
                        if key in ("title", "doc_number", "disclosure", "risk_assessment_needed")
                        else f"<{len(value or '')} characters>"
                    )
            if not changed:  # rolled back: nothing is written (NothingChanged, below)
                raise NothingChanged(
                    Outcome(ctx.doc.id, "edit", ctx.doc.state, ctx.doc.state, ctx.doc.version, {})
                )
            ctx.details["changed"] = changed
            ctx.edited = True
            self._rehash(ctx)
            return None

        try:
            return self._change(
                login,
                doc_id,
                "edit",
                body,
                expected_version=expected_version,
                audit_details={"fields": sorted(clean)},
            )
        except NothingChanged as same:
            return same.outcome

    def add_material(
        self,
        login: Who,
        doc_id: int,
        *,
        form: str,
        title: str,
        body: str | None = None,
        uri: str | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        if form not in MATERIAL_FORMS:
            raise invalid("form", _("must be one of {p0}", p0=", ".join(MATERIAL_FORMS)))
        check_text("title", title, one_line=True)
        check_text("body", body)
        check_size("body", body, self.settings.max_text_bytes)
        title = (title or "").strip()
        if not title or "\n" in title or len(title) > 500:
            raise invalid("title", _("required, one line, at most 500 characters"))
        uri = check_url("uri", uri)
        if not (body and body.strip()) and not uri:
            raise invalid("body", _("give the material's text or its URI"))

        def run(ctx: _Ctx) -> None:
            self._require_editable(ctx)
            m = add_to(
                ctx.session,
                ctx.doc,
                "materials",
                {
                    "form": form,
                    "title": title,
                    "body": body,
                    "uri": uri,
                    "content_hash": content_hash(form, title, body, uri),
                    "created_by": ctx.user.id,
                    "created_at": ctx.now,
                },
            )
            ctx.details.update(
                {"material_id": m.id, "form": form, "title": title, "content_hash": m.content_hash}
            )
            ctx.edited = True
            self._rehash(ctx)
            return None

        return self._change(login, doc_id, "attach_material", run, expected_version=expected_version)

    def remove_material(
        self, login: Who, doc_id: int, material_id: int, *, expected_version: int | None = None
    ) -> Outcome:
        def run(ctx: _Ctx) -> None:
            self._require_editable(ctx)
            m = next((m for m in ctx.doc.materials if m.id == material_id), None)
            if m is None:
                raise NotFound(Reason("no_such_material", {"id": material_id}))
            ctx.details.update({"material_id": m.id, "title": m.title})
            if m.file_sha256:
                ctx.details["file_sha256"] = m.file_sha256
            remove_from(ctx.session, ctx.doc, "materials", [m])
            ctx.edited = True
            self._rehash(ctx)
            return None

        outcome = self._change(login, doc_id, "remove_material", run, expected_version=expected_version)
        self._release_blob(outcome.details.get("file_sha256"))  # only if nothing else refers to it
        return outcome

    def set_signers(
        self, login: Who, doc_id: int, signer_logins: Sequence[str], *, expected_version: int | None = None
    ) -> Outcome:
        """Name who must sign the package; signatures of those who stay remain valid."""
        wanted = list(dict.fromkeys(s.strip() for s in signer_logins if s.strip()))
        if not wanted:
            raise invalid("signers", _("name at least one signer"))

        def run(ctx: _Ctx) -> None:
            self._require_editable(ctx)
            users = {u.login: u for u in ctx.session.connection().execute(_SIGNERS_NAMED, {"logins": wanted})}
            for name in wanted:
                if name not in users:
                    raise NotFound(Reason("no_such_user", {"login": name}))
                if not users[name].active:
                    raise invalid("signers", _("{name} is deactivated", name=name))
            # Nobody who prepared the package signs it; every conflict is named at once.
            conflicts = signoff.naming_conflicts([_signer(users[n]) for n in wanted], ctx.snap)
            if conflicts:
                raise Refused(conflicts)
            keep = {users[n].id for n in wanted}
            remove_from(
                ctx.session, ctx.doc, "signers", [s for s in ctx.doc.signers if s.user_id not in keep]
            )
            present = {s.user_id for s in ctx.doc.signers}
            for name in wanted:
                if users[name].id not in present:
                    add_to(ctx.session, ctx.doc, "signers", {"user_id": users[name].id})
            ctx.details["signers"] = wanted
            return None

        return self._change(login, doc_id, "set_signers", run, expected_version=expected_version)
