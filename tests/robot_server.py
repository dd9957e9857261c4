"""A real HTTP server on loopback that answers as the WeCom and DingTalk group robots do.

It checks each request the way the vendors document it and answers with their bodies:

* WeCom: ``POST /cgi-bin/webhook/send?key=KEY``, JSON ``{"msgtype": "markdown", "markdown":
  {"content": …}}`` (content at most 4096 bytes); an unknown key is ``93000`` "invalid webhook url".
* DingTalk: ``POST /robot/send?access_token=TOKEN&timestamp=T&sign=S`` where
  ``S = urlencode(base64(HMAC-SHA256(secret, f"{T}\\n{secret}")))`` and ``T`` (milliseconds) is
  within an hour of the server's clock; JSON ``{"msgtype": "markdown", "markdown": {"title": …,
  "text": …}}``. An unknown token is ``300001``, a bad or stale signature ``310000``.

Success is ``{"errcode": 0, "errmsg": "ok"}``. A test scripts other answers (rate limits, HTTP
errors, a gateway's HTML page) with :meth:`RobotServer.answer_next`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    """One request as the server saw it."""

    method: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    answered: tuple[int, bytes] = (0, b"")

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class RobotServer:
    wecom_keys: set[str] = field(default_factory=set)
    dingtalk_secrets: dict[str, str | None] = field(default_factory=dict)
    """access token → signing secret (None: a robot secured by keywords, no signature)."""
    now_ms: Any = None
    """A callable giving the server's clock in milliseconds (DingTalk's one-hour window)."""
    calls: list[Call] = field(default_factory=list)
    _script: deque[tuple[int, bytes, str]] = field(default_factory=deque)

    def start(self) -> RobotServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server API names it so
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                call = Call(
                    "POST",
                    parts.path,
                    parts.query,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                status, body, ctype = server._answer(call)
                call.answered = (status, body)
                server.calls.append(call)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer_next(
        self, status: int = 200, body: Any = None, content_type: str = "application/json"
    ) -> None:
        """The next request gets this answer (after the checks pass), instead of success."""
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._script.append((status, raw, content_type))

    @staticmethod
    def vendor(errcode: int, errmsg: str) -> dict[str, Any]:
        return {"errcode": errcode, "errmsg": errmsg}

    def _json(self, payload: dict[str, Any], status: int = 200) -> tuple[int, bytes, str]:
        return status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json"

    def _answer(self, call: Call) -> tuple[int, bytes, str]:
        problem = self._check(call)
        if problem is not None:
            return self._json(problem)
        if self._script:
            return self._script.popleft()
        return self._json(self.vendor(0, "ok"))

    def _check(self, call: Call) -> dict[str, Any] | None:
        """The vendor's own refusal of a malformed request, or None."""
        if not call.headers.get("content-type", "").startswith("application/json"):
            return self.vendor(40035, "invalid content type")
        try:
            body = call.json
        except ValueError:
            return self.vendor(40035, "invalid json")
        if call.path == "/cgi-bin/webhook/send":
            key = call.query.get("key", [""])[0]
            if key not in self.wecom_keys:
                return self.vendor(93000, "invalid webhook url, hint: [1700000000_abc], from ip: 127.0.0.1")
            content = (body.get("markdown") or {}).get("content")
            if body.get("msgtype") != "markdown" or not isinstance(content, str) or not content:
                return self.vendor(40008, "invalid message type")
            if len(content.encode("utf-8")) > 4096:
                return self.vendor(40058, "markdown.content exceed max length 4096")
            return None
        if call.path == "/robot/send":
            token = call.query.get("access_token", [""])[0]
            if token not in self.dingtalk_secrets:
                return self.vendor(300001, "token is not exist")
            secret = self.dingtalk_secrets[token]
            if secret is not None:
                problem = self._check_sign(call, secret)
                if problem:
                    return problem
            md = body.get("markdown") or {}
            if body.get("msgtype") != "markdown" or not md.get("title") or not md.get("text"):
                return self.vendor(40035, "缺少参数 markdown.title 或 markdown.text")
            return None
        return self.vendor(404, f"no such API {call.path}")

    def _check_sign(self, call: Call, secret: str) -> dict[str, Any] | None:
        stamp = call.query.get("timestamp", [""])[0]
        got = call.query.get("sign", [""])[0]  # parse_qs has undone the URL-encoding
        if not stamp.isdigit() or not got:
            return self.vendor(
                310000, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"
            )
        if self.now_ms is not None and abs(int(stamp) - int(self.now_ms())) > 3600 * 1000:
            return self.vendor(310000, "timestamp is out of range")
        want = base64.b64encode(
            hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(want, got):
            return self.vendor(
                310000, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"
            )
        return None
