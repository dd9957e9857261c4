"""What ``doc attach --file`` needs to tell a text file from a material file and stream the
latter (kept apart from the ``doc`` commands that use it)."""

from __future__ import annotations

from pathlib import Path

import filetype

from workflow.entrypoints.cli import common
from workflow.entrypoints.cli.common import _
from workflow.services.documents import Outcome


def is_binary(path: Path) -> bool:
    """Whether ``path`` is a file the type sniffer knows (else it is read as UTF-8 text)."""
    try:
        with path.open("rb") as fh:
            return filetype.guess(fh.read(8192)) is not None
    except OSError as exc:
        common.fail(_("--file: cannot read {path}: {p1}", path=path, p1=common.os_problem(exc)))


def attach_file(as_: str, doc_id: int, form: str, title: str, path: Path, if_version: int | None) -> Outcome:
    """Stream ``path`` into the store as the material's file (never read whole)."""
    with path.open("rb") as fh:
        return common.context().services.workflow.attach_file(
            as_, doc_id, form=form, title=title, source=fh, filename=path.name, expected_version=if_version
        )
