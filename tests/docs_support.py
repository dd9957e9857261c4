"""Reading the shell examples out of README.md and docs/*.md, running them, comparing output.

What runs: every line of a ```` ```bash ````, ```` ```sh ```` or ```` ```console ```` block, and
of a plain block whose lines start with ``$ `` (the ``$ `` dropped), each joined with its
``\\`` continuations, in document order, by one real bash per document (so ``export``,
``VAR=$(…)``, functions, pipes and ``curl`` behave as in a terminal). ``santongbu serve`` is
started in the background on a free port, and ``127.0.0.1:8000`` in every command points to it.

What is compared:

* each command's exit status: 0, or N where its comment (or its quote) says ``(exit N)``; a
  ``curl`` whose output the docs do not show must get an HTTP success;
* ``#  → text`` comment lines under a command (continued by ``#    …`` lines): each piece
  between ``…`` must occur in its output, whitespace folded;
* shown output: the lines under a ``$ command`` in a console block, or a block that follows a
  block of commands with no line in between (the output of its last command), or a block
  marked ``output of: COMMAND`` (which runs COMMAND). A line ``…`` elides any lines, and ``…``
  inside a line elides part of it; everything else must match exactly, after the block's
  ``normalise`` words (below) are applied to both sides.

HTML comments steer it, ``<!-- docs-test: WORDS -->`` on the lines right above a block:

* ``skip REASON`` — the block is not run (production settings, long-running processes);
* ``skip-lines A | B`` — its lines containing A or B are not run;
* ``drop TEXT`` — TEXT is removed from its commands (``pip install`` of the product under test);
* ``stdin A | B`` — its commands read the lines A, B (``stdin N: A | B``: its N-th command); ``env K=V …`` — they run with K=V;
* ``normalise instants dates hashes tokens`` — such values compare equal whatever they are;
* ``output of: COMMAND`` — the block shows what COMMAND prints; ``not output`` — it does not;
* anywhere in a document: ``skip-document REASON`` — nothing in it is run; ``files A B`` — the example files A, B exist in the folder it runs in;
  ``setup MODULE:FUNCTION [ARG]`` — FUNCTION(folder[, ARG]) builds data the document queries.

``SANTONGBU_UPDATE_DOCS=1`` rewrites every shown output that differs with what the product
printed (elided blocks line by line, each line to its closest real line), and reports the rest.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^\s*```(\S*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
RUNNABLE = {"bash", "sh", "shell", "console"}
EXIT = re.compile(r"\(exit (\d+)\b[^)]*\)")
NORMALISERS = {
    "instants": (
        re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"),
        "<instant>",
    ),
    "dates": (re.compile(r"\d{4}-\d{2}-\d{2}"), "<date>"),
    "hashes": (re.compile(r"\b[0-9a-f]{12,64}\b"), "<hash>"),
    "tokens": (re.compile(r"stb_[A-Za-z0-9_-]+"), "<token>"),
}


@dataclass
class Command:
    line: int  # 0-based line of the command in the document
    text: str
    expected_rc: int = 0
    quotes: list[str] = field(default_factory=list)
    shown: list[str] | None = None  # the output the doc shows, if any
    shown_at: tuple[int, int] | None = None  # its lines [start, end) in the document
    normalise: tuple[str, ...] = ()
    hidden: bool = False  # run for an ``output of:`` block, not written in the doc
    stdin: str = ""  # what the command reads, from the block's ``stdin`` marker
    env: str = ""  # ``K=V …`` put before the command, from the block's ``env`` marker
    quote_at: int | None = None  # the line of a one-line ``#  →`` quote, which update mode may rewrite


@dataclass
class Document:
    path: Path
    lines: list[str]
    commands: list[Command]
    files: list[str]
    setups: list[str]
    skipped: str = ""  # why nothing in it runs (``skip-document``)


def _markers(lines: list[str], fence: int) -> list[str]:
    found = []
    i = fence - 1
    while i >= 0 and (not lines[i].strip() or MARKER.match(lines[i])):
        m = MARKER.match(lines[i])
        if m:
            found.append(m.group(1))
        i -= 1
    return found


def _adjacent(lines: list[str], closed: int, fence: int) -> bool:
    """Nothing but markers between the end of a block of commands and this block."""
    return closed >= 0 and closed < fence and all(MARKER.match(x) for x in lines[closed + 1 : fence])


def _words(markers: list[str], word: str) -> list[str]:
    return [m[len(word) :].strip() for m in markers if m == word or m.startswith(word + " ")]


def _joined(lines: list[str], start: int) -> tuple[str, int]:
    """The command starting at ``start`` with its ``\\`` continuations and any quoted argument
    that goes on over lines, and the line after it."""
    text, i = lines[start], start
    while i + 1 < len(lines):
        if text.rstrip().endswith("\\"):
            text = text.rstrip()[:-1].rstrip() + " " + lines[i + 1].strip()
        elif _open_quote(text):  # a quoted argument (a JSON body) spans lines
            text = text + "\n" + lines[i + 1]
        else:
            break
        i += 1
    return text, i + 1


def _open_quote(text: str) -> bool:
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return True
    return False


def parse(path: Path) -> Document:
    lines = path.read_text(encoding="utf-8").split("\n")
    doc_markers = [m.group(1) for line in lines if (m := MARKER.match(line))]
    files = [f for words in _words(doc_markers, "files") for f in words.split()]
    setups = _words(doc_markers, "setup")
    if why := _words(doc_markers, "skip-document"):
        return Document(path, lines, [], files, [], why[0].lstrip("— "))
    commands: list[Command] = []
    i, last_runnable_end = 0, -10
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i + 1
        end = start
        while end < len(lines) and not FENCE.match(lines[end]):
            end += 1
        body = lines[start:end]
        markers = _markers(lines, i)
        console = lang == "console" or (
            lang == "" and bool(body) and body[0].startswith("$ ") and "output of:" not in " ".join(markers)
        )
        normalise = tuple(w for words in _words(markers, "normalise") for w in words.split())
        if _words(markers, "skip"):
            pass
        elif lang in RUNNABLE or console:
            _commands(commands, lines, start, end, console, markers, normalise)
            last_runnable_end = end
        elif (of := _words(markers, "output of:")) or (
            _adjacent(lines, last_runnable_end, i) and "not output" not in markers and commands
        ):
            if of:
                commands.append(
                    Command(line=i, text=of[0], hidden=True, env=" ".join(_words(markers, "env")))
                )
            cmd = commands[-1]
            cmd.shown, cmd.shown_at = body, (start, end)
            cmd.normalise = cmd.normalise + normalise
        i = end + 1
    return Document(path, lines, commands, files, setups)


def _commands(
    out: list[Command],
    lines: list[str],
    start: int,
    end: int,
    console: bool,
    markers: list[str],
    normalise: tuple[str, ...],
) -> None:
    skip = [s.strip() for words in _words(markers, "skip-lines") for s in words.split(" — ")[0].split("|")]
    drop = _words(markers, "drop")
    stdins: dict[int, str] = {}
    for words in _words(markers, "stdin"):
        which, _, rest = words.partition(": ")
        number, lines_ = (int(which), rest) if rest and which.isdigit() else (0, words)
        stdins[number] = "".join(part.strip() + "\n" for part in lines_.split("|"))
    env = " ".join(_words(markers, "env"))
    i = start
    while i < end:
        raw = lines[i]
        stripped = raw.strip()
        if console and not raw.startswith("$ "):
            i += 1
            continue
        if stripped.startswith("#  →") or (stripped.startswith("#    ") and out and out[-1].quotes):
            if out and out[-1].line >= start:
                cmd = out[-1]
                quote = stripped.removeprefix("#  →").removeprefix("#").strip()
                if rc_said := EXIT.search(quote):
                    cmd.expected_rc, quote = int(rc_said.group(1)), EXIT.sub("", quote).strip()
                cmd.quotes.append(quote)
                one_line = len(cmd.quotes) == 1 and "…" not in cmd.quotes[0]
                cmd.quote_at = i if one_line else None
            i += 1
            continue
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        text, nxt = _joined(lines, i)
        text = text[2:] if console else text
        for d in drop:
            text = text.replace(d, "")
        if any(s and s in text for s in skip):
            i = nxt
            continue
        rc = EXIT.search(text)
        stdin = stdins.get(sum(1 for c in out if c.line >= start) + 1, stdins.get(0, ""))
        cmd = Command(
            line=i,
            text=text,
            expected_rc=int(rc.group(1)) if rc else 0,
            normalise=normalise,
            stdin=stdin,
            env=env,
        )
        if console:
            shown_end = nxt
            while shown_end < end and not lines[shown_end].startswith("$ "):
                shown_end += 1
            if shown_end > nxt:
                cmd.shown, cmd.shown_at = lines[nxt:shown_end], (nxt, shown_end)
            nxt = shown_end
        out.append(cmd)
        i = nxt


SERVE = re.compile(r"^(\s*)santongbu((?:\s+--\S+(?:\s+[^-\s]\S*)?)*)\s+serve\b(.*?)\s*(?:&\s*)?(?:#.*)?$")


def shell_text(cmd: Command, port: int) -> str:
    """The command as bash runs it: the server on the test's port, in the background."""
    text = cmd.text
    m = SERVE.match(text)
    if m:
        rest = re.sub(r"--port\s+\d+", "", m.group(3))
        text = f"__serve{m.group(2)} serve{rest}"
    if text.startswith("curl ") and cmd.shown is None:
        text = "curl --fail-with-body " + text[5:]  # an HTTP error is a failure unless the docs show it
    return text.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace("localhost:8000", f"localhost:{port}")


