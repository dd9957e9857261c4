"""Evidence of postings (docs/evidence.md): the statuses a checked page can have, the reasons a
page is a mismatch or unreachable, and when a page is looked at next. Pure: no I/O, no clock.

The checker (``workflow/services/evidence``) fetches the publication page and each posting's
page, analyses it and records one of:

* ``verified`` — the page answered, names the document, shows no later date than the claim and,
  on the portal, links to the policy page (which links back);
* ``mismatch`` — the page answered but fails a check; the reasons say which;
* ``unreachable`` — no usable answer (refused by the allow-list, DNS, connection, timeout,
  HTTP error, too large); retried with backoff for ``retry_for``, then reported and looked at
  again only every ``recheck_after``;
* ``unchecked`` — nothing to fetch: a posting without a URL (a newspaper page). Its evidence is
  the clerk's note until a supervisor confirms it or a scan is attached;
* ``pending`` — a posting with a URL that has not been checked yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from states.i18n import _

VERIFIED, MISMATCH, UNREACHABLE, UNCHECKED, PENDING = (
    "verified",
    "mismatch",
    "unreachable",
    "unchecked",
    "pending",
)
STATUSES = (VERIFIED, MISMATCH, UNREACHABLE, UNCHECKED, PENDING)
RECORDED = (VERIFIED, MISMATCH, UNREACHABLE)
"""The statuses a check writes; ``unchecked`` and ``pending`` are read, never stored."""
BAD = (MISMATCH, UNREACHABLE)

PUBLICATION = "publication"
"""The channel name of the policy page itself (``documents.publication_url``)."""

# How a re-check compares with the check before it.
FIRST, SAME, CHANGED, DISAPPEARED = "first", "same", "changed", "disappeared"

# Reason codes and their messages (English; Chinese in the catalogue, states/i18n.py);
# states/reasons.py merges them into its MESSAGES.
MESSAGES: dict[str, str] = {
    # mismatch: the page answered but does not bear the claim out
    "title_not_found": _("the page names neither the document's title nor its number"),
    "no_policy_link": _("the interpretation page does not link to the policy document {url}"),
    "no_back_link": _("the policy page does not link back to this interpretation"),
    "date_later": _("the page's date {page_date} is later than the claimed {claimed}"),
    "not_html": _("the page is {content_type}, whose content cannot be checked"),
    # unreachable: no usable answer
    "http_status": _("the page answered HTTP {status}"),
    "timeout": _("timed out ({phase})"),
    "dns_failed": _("the name {host} does not resolve"),
    "connect_failed": _("could not connect to {host}: {problem}"),
    "too_large": _("the page is larger than the limit of {limit} bytes"),
    "redirect_loop": _("a redirect loop at {url}"),
    "too_many_redirects": _("more than {limit} redirects"),
    "bad_url": _("not a usable http(s) URL: {url}"),
    "host_not_allowed": _("{host} is not in the allow-list (SANTONGBU_EVIDENCE_ALLOWED_HOSTS)"),
    "address_not_allowed": _("{host} resolves to the private or reserved address {address}; not fetched"),
    "content_encoding": _("unsupported content encoding {encoding}"),
    "no_such_check": _("no evidence check {id}"),
    "disappeared": _("the page, verified before, can no longer be reached"),
}


@dataclass(frozen=True)
class Schedule:
    """When pages are looked at again (settings ``SANTONGBU_EVIDENCE_*``)."""

    recheck_after: timedelta
    """A verified page, a reported mismatch or an unreachable page past its retries."""
    retry_for: timedelta
    """How long an unreachable page is retried with backoff before it is reported."""
    retry_base: timedelta
    retry_max: timedelta
    alert_after: timedelta
    """How long a page stays mismatched or unreachable before its unit is emailed."""


def alert_due(
    status: str, bad_since: datetime | None, alerted: bool, now: datetime, schedule: Schedule
) -> bool:
    """Email the unit now: bad for ``alert_after`` already and not emailed in this episode."""
    return status in BAD and bad_since is not None and not alerted and now - bad_since >= schedule.alert_after


def given_up(status: str, bad_since: datetime | None, now: datetime, schedule: Schedule) -> bool:
    """An unreachable page past its retry window: reported, and only re-checked as usual."""
    return status == UNREACHABLE and bad_since is not None and now - bad_since >= schedule.retry_for


def next_check(
    status: str,
    *,
    now: datetime,
    bad_since: datetime | None,
    attempts: int,
    alerted: bool,
    schedule: Schedule,
) -> datetime:
    """When to look at a page again, given what this check found.

    * verified: after ``recheck_after``;
    * unreachable within ``retry_for``: backoff from ``retry_base``, doubling per consecutive
      failure, capped at ``retry_max``;
    * a bad page not yet emailed about: no later than the moment the alert falls due, so the
      email goes out after a day even if nothing else would look again by then;
    * anything else: after ``recheck_after``.
    """
    later = now + schedule.recheck_after
    if status not in BAD or bad_since is None:
        return later
    if status == UNREACHABLE and not given_up(status, bad_since, now, schedule):
        backoff = schedule.retry_base * (2 ** max(0, attempts - 1))
        later = now + min(backoff, schedule.retry_max)
    if not alerted:
        alert_at = bad_since + schedule.alert_after
        if alert_at > now:
            later = min(later, alert_at)
    return later
