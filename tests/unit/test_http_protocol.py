"""``santongbu serve`` turns Nagle's algorithm off on every connection (issue 20).

With ``--workers N`` uvicorn binds the listening socket itself as ``socket.socket(family=…)``
(protocol 0); the standard asyncio loop then leaves ``TCP_NODELAY`` off on accepted connections
and a response written in two pieces waits ~40 ms for the client's delayed ACK. These tests
check the socket option itself, not a time, so they hold on a busy machine.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from typer.testing import CliRunner


class _Transport:
    def __init__(self, sock: object) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> object:
        return self.sock if name == "socket" else None


def _accepted_without_nodelay() -> tuple[socket.socket, socket.socket, socket.socket]:
    listener = socket.socket(family=socket.AF_INET)  # as uvicorn's Config.bind_socket makes it
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    served, _ = listener.accept()
    return listener, client, served


def test_set_nodelay_turns_nagle_off_on_an_accepted_connection() -> None:
    from workflow.entrypoints.api.http_protocol import set_nodelay

    listener, client, served = _accepted_without_nodelay()
    try:
        assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # what asyncio leaves
        assert set_nodelay(_Transport(served)) is True  # type: ignore[arg-type]
        assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for s in (served, client, listener):
            s.close()


def test_set_nodelay_leaves_other_transports_alone() -> None:
    from workflow.entrypoints.api.http_protocol import set_nodelay

    assert set_nodelay(_Transport(None)) is False  # type: ignore[arg-type]
    left, right = socket.socketpair(socket.AF_UNIX)
    try:
        assert set_nodelay(_Transport(left)) is False  # type: ignore[arg-type]  # a Unix socket: no TCP
    finally:
        left.close()
        right.close()


def test_the_protocol_sets_nodelay_before_uvicorn_sees_the_connection(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from workflow.entrypoints.api.http_protocol import NoDelayHTTPProtocol

    seen: list[int] = []
    listener, client, served = _accepted_without_nodelay()

    def parent(self: Any, transport: Any) -> None:
        seen.append(served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(AutoHTTPProtocol, "connection_made", parent)
    try:
        protocol = NoDelayHTTPProtocol.__new__(NoDelayHTTPProtocol)
        protocol.connection_made(_Transport(served))  # type: ignore[arg-type]
        assert seen and seen[0] != 0
    finally:
        for s in (served, client, listener):
            s.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_hands_uvicorn_the_nodelay_protocol(workers: int, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from workflow.entrypoints.api.http_protocol import IMPORT_STRING, NoDelayHTTPProtocol
    from workflow.entrypoints.cli.main import app

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kw: calls.append(kw))
    monkeypatch.chdir(tmp_path)
    # serve --workers N exports the database for its worker processes: monkeypatch puts the
    # variables back as they were (setenv first, so that it records them even when unset).
    for name in ("SANTONGBU_DATABASE_URL", "SANTONGBU_LANGUAGE"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    result = CliRunner().invoke(
        app, ["--db", f"sqlite:///{tmp_path / 's.db'}", "serve", "--workers", str(workers)]
    )
    assert result.exit_code == 0, result.output
    (kw,) = calls
    assert kw["http"] in (NoDelayHTTPProtocol, IMPORT_STRING)
    if workers > 1:  # the worker processes import it by name
        assert kw["http"] == IMPORT_STRING
