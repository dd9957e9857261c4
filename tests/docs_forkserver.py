"""A fork server that makes ``santongbu`` start in milliseconds for the docs test.

The docs are run by a real bash, word for word, and every ``santongbu`` there is a real
process with its own arguments, environment, folder and standard streams. Starting Python and
importing the product takes ~3 s here, and the docs run a few hundred commands; so this server
imports the CLI once and forks a child per command. The ``santongbu`` on bash's PATH is a tiny
stdlib-only client that hands its argv, environment, folder and file descriptors 0–2 over a
Unix socket and exits with the child's status; SIGTERM to the client is passed to the child
(that is how the test stops ``santongbu serve &``). Nothing is shared between commands but the
imported code: the server never runs a command itself.

Run as ``python -m tests.docs_forkserver SOCKET``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

CLIENT = r"""import json, os, signal, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["SANTONGBU_DOCS_SOCKET"])
payload = json.dumps({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}).encode()
socket.send_fds(s, [len(payload).to_bytes(8, "big") + payload], [0, 1, 2])
f = s.makefile("rb")
pid = int(f.readline())
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
signal.signal(signal.SIGINT, lambda *_: os.kill(pid, signal.SIGINT))
line = f.readline()
sys.exit(int(line) if line.strip() else 1)
"""


def _receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
    size = int.from_bytes(data[:8], "big")
    body = data[8:]
    while len(body) < size:
        body += conn.recv(size - len(body))
    return json.loads(body), fds


def _child(conn: socket.socket) -> None:
    request, fds = _receive(conn)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    conn.sendall(f"{os.getpid()}\n".encode())
    os.chdir(str(request["cwd"]))
    os.environ.clear()
    os.environ.update(request["env"])  # type: ignore[arg-type]
    sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from workflow.entrypoints.cli.localize import run
    from workflow.entrypoints.cli.main import app

    code: int = 0
    try:  # as the console script does: the language first, then the command
        code = run(app, list(request["argv"]))  # type: ignore[arg-type]
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # a traceback is a failure the docs test must show, not hide
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    conn.sendall(f"{code}\n".encode())
    os._exit(code)


def serve(path: str) -> None:
    import workflow.entrypoints.cli.main  # noqa: F401  (the point: import once)

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _child(conn)
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
