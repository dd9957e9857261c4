"""What the WeCom and DingTalk group robots share: one JSON POST per message, and the reading
of the answer into sent, retry or fail (docs/design.md §5).

Both vendors answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}`` on success and a non-zero
``errcode`` otherwise. A rate limit (each robot takes about 20 messages a minute) and "system
busy" (``-1``) are transient: the outbox retries them with its backoff. Any other code is about
the robot or the message (a wrong key, a removed robot, a bad signature) and fails the row at
once, for an administrator to fix the unit and retry. HTTP 429, 408 and 5xx, timeouts,
refused connections and an answer that is not the vendor's JSON are transient; another 4xx is
permanent.

The webhook's key, access token and signature travel in the URL, so no URL is ever put in an
error, and the ``httpx`` logger (which logs each request's URL at INFO) has its query strings
masked.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from notifications.transports.base import PermanentError, RobotMessage, Sent, TransientError
from states.i18n import _
from workflow.kernel.settings import Settings

_QUERY = re.compile(r"\?[^\s\"']*")


class _MaskQueries(logging.Filter):
    """Masks every query string in the ``httpx`` logger's request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        record.msg, record.args = _QUERY.sub("?***", message), ()
        return True


_MASK = _MaskQueries()
for _name in ("httpx", "httpcore"):
    if _MASK not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_MASK)


def query_param(webhook: str, name: str) -> str:
    """The ``name`` parameter of a webhook URL as the vendor shows it; :class:`ValueError`
    (naming the parameter, never the value) when it is missing."""
    parts = urlsplit(webhook.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError("not a URL: paste the robot's webhook address as the app shows it")
    values = parse_qs(parts.query).get(name)
    if not values or not values[0].strip():
        raise ValueError(f"the webhook URL has no {name}= parameter")
    return values[0].strip()


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every credential replaced by ``***`` (an error may echo what was sent)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _QUERY.sub("?***", text)


class WebhookRobot:
    """Posts to one vendor's robots; subclasses say where, what and which codes are transient."""

    name = "robot"
    retry_codes: frozenset[int] = frozenset({-1})

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: httpx.Client | None = None
        self._throttled: set[str] = set()

    def request(self, message: RobotMessage) -> tuple[str, dict[str, Any], tuple[str | None, ...]]:
        """The URL, the JSON body and the credentials to keep out of any error."""
        raise NotImplementedError

    def send(self, outbox_id: int, message: RobotMessage, recipients: list[str]) -> Sent:
        if not isinstance(message, RobotMessage) or message.channel != self.name:
            raise PermanentError(f"not a {self.name} message")
        webhook = message.webhook.get_secret_value()
        if webhook in self._throttled:
            # The robot said "too fast" earlier in this pass; asking again now only prolongs it.
            raise TransientError(
                f"{self.name} robot of unit {message.unit} answered 'too fast' or 'busy' earlier in this pass; not tried again"
            )
        try:
            url, body, secrets = self.request(message)
        except ValueError as exc:  # the stored webhook cannot be used: an administrator fixes the unit
            raise PermanentError(f"{self.name} robot of unit {message.unit}: {exc}") from None
        secrets = (*secrets, webhook)
        if self._client is None:
            self._client = httpx.Client(timeout=self.settings.robot_timeout_seconds, follow_redirects=False)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            response = self._client.post(
                url, content=data, headers={"Content-Type": "application/json; charset=utf-8"}
            )
        except httpx.TimeoutException:
            raise TransientError(f"{self.name} robot of unit {message.unit}: timed out") from None
        except httpx.HTTPError as exc:
            raise TransientError(
                scrub(f"{self.name} robot of unit {message.unit}: {type(exc).__name__}: {exc}", *secrets)
            ) from None
        return self._read(message, response, secrets)

    def _read(self, message: RobotMessage, response: httpx.Response, secrets: tuple[str | None, ...]) -> Sent:
        where = f"{self.name} robot of unit {message.unit}"
        status = response.status_code
        if status == 429 or status == 408 or status >= 500:
            raise TransientError(f"{where}: HTTP {status}")
        if status >= 400 or 300 <= status < 400:
            raise PermanentError(f"{where}: HTTP {status}")
        try:
            answer = response.json()
            code = int(answer["errcode"])
        except (ValueError, KeyError, TypeError):
            # A gateway's error page, or half an answer: nothing says the message was taken.
            raise TransientError(f"{where}: HTTP {status} without the robot's JSON answer") from None
        text = scrub(str(answer.get("errmsg", ""))[:300], *secrets)
        if code == 0:
            return Sent(detail=_("{where} accepted it: {answer}", where=where, answer=text or "ok"))
        detail = f"{where}: errcode {code}: {text}"
        if code in self.retry_codes:
            self._throttled.add(message.webhook.get_secret_value())
            raise TransientError(detail)
        raise PermanentError(detail)

    def close(self) -> None:
        client, self._client = self._client, None
        self._throttled.clear()
        if client is not None:
            client.close()


def truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, on a character boundary, marked ``…``."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", "ignore") + "…"
