"""The README's worked example of the trust rules runs as written: each command's exit status
(``(exit 2)`` where the README says so, 0 otherwise) and each line the README quotes after it
(``#  → …``; ``…`` stands for text left out)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import SAMPLE
from workflow.entrypoints.cli.main import app

README = Path(__file__).resolve().parents[2] / "README.md"


def example() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Trust: who may sign, whose clock counts, corrections")
    block = text[text.index("```bash\n", start) + len("```bash\n") :]
    return block[: block.index("```")].splitlines()


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def steps(lines: list[str]) -> list[tuple[str, list[str], list[str]]]:
    """(kind, words, quoted fragments) per line that does something."""
    out: list[tuple[str, list[str], list[str]]] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#  →") or (stripped.startswith("#    ") and out and out[-1][2]):
            quoted = stripped.removeprefix("#  →").removeprefix("#").strip()
            out[-1][2].append(quoted)
            continue
        if not stripped or stripped.startswith(("#", "st()")):
            continue
        words = shlex.split(line, comments=True)
        out.append((words[0] if not words[0].startswith("NOW=") else "NOW", words, []))
        if "(exit 2)" in line:
            out[-1][1].append("<exit 2>")
    return out


def test_the_worked_example_runs_as_the_readme_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env: dict[str, str] = {}
    now = ""
    ran = 0
    for kind, words, quoted in steps(example()):
        if kind == "export":
            env.update(w.split("=", 1) for w in words[1:])  # type: ignore[misc]
            continue
        if kind == "NOW":
            now = words[0].split("=", 1)[1]
            continue
        assert kind == "st", words
        expect_refusal = words[-1] == "<exit 2>"
        args = [
            str(SAMPLE) if w == "workflow/data/sample_bureau.toml" else w
            for w in words[1:]
            if w != "<exit 2>"
        ]
        result = runner.invoke(app, ["--lang", "en", "--now", now, *args], env=env)
        ran += 1
        assert result.exit_code == (2 if expect_refusal else 0), (words, result.output)
        output = _normal(result.output)
        for fragment in _normal(" ".join(quoted)).split("…"):
            fragment = fragment.strip(" ()")
            assert fragment in output, (words, fragment, result.output)
        if args[:2] == ["audit", "events"]:
            rows = json.loads(result.output)["rows"]
            assert rows and all(
                r["channel"] == "cli" and r["credential"].startswith("os:") and r["wall_at"] for r in rows
            )
    assert ran >= 25
