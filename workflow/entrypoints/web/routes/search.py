"""The pages' search: title, 文号, body and plan text, with state, unit and period filters,
over what the user may read (one call of the workflow service's search)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from states.lifecycle import State
from workflow.entrypoints.web.pages import PREFIX, Page, PageRoute, SignedIn, render
from workflow.kernel.errors import SantongbuError

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

Text = Annotated[str, Query(max_length=200)]
Short = Annotated[str, Query(max_length=64)]


@router.get("/search", name="web_search")
def search_page(
    page: Page = SignedIn,
    q: Text = "",
    state: Short = "",
    unit: Short = "",
    period: Short = "",
    before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    found, error = None, None
    if q.strip():
        try:
            found = page.web.workflow.search_documents(
                page.login,
                q,
                state=state or None,
                unit_code=unit or None,
                period=period or None,
                limit=50,
                before_id=before_id,
            )
        except SantongbuError as exc:
            error = exc.message(page.lang)
    return render(
        page,
        "search.html",
        422 if error else 200,
        q=q,
        state=state,
        unit=unit,
        period=period,
        found=found,
        error=error,
        states=[s.value for s in State],
    )
