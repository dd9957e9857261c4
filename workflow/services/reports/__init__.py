"""The reports supervisors need (docs/design.md §1, §6): overdue now, late postings, on-time rates,
the ledger (台账) and the year-end report, per unit and period.

Every figure is derived at query time from stored facts (publication, deadline, postings,
materials, signatures, escalations) and the audit trail; nothing is pre-aggregated, so a
corrected calendar or a late-recorded posting shows up in the next report. Working days are
counted on the calendar as the database holds it *now* (:func:`workflow.kernel.calendar.calendar_for`):
after an administrator corrects a year, days overdue, days late and days taken are recounted.
Whether a posting was on time is the verdict recorded when it was posted (``documents.on_time``,
judged against the deadline the unit was told), never re-judged.

**As of.** Each report is computed as of an instant ``now`` (the injected clock, or ``--now``):
a document published after it is not counted yet, a posting dated after it does not count
yet (so the document is still open, or overdue, as of ``now``), and escalations fired after it
are not shown. That lets a supervisor reproduce what a report said on a given day.

**Definitions** (the same in every report):

* *published in a period*: ``published_at`` falls in the period, counted in the working zone
  (Asia/Shanghai): a document published 2024-01-01 00:30 +08:00 belongs to 2024;
* *on time* / *late*: the interpretation is posted (portal and news media) by ``now``, and the
  recorded verdict says on time / late;
* *overdue*: published, not posted by ``now``, and ``now`` lies after the deadline second
  (``due_at``, 23:59:59 local of the due day);
* *open*: published, not posted, not yet due;
* *on-time rate* = on time / (on time + late + overdue): documents still within their deadline
  are not decided yet and do not count either way. ``None`` when nothing is decided.

**Layout.** :mod:`.periods` parses periods; :mod:`.common` holds what every report shares
(scope, working-day counter, label tables from :mod:`states.catalogue`); each report is one
module (:mod:`.overdue`, :mod:`.late`, :mod:`.on_time`, :mod:`.ledger`, :mod:`.year_end`) and
:class:`Reports` is all of them.

**What a supervisor should look at.** Every report's summary counts the documents whose record
was made under a clock override (:mod:`.overrides`) and those that share their 文号 with another
document (:mod:`.numbers`): :data:`TRUST_SUMMARY`, the keys the pages show above the table.
"""

from __future__ import annotations

from workflow.services.reports.common import (
    CHANNEL_LABELS,
    FORM_LABELS,
    LEVEL_LABELS,
    STATUS_LABELS,
    TOTAL_NAME,
    TOTAL_UNIT,
    Days,
    ReportBase,
)
from workflow.services.reports.late import LateReport
from workflow.services.reports.ledger import LedgerReport
from workflow.services.reports.numbers import SHARED_COUNT
from workflow.services.reports.on_time import OnTimeReport
from workflow.services.reports.overdue import OverdueReport
from workflow.services.reports.overrides import OVERRIDE_COUNT
from workflow.services.reports.periods import Grain, Period, parse_period
from workflow.services.reports.year_end import YearEndReport


class Reports(OverdueReport, LateReport, OnTimeReport, LedgerReport, YearEndReport):
    """The reports, authorised by :func:`states.permissions.may_audit`; refusals are audited.
    Interfaces (CLI, HTTP, web) hold one of these."""


REPORTS = ("overdue", "late", "on-time", "ledger", "year-end")
TRUST_SUMMARY = (OVERRIDE_COUNT, SHARED_COUNT)
"""The counts in every report's summary (``meta``) that rest on what the measured could bend."""

__all__ = [
    "CHANNEL_LABELS",
    "FORM_LABELS",
    "LEVEL_LABELS",
    "REPORTS",
    "STATUS_LABELS",
    "TOTAL_NAME",
    "TOTAL_UNIT",
    "TRUST_SUMMARY",
    "Days",
    "Grain",
    "Period",
    "ReportBase",
    "Reports",
    "parse_period",
]
