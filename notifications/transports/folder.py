"""The embedded default: each email becomes ``<mail_folder>/outbox-<id>.eml``.

A newcomer opens the folder (or double-clicks a file in any mail client) and reads exactly what
would have been sent, with no mail server. The file is written to a temporary name and renamed
into place, so a reader never sees half a message; it is named by outbox id, so a retry
overwrites the same file instead of making a second copy.
"""

from __future__ import annotations

import os
import tempfile
from email.message import Message
from pathlib import Path

from notifications.transports.base import Sent, TransientError
from states.i18n import _
from workflow.kernel.settings import Settings


def file_name(outbox_id: int) -> str:
    return f"outbox-{outbox_id:08d}.eml"


class FolderTransport:
    name = "folder"

    def __init__(self, settings: Settings) -> None:
        self.folder = Path(settings.mail_folder)

    def send(self, outbox_id: int, message: Message, recipients: list[str]) -> Sent:
        target = self.folder / file_name(outbox_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            data = message.as_bytes()  # CRLF throughout, as on the wire and as mail clients expect
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".outbox-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:  # disk full, permissions: may clear up, so retry
            raise TransientError(f"cannot write {target}: {exc.strerror or exc}") from exc
        return Sent(detail=_("written to {target}", target=target))

    def close(self) -> None:
        return None
