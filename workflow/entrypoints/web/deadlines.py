"""A document's deadline as a clerk reads it: working days left, due today, or overdue.

Counted on the working-day calendar as the database holds it now (make-up weekends included),
in the working zone, "as of" the injected clock — the same rule the sweep and the reports use
(:mod:`states.deadline`), so the page never disagrees with the escalation emails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from states.deadline import (
    WorkingDays,
    is_late,
    local_date,
    overdue_words,
    working_days_between,
    working_days_overdue,
)
from states.lifecycle import EDITABLE
from workflow.entrypoints.web.i18n import t


@dataclass(frozen=True)
class DueStatus:
    """``kind``: none (not published), open, today, overdue, on_time, late, closed."""

    kind: str
    days: int | None = None
    due_date: date | None = None
    provisional: bool = False

    @property
    def css(self) -> str:
        """The class that highlights the row: due today and overdue stand out."""
        return {"today": "due-today", "overdue": "overdue", "late": "late"}.get(self.kind, "")

    def text(self, lang: str) -> str:
        n = self.days or 0
        if self.kind == "open":
            return t("due.left1", lang) if n == 1 else t("due.left", lang, n=n)
        if self.kind == "today":
            return t("due.today", lang)
        if self.kind == "overdue":
            return overdue_words(n, lang)
        if self.kind == "on_time":
            return t("due.posted_on_time", lang, n=n)
        if self.kind == "late":
            return t("due.posted_late", lang, what=overdue_words(n, lang))
        if self.kind == "none":
            return t("due.none", lang)
        return ""

    def until(self, lang: str) -> str:
        return t("due.until", lang, date=self.due_date.isoformat()) if self.due_date else ""


def due_status(doc: dict, now: datetime, calendar: WorkingDays, tz: str) -> DueStatus:
    """The deadline status of a document view (``read_document`` or ``list_documents`` row)."""
    due_at: datetime | None = doc.get("due_at")
    if due_at is None:
        return DueStatus("none" if doc.get("state") in EDITABLE else "closed")
    due_day = local_date(due_at, tz)
    provisional = bool(doc.get("due_provisional"))
    on_time = doc.get("on_time")
    if on_time is not None:
        if on_time:
            return DueStatus("on_time", doc.get("working_days_taken"), due_day, provisional)
        return DueStatus("late", doc.get("working_days_late"), due_day, provisional)
    if is_late(due_at, now):
        return DueStatus("overdue", working_days_overdue(due_at, now, calendar, tz), due_day, provisional)
    today = local_date(now, tz)
    if due_day == today:
        return DueStatus("today", 0, due_day, provisional)
    return DueStatus("open", working_days_between(today, due_day, calendar), due_day, provisional)
