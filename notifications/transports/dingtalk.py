"""DingTalk (钉钉) group robots: ``POST {base}/robot/send?access_token=TOKEN&timestamp=T&sign=S``
with ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``, answered
``{"errcode": 0, "errmsg": "ok"}``.

With the robot's 加签 (signing) security setting, ``T`` is the current time in milliseconds and
``S`` is ``base64(HMAC-SHA256(key=secret, msg=f"{T}\\n{secret}"))``, URL-encoded; DingTalk
refuses a timestamp more than an hour away from its own clock, so ``T`` comes from the injected
clock, which is the system clock in production. Without a secret (a robot secured by keywords
or IP addresses), the two parameters are left out. The token comes from the unit's webhook URL
as DingTalk shows it; the message goes to ``SANTONGBU_DINGTALK_BASE_URL``. ``130101`` (sending
too fast: 20 messages a minute) and ``-1`` (busy) are retried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import quote, quote_plus

from notifications.transports.base import RobotMessage
from notifications.transports.webhook import WebhookRobot, query_param, truncate_utf8
from workflow.kernel.clock import Clock
from workflow.kernel.settings import Settings

PATH = "/robot/send"
MAX_TEXT_BYTES = 20000


def dingtalk_token(webhook: str) -> str:
    """The robot's access token from its webhook URL; :class:`ValueError` if it has none."""
    return query_param(webhook, "access_token")


def sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's signature of ``timestamp_ms``, base64 (not yet URL-encoded)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkTransport(WebhookRobot):
    name = "dingtalk"
    retry_codes = frozenset({-1, 130101})

    def __init__(self, settings: Settings, clock: Clock) -> None:
        super().__init__(settings)
        self.clock = clock

    def request(self, message: RobotMessage) -> tuple[str, dict[str, Any], tuple[str | None, ...]]:
        token = dingtalk_token(message.webhook.get_secret_value())
        url = f"{self.settings.dingtalk_base_url}{PATH}?access_token={quote(token, safe='')}"
        secret = message.secret.get_secret_value() if message.secret else None
        signature = None
        if secret:
            timestamp = int(self.clock.now().timestamp() * 1000)
            signature = sign(timestamp, secret)
            url += f"&timestamp={timestamp}&sign={quote_plus(signature)}"
        body = {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": truncate_utf8(message.markdown, MAX_TEXT_BYTES)},
        }
        return url, body, (token, secret, signature)
