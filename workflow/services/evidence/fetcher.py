"""Fetching a page safely (docs/evidence.md, "What a fetch may do").

The checker fetches URLs that clerks typed, so a fetch must not become a way into the internal
network, nor a way to hang or exhaust a worker:

* **Where.** Only ``http``/``https`` URLs without credentials, to hosts admitted by the allow-list
  (:mod:`workflow.kernel.allowlist`). The host is resolved here; if any address it resolves to is
  not public, the fetch is refused unless the allow-list names that ``host:port`` exactly. The
  connection goes to the address that was checked (the URL is rewritten to the IP, the ``Host``
  header and TLS SNI keep the name, and the certificate is verified against the name), so a
  second resolution cannot point elsewhere (DNS rebinding). No proxy from the environment.
* **Redirects** are followed by hand, at most ``max_redirects``, and each hop goes through the
  same checks. A hop seen before is a loop.
* **Time.** Connect and read timeouts per operation, and a total deadline over the whole fetch
  (redirects included) enforced by cancelling it, so a server trickling one byte at a time
  cannot hold a worker.
* **Size.** The body is streamed and abandoned past ``max_bytes`` (a ``Content-Length`` over it
  is refused before reading); gzip and deflate are decoded here with the same bound, so a
  compression bomb stops at the limit too.

A fetch never raises for what the network or the server did: it returns :class:`Fetched` with a
``failure`` reason (states/evidence.py codes), which the checker records as ``unreachable``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from states.reasons import Reason
from workflow.kernel.allowlist import AllowList, default_port, is_public
from workflow.kernel.settings import Settings

Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) → addresses``; the system's resolver unless a test names its hosts."""

REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 65536


def system_resolver(host: str, port: int) -> list[str]:
    found: list[str] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True)
class Limits:
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    total_timeout: float = 15.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    user_agent: str = "Santongbu-evidence/0.1"

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.evidence_connect_timeout_seconds,
            settings.evidence_read_timeout_seconds,
            settings.evidence_total_timeout_seconds,
            settings.evidence_max_bytes,
            settings.evidence_max_redirects,
            settings.evidence_user_agent,
        )


@dataclass
class Fetched:
    """What one fetch got: the final answer, or why there is none (``failure``)."""

    url: str
    final_url: str | None = None
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    address: str | None = None
    hops: list[dict[str, object]] = field(default_factory=list)
    failure: Reason | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and self.body is not None

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def content_type(self) -> str | None:
        return self.header("content-type")


class _Stop(Exception):
    """A fetch ends here with ``reason`` (the answer's facts so far are kept)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.code)
        self.reason = reason


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    url: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default_port(self.scheme) else f"{host}:{self.port}"

    def via(self, address: str) -> str:
        """The same URL with the checked address in place of the name."""
        parts = urlsplit(self.url)
        literal = f"[{address}]" if ":" in address else address
        return urlunsplit((parts.scheme, f"{literal}:{self.port}", parts.path or "/", parts.query, ""))


def _target(url: str) -> _Target:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _Stop(Reason("bad_url", {"url": url[:200]})) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise _Stop(Reason("bad_url", {"url": url[:200]}))
    host = parts.hostname.rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host.lower()
    except UnicodeError:
        raise _Stop(Reason("bad_url", {"url": url[:200]})) from None
    return _Target(parts.scheme, host, port or default_port(parts.scheme), url.strip())


def same_url(url: str) -> str:
    """A URL as compared for loops and links: no fragment, lower-case scheme and host, no
    default port, ``/`` for an empty path."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    netloc = host if port in (None, default_port(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


