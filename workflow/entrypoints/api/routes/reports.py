"""Reports and trail-wide audit queries, for supervisors, auditors, leaders and administrators.

:class:`workflow.services.reports.Reports` and :class:`workflow.services.audit_admin.AuditAdmin` authorise
(``may_audit``) and audit refusals themselves; these routes only translate HTTP. A report is
JSON by default (machine values: codes, ISO instants, rates as fractions), CSV with
``?format=csv`` (UTF-8 with BOM, headers in the request's language), or an Excel workbook with
``?format=xlsx`` (the CSV's columns, typed cells).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from workflow.entrypoints.api.deps import CallerDep, ServicesDep
from workflow.entrypoints.api.problems import request_language, responses
from workflow.entrypoints.api.schemas import MAX_ID, Code, Instant
from workflow.kernel import export
from workflow.kernel.attribution import CHANNELS
from workflow.kernel.export_xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE
from workflow.kernel.export_xlsx import to_xlsx
from workflow.services.audit_queries import OUTCOMES, EventFilter

router = APIRouter(tags=["reports"])

PERIOD = r"^[0-9]{4}(-[QqHh][1-4]|-[0-9]{2}(-[0-9]{2}(\.\.[0-9]{4}-[0-9]{2}-[0-9]{2})?)?)?$"
Period = Annotated[
    str | None,
    Query(
        pattern=PERIOD,
        max_length=22,
        description=(
            "2024, 2024-Q1, 2024-H1, 2024-03, 2024-03-08 or 2024-02-01..2024-03-15 (local dates); default the current year."
        ),
    ),
]
Unit = Annotated[Code | None, Query(description="Only this unit (its code).")]
AsOf = Annotated[Instant | None, Query(description="Compute as of this instant (ISO 8601 with offset).")]
Format = Annotated[
    Literal["json", "csv", "xlsx"],
    Query(
        description="json (default), csv (UTF-8 with BOM) or xlsx (an Excel workbook: the CSV's columns, typed cells)."
    ),
]


class ReportName(StrEnum):
    OVERDUE = "overdue"
    LATE = "late"
    ON_TIME = "on-time"
    LEDGER = "ledger"
    YEAR_END = "year-end"


class ReportOut(BaseModel):
    """A report as JSON: what was asked (period, unit, as_of, asked_by, …), columns, rows."""

    model_config = ConfigDict(extra="allow")
    report: str
    columns: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None


def _render(request: Request, table: export.Table, fmt: str) -> Any:
    if fmt == "xlsx":
        lang = request_language(request)
        return Response(
            to_xlsx(table, lang),
            media_type=XLSX_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{table.name}.xlsx"',
                "Content-Language": lang,
            },
        )
    if fmt == "csv":
        lang = request_language(request)
        return Response(
            export.to_csv(table, lang),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{table.name}.csv"',
                "Content-Language": lang,
            },
        )
    return table.as_dict()


CSV = {
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
    },
    "description": "The report as JSON, CSV with ?format=csv, or an Excel workbook with ?format=xlsx.",
}


@router.get(
    "/reports/{name}", response_model=ReportOut, responses={200: CSV, **responses(401, 403, 404, 422, 503)}
)
def report(
    request: Request,
    name: ReportName,
    who: CallerDep,
    svc: ServicesDep,
    period: Period = None,
    unit: Unit = None,
    now: AsOf = None,
    format: Format = "json",
    by: Annotated[
        Literal["month", "quarter"] | None, Query(description="on-time only: split by month or quarter.")
    ] = None,
) -> Any:
    """overdue (past the deadline, not posted), late (posted late), on-time (rates per unit),
    ledger (台账) and year-end (how each unit carried out the three synchronisations)."""
    reports = svc.reports
    if name is ReportName.ON_TIME:
        table = reports.on_time(who.login, period=period, unit=unit, by=by, now=now)
    else:
        method = {
            ReportName.OVERDUE: reports.overdue,
            ReportName.LATE: reports.late,
            ReportName.LEDGER: reports.ledger,
            ReportName.YEAR_END: reports.year_end,
        }[name]
        table = method(who.login, period=period, unit=unit, now=now)
    return _render(request, table, format)


class EventsOut(ReportOut):
    next_after_id: int | None = None


@router.get("/audit/events", response_model=EventsOut, responses={200: CSV, **responses(401, 403, 422, 503)})
def audit_events(
    request: Request,
    who: CallerDep,
    svc: ServicesDep,
    document_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    unit: Annotated[Code | None, Query(description="Unit of the actor.")] = None,
    document_unit: Annotated[Code | None, Query(description="Unit that drafts the document.")] = None,
    actor: Annotated[Code | None, Query(description="Login of the actor.")] = None,
    action: Annotated[str | None, Query(pattern=r"^[a-z_:]{1,64}$")] = None,
    outcome: Annotated[Literal[OUTCOMES] | None, Query()] = None,  # type: ignore[valid-type]
    channel: Annotated[Literal[CHANNELS] | None, Query(description="How the action came in.")] = None,  # type: ignore[valid-type]
    since: Annotated[Instant | None, Query(description="Inclusive.")] = None,
    until: Annotated[Instant | None, Query(description="Exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    after_id: Annotated[
        int | None, Query(ge=1, le=2**62, description="Start after this event id (next_after_id).")
    ] = None,
    format: Format = "json",
) -> Any:
    """The audit trail filtered, in time order, a keyset page at a time (supervisors, auditors,
    leaders, administrators)."""
    page = svc.audit.events(
        who.login,
        EventFilter(
            document_id=document_id,
            unit=unit,
            document_unit=document_unit,
            actor=actor,
            action=action,
            outcome=outcome,
            since=since,
            until=until,
            channel=channel,
        ),
        limit=limit,
        after_id=after_id,
    )
    if format != "json":
        return _render(request, page.table, format)
    return {**page.table.as_dict(), "next_after_id": page.next_after_id}


class VerifyBreak(BaseModel):
    chain: str
    seq: int | None
    event_id: int | None
    kind: str
    problem: str
    events_after: list[int]


class VerifyOut(BaseModel):
    """What ``santongbu audit verify`` says; ``ok`` false on any finding."""

    ok: bool
    keyed: bool
    chains: int
    events: int
    checkpoints: int
    anchors: int
    documents: int
    since_anchor: int | None
    unchecked_keyed_events: int
    notes: list[str]
    breaks: list[VerifyBreak]


@router.get("/audit/verify", response_model=VerifyOut, responses=responses(401, 403, 422, 503))
def audit_verify(
    who: CallerDep,
    svc: ServicesDep,
    document_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="One document's chain only.")
    ] = None,
    since_anchor: Annotated[
        bool, Query(description="Incremental: only what the newest exported anchor does not vouch for.")
    ] = False,
) -> Any:
    """Check the audit trail (auditors, supervisors, leaders, administrators): every chain's
    links and keyed hashes, heads, checkpoints, the exported anchors, and every document
    against its chain. 200 whether or not something was found: read ``ok`` and ``breaks``."""
    report = svc.audit.verify_for(who.login, document_id=document_id, since_anchor=since_anchor)
    return report.as_dict()
