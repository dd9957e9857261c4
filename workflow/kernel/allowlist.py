"""The hosts the evidence checker may fetch from (``SANTONGBU_EVIDENCE_ALLOWED_HOSTS``).

A comma-separated list of ``host[:port]`` entries:

* ``www.fuzhou.gov.cn`` admits that host on the default ports (80 for http, 443 for https);
* ``www.fuzhou.gov.cn:8080`` admits that host on port 8080 only;
* ``*.fzdaily.example.cn`` admits every subdomain (not the bare domain) on the default ports.

An address that is not public (private, loopback, link-local, shared, reserved, multicast,
unspecified) is refused even for an admitted host, unless the entry names that host *and port*
exactly (``127.0.0.1:8080``, ``intranet.portal.gov.cn:80``): a public name that resolves into
the internal network, or starts to (DNS rebinding), is never fetched by accident.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")


class AllowListError(ValueError):
    """An entry that is not ``host[:port]``."""


@dataclass(frozen=True)
class Entry:
    host: str
    port: int | None
    wildcard: bool


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _split(item: str) -> tuple[str, int | None]:
    if item.startswith("["):  # [v6]:port
        host, _, rest = item[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
        if rest and port is None:
            raise AllowListError(f"evidence_allowed_hosts: {item!r} is not host[:port]")
    elif item.count(":") == 1:
        host, port = item.split(":")
    else:
        host, port = item, None
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise AllowListError(f"evidence_allowed_hosts: {item!r} has no valid port")
    return host, int(port) if port is not None else None


def parse_allow_list(text: str) -> tuple[Entry, ...]:
    """The entries of a comma-separated list; :class:`AllowListError` for a malformed one."""
    entries = []
    for raw in text.split(","):
        item = raw.strip().lower().rstrip(".")
        if not item:
            continue
        host, port = _split(item)
        try:
            ipaddress.ip_address(host)
            is_ip = True
        except ValueError:
            is_ip = False
        if not is_ip:
            try:
                host = (
                    host.encode("idna").decode("ascii")
                    if not host.startswith("*.")
                    else "*." + host[2:].encode("idna").decode("ascii")
                )
            except UnicodeError:
                raise AllowListError(f"evidence_allowed_hosts: {item!r} is not a host name") from None
            if not _HOST.match(host):
                raise AllowListError(f"evidence_allowed_hosts: {item!r} is not a host name")
        wildcard = host.startswith("*.")
        entries.append(Entry(host[2:] if wildcard else host, port, wildcard))
    return tuple(entries)


class AllowList:
    """Which (host, port) pairs may be fetched, and which may be fetched on a private address."""

    def __init__(self, text: str) -> None:
        self.entries = parse_allow_list(text)

    def admits(self, host: str, port: int, scheme: str) -> bool:
        host = host.lower().rstrip(".")
        for e in self.entries:
            port_ok = port == e.port if e.port is not None else port == default_port(scheme)
            name_ok = host.endswith("." + e.host) if e.wildcard else host == e.host
            if port_ok and name_ok:
                return True
        return False

    def names_exactly(self, host: str, port: int) -> bool:
        """An entry names this host and this port (no wildcard, port written out)."""
        host = host.lower().rstrip(".")
        return any(not e.wildcard and e.port == port and e.host == host for e in self.entries)


def is_public(address: str) -> bool:
    """A global unicast address (an IPv4-mapped IPv6 address is judged as its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
