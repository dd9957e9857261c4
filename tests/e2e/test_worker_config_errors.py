"""A worker started with a configuration mistake says so in one line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _import_workers(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "SANTONGBU_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", **env}
    return subprocess.run(
        [sys.executable, "-c", "import workers"],
        cwd=tmp_path,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_missing_audit_key_file_is_one_line(tmp_path: Path) -> None:
    run = _import_workers(tmp_path, SANTONGBU_AUDIT_KEY_FILE=str(tmp_path / "no-such.key"))
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("santongbu worker: SANTONGBU_AUDIT_KEY_FILE:")


def test_an_invalid_setting_is_one_line(tmp_path: Path) -> None:
    run = _import_workers(tmp_path, SANTONGBU_LANGUAGE="klingon")
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().startswith("santongbu worker: configuration error: language")


def test_a_good_configuration_imports(tmp_path: Path) -> None:
    run = _import_workers(tmp_path)
    assert run.returncode == 0, run.stderr
