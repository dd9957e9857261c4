"""A Fernet key file for the tests that set group robots (their credentials are stored
encrypted: workflow/kernel/secretbox.py), and reading a stored credential back."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from workflow.kernel.secretbox import read_key


def key_file(folder: Path) -> Path:
    """``folder/secrets.key`` with a fresh key (made once per folder)."""
    path = folder / "secrets.key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode() + "\n", encoding="ascii")
    return path


def opened(path: Path, stored: str | None) -> str | None:
    """The plain value of a stored credential."""
    return read_key(path).open(stored) if stored is not None else None
