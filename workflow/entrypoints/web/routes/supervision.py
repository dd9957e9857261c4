"""Supervisors' pages: the dashboard, the reports (as a table and as CSV), and timelines.

Reports and the dashboard are for supervisors, auditors, leaders and administrators
(``may_audit``, checked and audited by the report service); a document's timeline is for
whoever may read the document (checked and audited by the workflow service).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from workflow.entrypoints.web import views
from workflow.entrypoints.web.pages import PREFIX, Page, PageRoute, SignedIn, page_for, redirect, render
from workflow.kernel.export import Table, cell, summary_item, to_csv
from workflow.services.audit_queries import flat_rows
from workflow.services.reports import REPORTS, TRUST_SUMMARY

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

DocId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Period = Annotated[str | None, Query(max_length=40, pattern=r"^([0-9QqHh.\-]{4,40})?$")]
UnitCode = Annotated[str | None, Query(max_length=64, pattern=r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$")]
_NAME = re.compile(r"^[a-z-]{1,20}$")


@router.get("/dashboard", name="web_dashboard")
def dashboard(page: Page = SignedIn) -> Response:
    return render(
        page, "dashboard.html", **views.dashboard(page), reports=REPORTS, period=views.period_default(page)
    )


def _table(page: Page, name: str, period: str | None, unit: str | None) -> Table:
    reports = page.web.reports
    kwargs: dict[str, Any] = {"unit": unit or None}
    if name != "overdue":
        kwargs["period"] = period or views.period_default(page)
    elif period:
        kwargs["period"] = period
    methods: dict[str, Callable[..., Table]] = {
        "overdue": reports.overdue,
        "late": reports.late,
        "on-time": reports.on_time,
        "ledger": reports.ledger,
        "year-end": reports.year_end,
    }
    method = methods[name]
    return method(page.login, **kwargs)


@router.get("/reports", name="web_reports")
def reports_page(
    page: Page = SignedIn,
    report: Annotated[str, Query(max_length=20)] = "on-time",
    period: Period = None,
    unit: UnitCode = None,
) -> Response:
    """A report as a table on the page, with its CSV one click away; above it, how many of its
    documents rest on what the measured could bend (a clock override, a shared 文号)."""
    name = report if report in REPORTS else "on-time"
    table = _table(page, name, period, unit)
    columns = table.columns
    rows = [[cell(c, r.get(c.key), page.lang, table.tz) for c in columns] for r in table.rows]
    totals = (
        [cell(c, table.totals.get(c.key), page.lang, table.tz) for c in columns] if table.totals else None
    )
    return render(
        page,
        "reports.html",
        table=table,
        headers=[c.header(page.lang) for c in columns],
        rows=rows,
        totals=totals,
        summary=[(k, summary_item(table, k, page.lang)) for k in TRUST_SUMMARY if k in table.meta],
        report=name,
        reports=REPORTS,
        period=period or ("" if name == "overdue" else views.period_default(page)),
        unit=unit or "",
    )


def _csv(page: Page, table: Table, filename: str) -> Response:
    body = to_csv(table, page.lang).encode("utf-8")
    response = Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
    return response


@router.get("/reports/{name}.csv", name="web_report_csv")
def report_csv(
    name: Annotated[str, Path(max_length=20)],
    page: Page = SignedIn,
    period: Period = None,
    unit: UnitCode = None,
) -> Response:
    """Any report as CSV (UTF-8 with BOM, so Excel reads the Chinese headers)."""
    if name not in REPORTS or not _NAME.match(name):
        return redirect(page, f"{PREFIX}/reports")
    table = _table(page, name, period, unit)
    label = "-".join(
        x for x in (name, period or ("" if name == "overdue" else views.period_default(page)), unit) if x
    )
    return _csv(page, table, f"santongbu-{label}.csv")


@router.get("/reports/{name}.xlsx", name="web_report_xlsx")
def report_xlsx(
    name: Annotated[str, Path(max_length=20)],
    page: Page = SignedIn,
    period: Period = None,
    unit: UnitCode = None,
) -> Response:
    """Any report as an Excel workbook: the CSV's columns, typed cells, frozen header."""
    from workflow.kernel.export_xlsx import MEDIA_TYPE, to_xlsx

    if name not in REPORTS or not _NAME.match(name):
        return redirect(page, f"{PREFIX}/reports")
    table = _table(page, name, period, unit)
    label = "-".join(
        x for x in (name, period or ("" if name == "overdue" else views.period_default(page)), unit) if x
    )
    return Response(
        to_xlsx(table, page.lang),
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="santongbu-{label}.xlsx"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@router.get("/documents/{doc_id}/timeline", name="web_timeline")
def timeline(doc_id: DocId, page: Page = SignedIn) -> Response:
    """Every action on the document, allowed or refused, oldest first."""
    view = page.web.workflow.read_document(page.login, doc_id).as_dict()
    events = [e.as_dict() for e in page.web.workflow.timeline(page.login, doc_id)]
    return render(page, "timeline.html", doc=view, events=events)


@router.get("/documents/{doc_id}/timeline.csv", name="web_timeline_csv")
def timeline_csv(doc_id: DocId, page: Page = SignedIn) -> Response:
    table = page.web.services.audit.timeline(page.login, doc_id)
    return _csv(page, flat_rows(table), f"santongbu-timeline-{doc_id}.csv")


@router.get("/timeline", name="web_timeline_lookup")
def timeline_lookup(request: Request, doc: Annotated[str, Query(max_length=12)] = "") -> Response:
    """The dashboard's "any document's timeline" box."""
    page = page_for(request)
    number = doc.strip()
    if not number.isdigit() or not 1 <= int(number) < 2**31:
        return redirect(page, f"{PREFIX}/dashboard")
    return redirect(page, f"{PREFIX}/documents/{int(number)}/timeline")