PRELUDE = r"""set +o errexit
__serve() {
  if [ -n "$__SERVE_PID" ]; then kill "$__SERVE_PID"; wait "$__SERVE_PID" 2>/dev/null; fi
  local args=("$@")
  santongbu "${args[@]}" --port "$__PORT" >>"$__OUT/serve.log" 2>&1 &
  __SERVE_PID=$!
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$__PORT") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "santongbu serve did not start" >&2; return 1
}
__run() {
  local __n=$1 __cmd __in=/dev/null
  __cmd=$(cat)
  if [ -f "$__OUT/$__n.in" ]; then __in="$__OUT/$__n.in"; fi
  eval "$__cmd" >"$__OUT/$__n.out" 2>"$__OUT/$__n.err" <"$__in"
  echo $? >"$__OUT/$__n.rc"
}
"""


def script(doc: Document, port: int, out: Path) -> str:
    """The document as one bash script; a command's stdin, if any, is written beside it."""
    parts = [PRELUDE]
    for n, cmd in enumerate(doc.commands):
        if cmd.stdin:
            (out / f"{n}.in").write_text(cmd.stdin, encoding="utf-8")
        text = f"{cmd.env} {shell_text(cmd, port)}" if cmd.env else shell_text(cmd, port)
        parts.append(f"__run {n} <<'__DOCS_TEST_EOF'\n{text}\n__DOCS_TEST_EOF\n")
    parts.append('if [ -n "$__SERVE_PID" ]; then kill "$__SERVE_PID"; wait "$__SERVE_PID" 2>/dev/null; fi\n')
    return "".join(parts)


