"""Errors a user can cause. Interfaces turn them into one clear line (CLI) or a problem
document (HTTP); anything else is a bug and may show a traceback."""

from __future__ import annotations

from collections.abc import Sequence

from states.reasons import Reason, render
from states.snapshot import ActorSnapshot


class SantongbuError(Exception):
    """Base of every user-facing error; ``message(lang)`` is what the user reads."""

    code = "error"
    http_status = 400

    def __init__(self, reasons: Sequence[Reason] | Reason) -> None:
        self.reasons: tuple[Reason, ...] = (reasons,) if isinstance(reasons, Reason) else tuple(reasons)
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        return render(self.reasons, lang)


class NotFound(SantongbuError):
    code = "not_found"
    http_status = 404


class InvalidInput(SantongbuError):
    code = "invalid_input"
    http_status = 422


class Forbidden(SantongbuError):
    """The actor may not do this (docs/design.md §7). The refusal is audited."""

    code = "forbidden"
    http_status = 403


class Refused(SantongbuError):
    """The lifecycle refuses the trigger: wrong state or a guard failed. Audited."""

    code = "refused"
    http_status = 409


class KeyMissing(SantongbuError):
    """The trail is keyed and this process has no key: writing would leave an unkeyed event in
    a keyed chain, which verify rightly reports as tampering. A configuration error, refused
    before anything is written."""

    code = "audit_key_missing"
    http_status = 503


class ConcurrentChange(SantongbuError):
    """Someone else changed the same record meanwhile; nothing was written."""

    code = "concurrent_change"
    http_status = 409


class Denied(Exception):
    """Internal: carries a :class:`Forbidden` and who was refused out of the transaction that
    is rolled back, so the refusal can be audited in one of its own."""

    def __init__(self, actor: ActorSnapshot, error: Forbidden) -> None:
        super().__init__(str(error))
        self.actor = actor
        self.error = error