class Fetcher:
    """Fetches pages within an allow-list and the :class:`Limits`; see the module doc."""

    def __init__(
        self,
        allow: AllowList,
        limits: Limits,
        *,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.allow = allow
        self.limits = limits
        self.resolver = resolver or system_resolver
        self.verify = verify

    @classmethod
    def from_settings(cls, settings: Settings, **kw: object) -> Fetcher:
        return cls(AllowList(settings.evidence_allowed_hosts), Limits.from_settings(settings), **kw)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ entry points
    def fetch(self, url: str) -> Fetched:
        """One page, in an event loop of its own (callers are synchronous: CLI, Celery)."""
        return self.fetch_all([url])[0]

    def fetch_all(self, urls: Sequence[str], *, concurrency: int = 4) -> list[Fetched]:
        """Several pages, a few at a time; results in the order of ``urls``."""

        async def run() -> list[Fetched]:
            gate = asyncio.Semaphore(concurrency)

            async def one(u: str) -> Fetched:
                async with gate:
                    return await self.fetch_async(u)

            return list(await asyncio.gather(*(one(u) for u in urls)))

        return asyncio.run(run()) if urls else []

    async def fetch_async(self, url: str) -> Fetched:
        result = Fetched(url)
        try:
            await asyncio.wait_for(self._fetch(url, result), self.limits.total_timeout)
        except TimeoutError:
            result.failure, result.body = Reason("timeout", {"phase": "total"}), None
        except _Stop as stop:
            result.failure, result.body = stop.reason, None
        return result

    # ------------------------------------------------------------------ the fetch
    async def _addresses(self, t: _Target) -> str:
        """The address to connect to, once the host and every address it has are allowed."""
        if not self.allow.admits(t.host, t.port, t.scheme):
            raise _Stop(Reason("host_not_allowed", {"host": t.host_header}))
        try:
            addresses = await asyncio.to_thread(self.resolver, t.host, t.port)
        except (OSError, UnicodeError):
            addresses = []
        if not addresses:
            raise _Stop(Reason("dns_failed", {"host": t.host}))
        for address in addresses:
            if not is_public(address) and not self.allow.names_exactly(t.host, t.port):
                raise _Stop(Reason("address_not_allowed", {"host": t.host, "address": address}))
        return addresses[0]

    async def _fetch(self, url: str, result: Fetched) -> None:
        lim = self.limits
        timeout = httpx.Timeout(
            connect=lim.connect_timeout,
            read=lim.read_timeout,
            write=lim.read_timeout,
            pool=lim.connect_timeout,
        )
        seen = {same_url(url)}
        current = url
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=self.verify
        ) as client:
            for _ in range(lim.max_redirects + 1):
                t = _target(current)
                address = await self._addresses(t)
                result.address = address
                headers = {
                    "Host": t.host_header,
                    "User-Agent": lim.user_agent,
                    "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
                    "Accept-Encoding": "gzip, deflate",
                }
                request = client.build_request(
                    "GET", t.via(address), headers=headers, extensions={"sni_hostname": t.host}
                )
                try:
                    response = await client.send(request, stream=True)
                except httpx.TimeoutException as exc:
                    phase = (
                        "connect" if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)) else "read"
                    )
                    raise _Stop(Reason("timeout", {"phase": phase})) from None
                except httpx.HTTPError as exc:
                    raise _Stop(
                        Reason("connect_failed", {"host": t.host_header, "problem": _problem(exc)})
                    ) from None
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECTS and location:
                        nxt = urljoin(current, location.strip())
                        result.hops.append({"url": current, "status": response.status_code, "location": nxt})
                        if same_url(nxt) in seen:
                            raise _Stop(Reason("redirect_loop", {"url": nxt[:200]}))
                        seen.add(same_url(nxt))
                        current = nxt
                        continue
                    result.final_url, result.status = current, response.status_code
                    result.headers = [(k, v) for k, v in response.headers.multi_items()]
                    result.body = await self._body(response)
                    return
                except httpx.TimeoutException:
                    raise _Stop(Reason("timeout", {"phase": "read"})) from None
                except httpx.HTTPError as exc:
                    raise _Stop(
                        Reason("connect_failed", {"host": t.host_header, "problem": _problem(exc)})
                    ) from None
                finally:
                    await response.aclose()
        raise _Stop(Reason("too_many_redirects", {"limit": lim.max_redirects}))

    async def _body(self, response: httpx.Response) -> bytes:
        """The body as read (content encoding removed), never more than ``max_bytes``."""
        limit = self.limits.max_bytes
        too_large = Reason("too_large", {"limit": limit})
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Stop(too_large)
        raw = bytearray()
        async for chunk in response.aiter_raw(CHUNK):
            raw += chunk
            if len(raw) > limit:
                raise _Stop(too_large)
        return decode_content(bytes(raw), response.headers.get("content-encoding", ""), limit)


def decode_content(raw: bytes, encoding: str, limit: int) -> bytes:
    """Undo gzip or deflate without ever holding more than ``limit`` bytes of output."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise _Stop(Reason("content_encoding", {"encoding": encoding[:40]}))
    modes = (16 + zlib.MAX_WBITS,) if encoding != "deflate" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    for wbits in modes:
        try:
            d = zlib.decompressobj(wbits)
            out = d.decompress(raw, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit or d.unconsumed_tail:
            raise _Stop(Reason("too_large", {"limit": limit}))
        return out
    raise _Stop(Reason("content_encoding", {"encoding": encoding}))


def _problem(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
        return "TLS: " + text[:160]
    return text[:200]
