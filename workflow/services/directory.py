"""Units and users: adding, changing, listing and importing them (administrators only).

The very first user of an empty database may be added without an acting user, and must be
an administrator: that is how an installation is bootstrapped. Every change is audited on
the ``sys`` chain; an import is all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from states import permissions
from states.i18n import _
from states.reasons import Reason
from states.snapshot import ActorSnapshot
from workflow.kernel import audit
from workflow.kernel.clock import Clock
from workflow.kernel.db import Database
from workflow.kernel.errors import Denied, Forbidden, InvalidInput, NotFound
from workflow.kernel.models import Unit, User, UserUnitHistory
from workflow.kernel.secretbox import NO_KEY, SecretBox, seal_stored
from workflow.kernel.snapshots import actor_snapshot
from workflow.services import authz, unit_changes
from workflow.services.directory_import import (
    CODE,
    UnitSpec,
    UserSpec,
    _address,
    _code,
    _invalid,
    _line,
    _roles,
    read_directory_file,
)
from workflow.services.sessions import end_user_sessions, revoke_user_tokens

__all__ = ["CODE", "Directory", "UnitSpec", "UserSpec", "read_directory_file", "unit_view", "user_view"]


class Directory:
    """Administration of units and users."""

    def __init__(self, db: Database, clock: Clock, secrets: SecretBox | None = None) -> None:
        self.db = db
        self.clock = clock
        self.secrets = secrets
        """Encrypts the units' robot credentials (``SANTONGBU_SECRETS_KEY_FILE``)."""

    def _authorise(self, session: Session, login: str | None, *, bootstrap_ok: bool) -> ActorSnapshot | None:
        """The acting administrator: :class:`NotFound` if there is no such user, :class:`Denied`
        (carrying who, for the audit line of the refusal) if they may not administer
        (docs/design.md §7); ``None`` only while the database has no user at all."""
        if login is None:
            if bootstrap_ok and not session.scalar(select(func.count()).select_from(User)):
                return None
            raise Forbidden(Reason("not_admin", {"login": "(nobody: give --as LOGIN)"}))
        return authz.require(session, login, permissions.may_administer)[1]

    def _refuse(self, denied: Denied, action: str, details: Mapping[str, Any]) -> None:
        audit.record_refusal(
            self.db,
            at=self.clock.now(),
            actor=denied.actor,
            action=action,
            reasons=denied.error.reasons,
            details=details,
        )

    def _add_unit(self, session: Session, actor: ActorSnapshot | None, spec: UnitSpec) -> Unit:
        if session.scalars(select(Unit).where(Unit.code == spec.code)).first():
            raise InvalidInput(Reason("duplicate", {"what": "unit", "value": spec.code}))
        unit = Unit(
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            mailbox=spec.mailbox,
            head_login=spec.head,
            created_at=self.clock.now(),
        )
        session.add(unit)
        session.flush()
        audit.append(
            session,
            at=self.clock.now(),
            actor=actor,
            action="unit_added",
            details={
                "code": spec.code,
                "name": spec.name,
                "kind": spec.kind,
                "mailbox": spec.mailbox,
                "head": spec.head,
            },
        )
        return unit

    def _add_user(self, session: Session, actor: ActorSnapshot | None, spec: UserSpec) -> User:
        if authz.find_user(session, spec.login) is not None:
            raise InvalidInput(Reason("duplicate", {"what": "user", "value": spec.login}))
        unit = session.scalars(select(Unit).where(Unit.code == spec.unit)).first()
        if unit is None:
            raise NotFound(Reason("no_such_unit", {"code": spec.unit}))
        if actor is None and "admin" not in spec.roles.split(","):
            raise _invalid("roles", _("the first user of a new installation must have the admin role"))
        user = User(
            login=spec.login,
            name=spec.name,
            email=spec.email,
            unit_id=unit.id,
            roles=spec.roles,
            active=True,
            created_at=self.clock.now(),
        )
        session.add(user)
        session.flush()
        session.add(
            UserUnitHistory(
                user_id=user.id,
                unit_id=unit.id,
                since=self.clock.now(),
                changed_by=actor.login if actor else None,
            )
        )
        audit.append(
            session,
            at=self.clock.now(),
            actor=actor or actor_snapshot(user, unit),
            action="user_added",
            details={
                "login": spec.login,
                "name": spec.name,
                "unit": spec.unit,
                "email": spec.email,
                "roles": spec.roles,
                "bootstrap": actor is None,
            },
        )
        return user

    def add_unit(self, login: str | None, data: Mapping[str, Any]) -> dict[str, Any]:
        spec = UnitSpec.parse(data)
        try:
            with self.db.transaction() as session:
                actor = self._authorise(session, login, bootstrap_ok=True)
                return unit_view(self._add_unit(session, actor, spec))
        except Denied as denied:
            self._refuse(denied, "unit_added", {"code": spec.code})
            raise denied.error from None

    def add_user(self, login: str | None, data: Mapping[str, Any]) -> dict[str, Any]:
        spec = UserSpec.parse(data)
        try:
            with self.db.transaction() as session:
                actor = self._authorise(session, login, bootstrap_ok=True)
                return user_view(self._add_user(session, actor, spec), spec.unit)
        except Denied as denied:
            self._refuse(denied, "user_added", {"login": spec.login})
            raise denied.error from None

    def update_user(self, login: str, target: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change a user's roles, email, name, unit or active flag."""
        clean: dict[str, Any] = {}
        if "roles" in changes and changes["roles"] is not None:
            clean["roles"] = _roles(changes["roles"])
        if "email" in changes and changes["email"] is not None:
            clean["email"] = _address("email", changes["email"])
        if "name" in changes and changes["name"] is not None:
            clean["name"] = _line("name", changes["name"])
        if "active" in changes and changes["active"] is not None:
            clean["active"] = bool(changes["active"])
        if "unit" in changes and changes["unit"] is not None:
            clean["unit"] = _code("unit", changes["unit"])
        if not clean:
            raise _invalid("changes", _("nothing to change"))
        try:
            with self.db.transaction() as session:
                actor = self._authorise(session, login, bootstrap_ok=False)
                user = authz.find_user(session, target)
                if user is None:
                    raise NotFound(Reason("no_such_user", {"login": target}))
                if "unit" in clean:
                    unit = session.scalars(select(Unit).where(Unit.code == clean.pop("unit"))).first()
                    if unit is None:
                        raise NotFound(Reason("no_such_unit", {"code": changes["unit"]}))
                    if unit.id != user.unit_id:
                        assert actor is not None  # bootstrap_ok=False: there is always an acting admin
                        self._move(session, actor, user, unit)
                ended: dict[str, Any] = {}
                if clean.get("active") is False and user.active:
                    # Deactivation takes effect at once: the pages' sessions end and the API
                    # tokens are revoked for good (reactivation does not revive them).
                    now = self.clock.now()
                    ended = {
                        "sessions_ended": end_user_sessions(session, user.id, "deactivated", now),
                        "tokens_revoked": revoke_user_tokens(
                            session, user.id, actor.login if actor else "", now
                        ),
                    }
                for key, value in clean.items():
                    setattr(user, key, value)
                session.flush()
                audit.append(
                    session,
                    at=self.clock.now(),
                    actor=actor,
                    action="user_changed",
                    details={
                        "login": target,
                        **{k: changes[k] for k in changes if changes[k] is not None},
                        **ended,
                    },
                )
                session.refresh(user)
                return user_view(user, user.unit.code)
        except Denied as denied:
            self._refuse(denied, "user_changed", {"login": target})
            raise denied.error from None

    def update_unit(self, login: str, code: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change a unit's name, mailbox, head, kind (``supervising``) or group robots
        (administrators; audited as ``unit_changed``, credentials only as set/replaced/removed).
        Recipients are resolved when a message is queued, and robots when it is sent, so the
        next email and the next robot message already go to the unit as it is now."""
        clean = unit_changes.parse(changes, line=_line, address=_address, code=_code)
        try:
            with self.db.transaction() as session:
                actor = self._authorise(session, login, bootstrap_ok=False)
                unit = session.scalars(select(Unit).where(Unit.code == code)).first()
                if unit is None:
                    raise NotFound(Reason("no_such_unit", {"code": code}))
                changed = unit_changes.apply(session, unit, clean, self.secrets)
                session.flush()
                if changed:
                    audit.append(
                        session,
                        at=self.clock.now(),
                        actor=actor,
                        action="unit_changed",
                        details={"code": code, "changes": changed},
                    )
                return unit_view(unit, self.secrets)
        except Denied as denied:
            self._refuse(denied, "unit_changed", {"code": code, "fields": sorted(clean)})
            raise denied.error from None

    def seal_secrets(self, login: str) -> int:
        """Encrypt the robot credentials still stored in plain text (a key configured after
        migration 0017 ran); how many units changed. Administrators; audited."""
        box = self.secrets
        if box is None:
            raise InvalidInput(Reason("invalid", {"field": "SANTONGBU_SECRETS_KEY_FILE", "problem": NO_KEY}))
        try:
            with self.db.transaction() as session:
                actor = self._authorise(session, login, bootstrap_ok=False)
                sealed = seal_stored(session.connection(), box)
                if sealed:
                    audit.append(
                        session,
                        at=self.clock.now(),
                        actor=actor,
                        action="unit_secrets_sealed",
                        details={"units": sealed},
                    )
                return sealed
        except Denied as denied:
            self._refuse(denied, "unit_secrets_sealed", {})
            raise denied.error from None

    def _move(self, session: Session, actor: ActorSnapshot, user: User, unit: Unit) -> None:
        """Close the user's open membership, open one in ``unit``, audit ``user_moved``. From
        this commit on the user acts, reads and is emailed as a member of the new unit."""
        now = self.clock.now()
        before = user.unit.code
        for row in session.scalars(
            select(UserUnitHistory).where(UserUnitHistory.user_id == user.id, UserUnitHistory.until.is_(None))
        ):
            row.until = now
        session.add(UserUnitHistory(user_id=user.id, unit_id=unit.id, since=now, changed_by=actor.login))
        user.unit_id = unit.id
        heads = [u.code for u in session.scalars(select(Unit).where(Unit.head_login == user.login))]
        audit.append(
            session,
            at=now,
            actor=actor,
            action="user_moved",
            details={"login": user.login, "from": before, "to": unit.code, "head_of": heads},
        )

    def user_history(self, login: str, target: str) -> list[dict[str, Any]]:
        """The units ``target`` belonged to, oldest first (administrators, supervisors,
        auditors, leaders; a refusal is audited as ``user_history``)."""
        try:
            with self.db.transaction() as session:
                authz.require(session, login, permissions.may_audit)
                user = authz.find_user(session, target)
                if user is None:
                    raise NotFound(Reason("no_such_user", {"login": target}))
                rows = session.execute(
                    select(UserUnitHistory, Unit.code)
                    .join(Unit, Unit.id == UserUnitHistory.unit_id)
                    .where(UserUnitHistory.user_id == user.id)
                    .order_by(UserUnitHistory.since, UserUnitHistory.id)
                )
                return [
                    {"unit": code, "since": h.since, "until": h.until, "changed_by": h.changed_by}
                    for h, code in rows
                ]
        except Denied as denied:
            self._refuse(denied, "user_history", {"login": target})
            raise denied.error from None

    def import_file(self, login: str | None, path: Path) -> dict[str, int]:
        """Units and users from a TOML, JSON or CSV file, all or nothing."""
        units, users = read_directory_file(path)
        try:
            with self.db.transaction() as session:
                actor = self._authorise(session, login, bootstrap_ok=True)
                if actor is None and not any("admin" in u.roles.split(",") for u in users):
                    raise _invalid("users", _("the first import must contain an admin user"))
                for unit_spec in units:
                    self._add_unit(session, actor, unit_spec)
                first_admin: ActorSnapshot | None = actor
                for spec in sorted(users, key=lambda u: "admin" not in u.roles.split(",")):
                    user = self._add_user(session, first_admin, spec)
                    if first_admin is None:
                        first_admin = actor_snapshot(user)
                return {"units": len(units), "users": len(users)}
        except Denied as denied:
            self._refuse(denied, "directory_import", {"file": path.name})
            raise denied.error from None

    def list_units(self, who: authz.Who) -> list[dict[str, Any]]:
        """Every unit, by code: for anyone active (``may_list_units``); a refusal is audited as
        ``unit_list``."""
        try:
            with self.db.transaction() as session:
                authz.check(session, who, permissions.may_list_units)
                return [unit_view(u, self.secrets) for u in session.scalars(select(Unit).order_by(Unit.code))]
        except Denied as denied:
            self._refuse(denied, "unit_list", {})
            raise denied.error from None

    def list_users(self, who: authz.Who, unit: str | None = None) -> list[dict[str, Any]]:
        """Every user, or one unit's, with their addresses: administrators, supervisors,
        auditors and leaders (``may_list_users``); a refusal is audited as ``user_list``."""
        try:
            with self.db.transaction() as session:
                authz.check(session, who, permissions.may_list_users)
                return self._users(session, unit)
        except Denied as denied:
            self._refuse(denied, "user_list", {"unit": unit} if unit else {})
            raise denied.error from None

    def people(self, who: authz.Who) -> list[dict[str, Any]]:
        """The active users without their addresses, for anyone active to name an interpreter
        or signers (the document page); a refusal is audited as ``people_list``."""
        try:
            with self.db.transaction() as session:
                authz.check(session, who, permissions.may_list_units)
                return [{**u, "email": None} for u in self._users(session, None) if u["active"]]
        except Denied as denied:
            self._refuse(denied, "people_list", {})
            raise denied.error from None

    @staticmethod
    def _users(session: Session, unit: str | None) -> list[dict[str, Any]]:
        stmt = select(User, Unit.code).join(Unit).order_by(User.login)
        if unit:
            stmt = stmt.where(Unit.code == unit)
        return [user_view(u, code) for u, code in session.execute(stmt)]


def unit_view(unit: Unit, secrets: SecretBox | None = None) -> dict[str, Any]:
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "mailbox": unit.mailbox,
        "head": unit.head_login,
        "robots": unit_changes.robots_view(unit, secrets),
    }


def user_view(user: User, unit_code: str) -> dict[str, Any]:
    return {
        "login": user.login,
        "name": user.name,
        "email": user.email,
        "unit": unit_code,
        "roles": user.roles.split(","),
        "active": user.active,
    }
