"""Changing a unit after it was added: name, mailbox, head, whether it supervises, and its group
robots (WeCom, DingTalk) with the events each takes.

Parsed whole before anything is written. ``None`` leaves a field as it is; an empty string
clears a field that may be empty (mailbox, head, a robot, an event list). Robot credentials
are checked for the parameter the vendor's URL carries, stored encrypted (kernel/secretbox.py;
refused when no key is configured), and never put in the audit trail, a view or an error: the
audit says only that a robot was set, replaced or removed, a view only the key's last
characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.robots import parse_events
from notifications.transports.dingtalk import PATH as DINGTALK_PATH
from notifications.transports.dingtalk import dingtalk_token
from notifications.transports.wecom import PATH as WECOM_PATH
from notifications.transports.wecom import wecom_key
from states.i18n import _
from states.reasons import Reason
from workflow.kernel.errors import InvalidInput, NotFound
from workflow.kernel.models import UNIT_KINDS, Unit, User
from workflow.kernel.secretbox import NO_KEY, SecretBox, SecretsKeyError, mask

SECRET_FIELDS = ("wecom_webhook", "dingtalk_webhook", "dingtalk_secret")
PLAIN_FIELDS = ("name", "mailbox", "head_login", "kind", "wecom_events", "dingtalk_events")


def _invalid(field: str, problem: str) -> InvalidInput:
    return InvalidInput(Reason("invalid", {"field": field, "problem": problem}))


def _cleared(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _webhook(field: str, value: str, path: str, parse: Any) -> str:
    value = value.strip()
    if len(value) > 1000 or any(c in value for c in "\r\n\t "):
        raise _invalid(field, _("one URL of at most 1000 characters"))
    try:
        parse(value)
    except ValueError as exc:
        raise _invalid(field, str(exc)) from None
    if urlsplit(value).path != path:
        raise _invalid(
            field, _("the robot's webhook URL ends in {path}?…; paste it as the app shows it", path=path)
        )
    return value


def parse(changes: Mapping[str, Any], *, line: Any, address: Any, code: Any) -> dict[str, Any]:
    """The columns to write, validated; ``line``, ``address`` and ``code`` are the directory's
    own field checks (one rule for adding and changing)."""
    clean: dict[str, Any] = {}

    def given(key: str) -> bool:
        return key in changes and changes[key] is not None

    if given("name"):
        clean["name"] = line("name", changes["name"])
    if given("mailbox"):
        clean["mailbox"] = None if _cleared(changes["mailbox"]) else address("mailbox", changes["mailbox"])
    if given("head"):
        clean["head_login"] = (
            None if _cleared(changes["head"]) else code("head", str(changes["head"]).strip())
        )
    if given("kind"):
        if changes["kind"] not in UNIT_KINDS:
            raise _invalid("kind", _("must be one of {p0}", p0=", ".join(UNIT_KINDS)))
        clean["kind"] = changes["kind"]
    if given("supervising"):
        if "kind" in clean and (clean["kind"] == "supervising") != bool(changes["supervising"]):
            raise _invalid("supervising", _("contradicts kind"))
        clean["supervising"] = bool(changes["supervising"])
    if given("wecom_webhook"):
        value = changes["wecom_webhook"]
        clean["wecom_webhook"] = (
            None if _cleared(value) else _webhook("wecom_webhook", value, WECOM_PATH, wecom_key)
        )
    if given("dingtalk_webhook"):
        value = changes["dingtalk_webhook"]
        clean["dingtalk_webhook"] = (
            None if _cleared(value) else _webhook("dingtalk_webhook", value, DINGTALK_PATH, dingtalk_token)
        )
    if given("dingtalk_secret"):
        value = str(changes["dingtalk_secret"]).strip()
        if value and (not value.startswith("SEC") or len(value) > 200 or not value.isascii() or " " in value):
            raise _invalid(
                "dingtalk_secret", _("the robot's 加签 secret, as DingTalk shows it (it starts with SEC)")
            )
        clean["dingtalk_secret"] = value or None
    for channel in ("wecom", "dingtalk"):
        key = f"{channel}_events"
        if key in changes and changes[key] is not None:
            try:
                clean[key] = parse_events(changes[key])
            except ValueError as exc:
                raise _invalid(key, str(exc)) from None
    if not clean:
        raise _invalid("changes", _("nothing to change"))
    return clean


def apply(session: Session, unit: Unit, clean: Mapping[str, Any], box: SecretBox | None) -> dict[str, Any]:
    """Write ``clean`` on ``unit``, credentials encrypted with ``box`` (refused without a key);
    returns what changed, as the audit event says it: before and after for plain fields,
    ``set``/``replaced``/``removed`` for credentials."""
    clean = dict(clean)
    for key in SECRET_FIELDS:
        if clean.get(key) is not None and box is None:
            raise _invalid(key, NO_KEY)
    if "supervising" in clean:
        supervising = clean.pop("supervising")
        if supervising:
            clean["kind"] = "supervising"
        elif unit.kind == "supervising":
            clean["kind"] = "drafting"
    if clean.get("head_login"):
        head = session.scalars(select(User).where(User.login == clean["head_login"])).first()
        if head is None:
            raise NotFound(Reason("no_such_user", {"login": clean["head_login"]}))
        if not head.active:
            raise _invalid("head", _("{login} is inactive", login=head.login))
    changed: dict[str, Any] = {}
    for key, value in clean.items():
        before = getattr(unit, key)
        if key in SECRET_FIELDS:
            if (before is None and value is None) or _same(box, before, value):
                continue
            changed[key] = "removed" if value is None else ("set" if before is None else "replaced")
            setattr(unit, key, None if value is None else box.seal(value) if box else None)
            continue
        if before == value:
            continue
        changed["head" if key == "head_login" else key] = {"from": before, "to": value}
        setattr(unit, key, value)
    if "dingtalk_webhook" in clean and clean["dingtalk_webhook"] is None and unit.dingtalk_secret:
        unit.dingtalk_secret = None  # the secret belongs to the robot that was removed
        changed["dingtalk_secret"] = "removed"
    return changed


def _same(box: SecretBox | None, stored: str | None, value: str | None) -> bool:
    """Whether the stored credential is ``value`` already (no change to audit)."""
    if stored is None or value is None or box is None:
        return False
    try:
        return box.open(stored) == value
    except SecretsKeyError:
        return False


def robots_view(unit: Unit, box: SecretBox | None = None) -> dict[str, Any]:
    """Which robots the unit has and the events each takes (``None``: every event routed to
    the unit); never the webhook or the secret, only the last characters of the webhook's key
    (``key``, when ``box`` can open it) so an administrator can tell which robot is set."""

    def events(stored: str | None) -> list[str] | None:
        return stored.split(",") if stored else None

    def key(stored: str, parse: Any) -> str:
        try:
            return mask(parse(box.open(stored))) if box is not None else "…"
        except ValueError:
            return "…"

    return {
        "wecom": (
            {"events": events(unit.wecom_events), "key": key(unit.wecom_webhook, wecom_key)}
            if unit.wecom_webhook
            else None
        ),
        "dingtalk": (
            {
                "events": events(unit.dingtalk_events),
                "signed": bool(unit.dingtalk_secret),
                "key": key(unit.dingtalk_webhook, dingtalk_token),
            }
            if unit.dingtalk_webhook
            else None
        ),
    }