def normalised(text: str, words: tuple[str, ...]) -> str:
    """Lines without trailing blanks (curl's CR included) or a BOM, ``words`` normalised."""
    text = text.replace("\ufeff", "")
    for word in words:
        pattern, replacement = NORMALISERS[word]
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))


def shown_matches(shown: list[str], real: str, words: tuple[str, ...]) -> bool:
    regex = ""
    for line in normalised("\n".join(shown), words).split("\n"):
        if line.strip() == "…":
            regex += r"(?:.*\n)*?"
        else:
            regex += ".*?".join(re.escape(piece) for piece in line.split("…")) + r"\n"
    return re.fullmatch(regex, normalised(real, words) + "\n") is not None


def quotes_missing(quotes: list[str], real: str) -> list[str]:
    fold = re.sub(r"\s+", " ", real)
    wanted = re.sub(r"\s+", " ", " ".join(quotes))
    return [p.strip(" ()") for p in wanted.split("…") if p.strip(" ()") and p.strip(" ()") not in fold]


def requoted(line: str, real: str) -> str:
    """A one-line ``#  →`` quote replaced by the first line the command printed."""
    first = next((x.strip() for x in real.split("\n") if x.strip()), "")
    return line[: line.index("#  →") + len("#  →")] + " " + first


def rewritten(shown: list[str], real: str) -> list[str]:
    """The shown output updated: whole, or for an elided block each line to its closest real one."""
    real_lines = [line.rstrip() for line in real.replace("\ufeff", "").strip("\n").split("\n")]
    gap = [""] if shown and not shown[-1].strip() else []  # the blank line before the next command
    if not any("…" in line for line in shown):
        return real_lines + gap
    out, at = [], 0
    for line in shown:
        if line.strip() == "…":
            out.append(line)
            continue
        if at >= len(real_lines):  # the product prints less than the docs show
            continue
        ratios = [difflib.SequenceMatcher(None, line, r).ratio() for r in real_lines[at:]]
        best = max(range(len(ratios)), key=ratios.__getitem__)
        if "…" in line and shown_matches([line], real_lines[at + best], ()):
            out.append(line)
        else:
            out.append(real_lines[at + best])
        at += best + 1
    return out + gap if gap and out and out[-1].strip() else out


def words_of(cmd: Command) -> list[str]:
    try:
        return shlex.split(cmd.text, comments=True)
    except ValueError:
        return cmd.text.split()
