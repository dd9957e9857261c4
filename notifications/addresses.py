"""Email addresses and display names, made safe before they reach a header.

The directory service calls :func:`validate_address` whenever a unit or a user is saved, so a bad
address is refused at the door; the outbox calls it again when it resolves recipients, because
rows saved before validation existed may still hold one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from states.reasons import Reason
from workflow.kernel.errors import InvalidInput

# Anything that could end a header line or confuse a mail client: C0/C1 controls (CR, LF, TAB,
# NUL, …), Unicode line and paragraph separators, and the other format characters (bidi
# overrides) that make a name read differently from what it is.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]+")


def validate_address(value: str, *, field: str = "email") -> str:
    """The normalised address, or :class:`InvalidInput` saying why it cannot receive mail.

    Syntax only (no DNS lookup): government intranets often use domains that public DNS does not
    know, and a save must not depend on the network.
    """
    normalised, problem = _check((value or "").strip())
    if problem is not None:
        raise InvalidInput(Reason("invalid", {"field": field, "problem": problem}))
    assert normalised is not None
    return normalised


@lru_cache(maxsize=4096)
def _check(text: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, why not). Memoised: the sweep resolves the same
    few supervisors' addresses for every escalated document, and ``email_validator`` costs
    about a millisecond a call here (bench_sweep)."""
    if not text:
        return None, "empty address"
    if _UNSAFE.search(text) or any(c in text for c in "<>,;\"'"):
        return None, f"'{clean_text(text)}' contains characters not allowed in an address"
    try:
        return validate_email(text, check_deliverability=False).normalized, None
    except EmailNotValidError as exc:
        return None, str(exc)


def is_valid_address(value: str | None) -> bool:
    """True if :func:`validate_address` would accept ``value``."""
    return bool(value) and _check((value or "").strip())[1] is None


def clean_text(value: str | None, *, limit: int = 900) -> str:
    """One line of text fit for a header: controls and line breaks become a single space.

    Used for subjects and display names, so a title like ``"A\\r\\nBcc: x@evil"`` stays one
    harmless line of text instead of becoming a header.
    """
    text = unicodedata.normalize("NFC", value or "")
    text = _UNSAFE.sub(" ", text)
    text = " ".join(text.split())
    return text[:limit]
