"""WeCom (企业微信) group robots: ``POST {base}/cgi-bin/webhook/send?key=KEY`` with
``{"msgtype": "markdown", "markdown": {"content": …}}``, answered ``{"errcode": 0, "errmsg": "ok"}``.

The key is the robot's credential: it comes from the unit's webhook URL as the WeCom app shows
it (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``); the message is posted to
``SANTONGBU_WECOM_BASE_URL`` (the vendor by default; an egress gateway or a test server
otherwise). Markdown content is at most 4096 bytes. ``45009`` (the robot's rate limit, 20
messages a minute), ``45033`` (too many concurrent calls) and ``-1`` (busy) are retried.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from notifications.transports.base import RobotMessage
from notifications.transports.webhook import WebhookRobot, query_param, truncate_utf8

PATH = "/cgi-bin/webhook/send"
MAX_CONTENT_BYTES = 4096


def wecom_key(webhook: str) -> str:
    """The robot's key from its webhook URL; :class:`ValueError` if it has none."""
    return query_param(webhook, "key")


class WeComTransport(WebhookRobot):
    name = "wecom"
    retry_codes = frozenset({-1, 45009, 45033})

    def request(self, message: RobotMessage) -> tuple[str, dict[str, Any], tuple[str | None, ...]]:
        key = wecom_key(message.webhook.get_secret_value())
        url = f"{self.settings.wecom_base_url}{PATH}?key={quote(key, safe='')}"
        body = {
            "msgtype": "markdown",
            "markdown": {"content": truncate_utf8(message.markdown, MAX_CONTENT_BYTES)},
        }
        return url, body, (key,)
