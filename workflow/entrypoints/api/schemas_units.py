"""Request and response bodies of units: a unit as the API shows it, its changes (with its group robots), the
robots as a unit shows them (never a webhook or a secret), and a user's memberships."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from workflow.entrypoints.api.schemas import CODE_PATTERN, Email, Line200, Line500, Strict, UnitKind, Url
from workflow.entrypoints.api.times import Shown


class UnitPatch(Strict):
    """Only the fields given change; an empty string removes a mailbox, a head, a robot or an
    event list (then every event routed to the unit)."""

    name: Line200 | None = None
    mailbox: Email | None = Field(default=None, description="The unit's email address; '' removes it.")
    head: Annotated[str, StringConstraints(pattern=r"^$|" + CODE_PATTERN)] | None = Field(
        default=None, description="Login of the unit's head; '' removes it."
    )
    supervising: bool | None = Field(
        default=None, description="Whether the unit supervises (escalations go to it)."
    )
    kind: UnitKind | None = None
    wecom_webhook: Url | None = Field(
        default=None,
        description="The WeCom group robot's webhook URL (…/cgi-bin/webhook/send?key=…); '' removes it. Never shown back.",
    )
    wecom_events: Line500 | None = Field(
        default=None, description="Comma-separated events for the WeCom robot."
    )
    dingtalk_webhook: Url | None = Field(
        default=None,
        description="The DingTalk group robot's webhook URL (…/robot/send?access_token=…); '' removes it. Never shown back.",
    )
    dingtalk_secret: Line200 | None = Field(
        default=None, description="The DingTalk robot's 加签 secret (SEC…). Never shown back."
    )
    dingtalk_events: Line500 | None = Field(
        default=None, description="Comma-separated events for the DingTalk robot."
    )


class WeComRobotOut(BaseModel):
    events: list[str] | None = Field(
        description="The events it is told of; null: every event routed to the unit."
    )
    key: str = Field(
        description="The last characters of the webhook's key or access token (…a1b2), to tell which "
        "robot is set; the webhook itself is never shown."
    )


class DingTalkRobotOut(WeComRobotOut):
    signed: bool = Field(description="Whether messages are signed with the robot's 加签 secret.")


class RobotsOut(BaseModel):
    wecom: WeComRobotOut | None
    dingtalk: DingTalkRobotOut | None


class MembershipOut(BaseModel):
    unit: str
    since: Shown
    until: Shown | None
    changed_by: str | None


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    mailbox: str | None
    head: str | None
    robots: RobotsOut
