"""Every command README.md and docs/*.md show runs, in order, per document, against a fresh
installation, and where the docs show output, the product prints it.

How commands are found, what is compared and the ``<!-- docs-test: … -->`` markers are in
:mod:`tests.docs_support`. Each document runs in an empty folder of its own (so each has its
own SQLite database, ``santongbu.db`` as the docs assume), by one real bash with ``santongbu``
(and ``.venv/bin/santongbu``) on its PATH; a fork server keeps each command's start-up to
milliseconds (:mod:`tests.docs_forkserver`).

After a change of wording, regenerate the shown outputs with::

    SANTONGBU_UPDATE_DOCS=1 .venv/bin/pytest tests/e2e/test_docs.py

and read the diff (``git diff README.md docs/``) before committing it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import docs_support as ds
from tests.docs_forkserver import CLIENT

ROOT = Path(__file__).resolve().parents[2]
ALL_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCS = [p for p in ALL_DOCS if ds.parse(p).commands]
"""The documents with commands to run; the others are checked to say why they have none."""
UPDATE = os.environ.get("SANTONGBU_UPDATE_DOCS") == "1"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def fork_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("forkserver")
    sock = folder / "s"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANTONGBU_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.docs_forkserver", str(sock)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    client = bin_dir / "santongbu"
    client.write_text(f"#!{sys.executable} -S\n{CLIENT}", encoding="utf-8")
    client.chmod(0o755)
    yield sock
    proc.terminate()
    proc.wait(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(folder: Path, doc: ds.Document, client: Path) -> None:
    """The folder a reader runs the document in: a checkout's sample files, no database."""
    (folder / "workflow").mkdir()
    (folder / "workflow" / "data").symlink_to(ROOT / "workflow" / "data")
    shutil.copytree(ROOT / "docs", folder / "docs", ignore=shutil.ignore_patterns("screenshots"))
    venv_bin = folder / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "santongbu").symlink_to(client)
    for name in doc.files:
        path = folder / name
        path.write_bytes(PNG if name.endswith(".png") else f"{path.stem}:第一条 为规范……\n".encode())
    for setup in doc.setups:
        target, *args = setup.split()
        module, function = target.split(":")
        getattr(importlib.import_module(module), function)(folder, *args)


def _run(
    doc: ds.Document, folder: Path, sock: Path, name: str = ".docs-test"
) -> list[tuple[ds.Command, int, str]]:
    out = folder / name
    out.mkdir()
    port = _free_port()
    env = {
        "PATH": f"{sock.parent / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "COLUMNS": "200",
        "SANTONGBU_DOCS_SOCKET": str(sock),
        "__OUT": str(out),
        "__PORT": str(port),
    }
    proc = subprocess.Popen(
        ["bash", "--norc", "--noprofile"],
        cwd=folder,
        env=env,
        stdin=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        proc.communicate(ds.script(doc, port, out), timeout=int(os.environ.get("DOCS_TIMEOUT", "240")))
    except subprocess.TimeoutExpired:
        pass  # the commands that did not finish have no status: reported below
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
    results = []
    for n, cmd in enumerate(doc.commands):
        rc_file = out / f"{n}.rc"
        rc = int(rc_file.read_text()) if rc_file.exists() else -1
        text = (out / f"{n}.out").read_text(errors="replace") if rc_file.exists() else ""
        err = (out / f"{n}.err").read_text(errors="replace") if rc_file.exists() else ""
        results.append((cmd, rc, text + err))
    return results


def test_a_document_with_nothing_to_run_says_why() -> None:
    """No document escapes the test silently: one without commands either holds no shell block
    at all, or names its reason (``skip-document``) or marks each block skipped with one."""
    quiet = [p for p in ALL_DOCS if p not in DOCS]
    for path in quiet:
        text = path.read_text(encoding="utf-8")
        has_shell = any(f"```{k}" in text for k in ("bash", "console", "sh\n"))
        assert not has_shell or "docs-test: skip" in text, (
            f"{path.name}: shell blocks but no reason to skip them"
        )
    assert len(DOCS) >= 7, [p.name for p in DOCS]  # README and the docs whose commands run


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_the_docs_commands_run_as_shown(path: Path, fork_server: Path, tmp_path: Path) -> None:
    doc = ds.parse(path)
    _prepare(tmp_path, doc, fork_server.parent / "bin" / "santongbu")
    problems: list[str] = []
    updates: dict[tuple[int, int], list[str]] = {}
    where = path.relative_to(ROOT)
    for cmd, rc, output in _run(doc, tmp_path, fork_server):
        at = f"{where}:{cmd.line + 1}: {cmd.text}"
        if rc != cmd.expected_rc:
            problems.append(f"{at}\n  exit {rc}, the docs say {cmd.expected_rc}\n{_indent(output)}")
            continue
        missing = ds.quotes_missing(cmd.quotes, output)
        if missing and UPDATE and cmd.quote_at is not None:
            updates[(cmd.quote_at, cmd.quote_at + 1)] = [ds.requoted(doc.lines[cmd.quote_at], output)]
        elif missing:
            problems.append(f"{at}\n  the docs quote {missing!r}; it printed:\n{_indent(output)}")
        if cmd.shown is not None and cmd.shown_at and not ds.shown_matches(cmd.shown, output, cmd.normalise):
            if UPDATE:
                updates[cmd.shown_at] = ds.rewritten(cmd.shown, output)
            else:
                problems.append(
                    f"{at}\n  the docs show:\n{_indent(chr(10).join(cmd.shown))}\n  it printed:\n{_indent(output)}"
                )
        if "santongbu demo" in cmd.text and rc == 0:
            problems += _try_next(output, tmp_path, fork_server, at)
    if updates:
        lines = list(doc.lines)
        for (start, end), new in sorted(updates.items(), reverse=True):
            lines[start:end] = new
        path.write_text("\n".join(lines), encoding="utf-8")
    assert not problems, f"{len(problems)} command(s) in {where} do not run as shown:\n\n" + "\n\n".join(
        problems
    )


def _try_next(output: str, folder: Path, sock: Path, at: str) -> list[str]:
    """The demo's closing "try next" lines run as printed (after the README's activation), and
    a write works as soon as their leading exports are made."""
    lines = output.split("\n")
    start = next(
        (i for i, line in enumerate(lines) if line.strip().startswith(("接下来可以试试", "Try next"))), None
    )
    if start is None:
        return [f"{at}\n  the demo printed no 'try next' lines"]
    hints = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        hints.append(line.split("   #")[0].strip())
    # A write right after the leading exports: they must be all a write needs (the audit key
    # too), before any other hint is tried.
    first = next((i for i, h in enumerate(hints) if not h.startswith("export ")), len(hints))
    hints.insert(first, "santongbu doc create --as liu.spc --title 试一试")
    doc = ds.Document(folder / "try-next.md", [], [ds.Command(line=0, text=h) for h in hints], [], [])
    problems = []
    for cmd, rc, out in _run(doc, folder, sock, "try-next"):
        if rc != 0:
            problems.append(f"{at}\n  the demo suggests `{cmd.text}`: exit {rc}\n{_indent(out)}")
    return problems


def _indent(text: str) -> str:
    return "\n".join("    | " + line for line in text.rstrip("\n").split("\n")[:40])
