"""Group robots (WeCom 企业微信, DingTalk 钉钉): which units' groups hear of an event, what they
are told, and the message a transport posts (docs/design.md §5).

A unit's group hears of an event when the unit is among the event's recipients
(:data:`notifications.recipients.ROUTES`): the drafting unit for the groups ``unit``, ``head``
and ``interpreter``, every supervising unit for ``supervisors``, every leadership unit for
``leadership``; and when the unit has a robot on that channel whose event list names the event
(no list: every event routed to the unit). Each such (unit, channel) is one outbox row, keyed
``<email key>@<channel>:<unit id>`` for one-off events, so a sweep run twice posts once.

The webhook and secret are not copied into the row: :func:`build` reads them from the unit
(where they are kept encrypted) when the row is claimed, so a unit whose robot changed is
reached at its new robot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr
from sqlalchemy.orm import Session

from notifications.recipients import ROUTES, unit_of, units_of_kind
from notifications.render import EVENTS, environment
from notifications.transports.base import RobotMessage
from workflow.kernel.models import Document, Unit
from workflow.kernel.models.outbox import OutboxMessage
from workflow.kernel.secretbox import SecretBox, require

CHANNELS = ("wecom", "dingtalk")
# The recipient groups that stand for a unit, and which units they are.
_GROUP_UNITS = {
    "unit": "drafting",
    "head": "drafting",
    "interpreter": "drafting",
    "supervisors": "supervising",
    "leadership": "leadership",
}


def routed_events(role: str) -> tuple[str, ...]:
    """The events that reach a unit in ``role`` (``drafting``: the document's own unit,
    ``supervising``, ``leadership``), in the order of :data:`EVENTS`."""
    return tuple(e for e in EVENTS if any(_GROUP_UNITS.get(g) == role for side in ROUTES[e] for g in side))


ROBOT_EVENTS = tuple(
    e for e in EVENTS if any(e in routed_events(r) for r in ("drafting", "supervising", "leadership"))
)
"""The events a group robot can be told of (sign-off requests go to people, not groups)."""


def parse_events(value: str | list[str] | tuple[str, ...] | None) -> str | None:
    """A channel's event list as stored: comma-separated, each an event in :data:`ROBOT_EVENTS`;
    ``None`` or empty means every event routed to the unit. :class:`ValueError` names the
    unknown ones."""
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", value)
    events = [e.strip() for e in items if e and e.strip()]
    unknown = [e for e in events if e not in ROBOT_EVENTS]
    if unknown:
        raise ValueError(
            f"unknown event(s) {', '.join(unknown)}; a robot can be told of {', '.join(ROBOT_EVENTS)}"
        )
    return ",".join(e for e in ROBOT_EVENTS if e in events) or None


def webhook_of(unit: Unit, channel: str) -> str | None:
    return unit.wecom_webhook if channel == "wecom" else unit.dingtalk_webhook


def events_of(unit: Unit, channel: str) -> frozenset[str] | None:
    """The events the unit's robot on ``channel`` takes; ``None`` = all routed to it."""
    stored = unit.wecom_events if channel == "wecom" else unit.dingtalk_events
    return frozenset(stored.split(",")) if stored else None


def targets(session: Session, document: Document, event: str) -> list[tuple[Unit, str]]:
    """The (unit, channel) pairs whose group robot is told of ``event`` on ``document``."""
    to, cc = ROUTES[event]
    roles = {_GROUP_UNITS[g] for g in (*to, *cc) if g in _GROUP_UNITS}
    units: dict[int, Unit] = {}
    if "drafting" in roles:
        own = unit_of(session, document)
        if own is not None:
            units[own.id] = own
    for role in ("supervising", "leadership"):
        if role in roles:
            units.update((u.id, u) for u in units_of_kind(session, role))
    out = []
    for unit in units.values():
        for channel in CHANNELS:
            wanted = events_of(unit, channel)
            if webhook_of(unit, channel) and (wanted is None or event in wanted):
                out.append((unit, channel))
    return out


def robot_key(key: str | None, channel: str, unit_id: int) -> str | None:
    """The dedupe key of a robot row: the email's key, per channel and unit."""
    return f"{key}@{channel}:{unit_id}" if key else None


_MD_SPECIAL = re.compile(r"([\\`*_\[\]])")


def md(value: Any) -> str:
    """A fact on one line with Markdown's emphasis and link characters escaped, so a title
    cannot restyle the message or add a link."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value or "").split()))


def render(event: str, lang: str, subject: str, context: Mapping[str, Any]) -> str:
    """The Markdown a group is told: the email's subject and opening sentence, then its facts."""
    env = environment()
    ctx = {**context, "lang": lang, "subject": subject}
    body = env.get_template(f"{lang}/{event}.txt")
    intro_block = body.blocks.get("intro")
    intro = "".join(intro_block(body.new_context(ctx))).strip() if intro_block else ""
    return env.get_template(f"{lang}/_robot.md").render({**ctx, "intro": intro, "md": md})


def build(
    session: Session, row: OutboxMessage, title: str, markdown: str, box: SecretBox | None
) -> RobotMessage:
    """The message for a robot row (``title`` and ``markdown`` rendered from its frozen facts,
    :func:`notifications.content.content_of`), with the unit's robot as it is now, its
    credentials decrypted with ``box`` (kernel/secretbox.py). :class:`ValueError` when the unit
    no longer has one (the row then fails; it is never sent elsewhere) or when no key is
    configured."""
    unit = session.get(Unit, row.unit_id) if row.unit_id is not None else None
    if unit is None:
        raise ValueError(f"outbox row {row.id} names no unit for its {row.channel} robot")
    webhook = webhook_of(unit, row.channel)
    if not webhook:
        raise ValueError(f"unit {unit.code} has no {row.channel} robot any more")
    opened = require(box)
    secret = unit.dingtalk_secret if row.channel == "dingtalk" else None
    return RobotMessage(
        channel=row.channel,
        unit=unit.code,
        title=title,
        markdown=markdown,
        webhook=SecretStr(opened.open(webhook)),
        secret=SecretStr(opened.open(secret)) if secret else None,
    )
