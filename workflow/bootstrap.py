"""The composition root: settings, database, clock, transports and every application service,
built once and handed to whichever interface runs (docs/design.md §8).

The CLI, the HTTP API with its web pages, the Celery workers and the demo each call
:func:`bootstrap` (or are handed what it built) and take the services they need from the
:class:`Services` it returns; none of them builds a service of its own. So there is one
:class:`~workflow.services.documents.Workflow` per process whichever interfaces it
serves, and a test or a drill that injects a database or a :class:`~workflow.kernel.clock.FixedClock`
here reaches every service at once.

It is also where a process takes up the audit keyring the settings name
(``SANTONGBU_AUDIT_KEY_FILE``, :func:`workflow.kernel.audit.configure`): every event and
checkpoint written from then on is keyed with it, whichever interface writes them.

This module sits above every layer and may import any of them; nothing below imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifications.transports import Transport, transport_for
from workflow.kernel import audit
from workflow.kernel.clock import Clock, SystemClock
from workflow.kernel.db import Database
from workflow.kernel.secretbox import secret_box
from workflow.kernel.settings import Settings, get_settings
from workflow.services.accounts import Accounts
from workflow.services.audit_admin import AuditAdmin
from workflow.services.calendar_admin import CalendarAdmin
from workflow.services.dashboard import Dashboard
from workflow.services.directory import Directory
from workflow.services.documents import Workflow
from workflow.services.evidence.fetcher import Fetcher
from workflow.services.evidence.service import Evidence
from workflow.services.evidence.store import EvidenceStore, evidence_folder
from workflow.services.outbox_admin import OutboxAdmin
from workflow.services.reports import Reports
from workflow.services.sweep import SweepReport, sweep
from workflow.services.tokens import Tokens


@dataclass(frozen=True)
class Services:
    """One of each service, sharing one database, one clock and one set of settings."""

    settings: Settings
    db: Database
    clock: Clock
    workflow: Workflow
    """Document commands and reads."""
    directory: Directory
    """Units and users."""
    tokens: Tokens
    """API tokens; authenticates the API's callers."""
    accounts: Accounts
    """People's passwords and sign-in to the pages."""
    reports: Reports
    audit: AuditAdmin
    """Verify, checkpoint (under its lock), timelines and event queries."""
    outbox: OutboxAdmin
    """Reading, retrying and delivering emails."""
    calendar: CalendarAdmin
    """The working-day calendar as it is now; loading a year; refreshing provisional deadlines."""
    dashboard: Dashboard
    evidence: Evidence
    """Fetching, checking and keeping the pages of publications and postings (docs/evidence.md)."""

    def transport(self) -> Transport:
        """A mail transport as the settings name it (one per delivery pass: it holds a connection)."""
        return transport_for(self.settings, self.clock)

    def sweep(self, *, batch_size: int | None = None) -> SweepReport:
        """Fire every due rung of the escalation ladder, as of the clock."""
        return sweep(self.db, self.clock, self.settings, batch_size=batch_size)


def bootstrap(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    announce: bool = False,
) -> Services:
    """Every service over ``db`` (default: the settings' database URL), telling time by
    ``clock`` (default: the system clock), configured by ``settings`` (default: the
    environment), with the audit keyring the settings name in use in this process.

    ``announce``: log whether the audit trail is keyed (a server process, at start-up; workers
    and beat log it as they start, see :mod:`workers.app`).
    Raises :class:`~workflow.kernel.auditkeys.KeyFileError` for a key file that is named but
    missing or unsafe: an installation meant to key its trail must not quietly run without."""
    settings = settings or get_settings()
    audit.configure(settings, announce=announce)
    db = db or Database(settings.database_url)
    clock = clock or SystemClock()

    def transport() -> Transport:
        return transport_for(settings, clock)

    workflow = Workflow(db, clock, settings)
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        workflow=workflow,
        directory=Directory(db, clock, secret_box(settings)),
        tokens=Tokens(db, clock, settings),
        accounts=Accounts(db, clock, settings),
        reports=Reports(db, clock, settings),
        audit=AuditAdmin(db, clock, settings),
        outbox=OutboxAdmin(db, clock, settings, transport),
        calendar=CalendarAdmin(db, clock, settings),
        dashboard=Dashboard(db, clock, settings),
        evidence=Evidence(
            db,
            clock,
            settings,
            Fetcher.from_settings(settings),
            EvidenceStore(evidence_folder(settings)),
            reader=workflow,
        ),
    )
