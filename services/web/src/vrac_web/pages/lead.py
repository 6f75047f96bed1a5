"""The pilot lead's pages: the pilot's report from reporting, as charts and a table, and its
CSV. A token for every pilot (consortium, or an administrator) chooses the pilot; everyone
else sees their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from vrac_contracts.values import Pilot
from vrac_runtime.auth import ALL_PILOTS

from vrac_web.deps import render, services_of, staff_with
from vrac_web.errors import PageError
from vrac_web.pilot_report import charts_of, report_of
from vrac_web.session import Staff

router = APIRouter(include_in_schema=False)
Reader = Annotated[Staff, staff_with("pilot-lead", "consortium")]
PILOTS = tuple(p.value for p in Pilot)


def pilot_for(staff: Staff, chosen: str | None) -> str:
    """The pilot whose report to show: one's own, or the chosen one with a token for all."""
    if staff.pilot != ALL_PILOTS:
        return staff.pilot
    if chosen is None or chosen == "":
        return PILOTS[0]
    if chosen not in PILOTS:
        raise PageError(422, "Unknown pilot", "Choose a pilot from the list.")
    return chosen


@router.get("/report")
async def report_page(request: Request, staff: Reader, pilot: str | None = None) -> Response:
    shown = pilot_for(staff, pilot)
    body = await services_of(request).get("reporting", f"/reports/pilots/{shown}", staff.token)
    report = report_of(body)
    return render(
        request,
        "lead/report.html",
        {
            "pilot": shown,
            "report": report,
            "charts": charts_of(report),
            "pilots": PILOTS if staff.pilot == ALL_PILOTS else (),
        },
    )


@router.get("/report.csv")
async def report_csv(request: Request, staff: Reader, pilot: str | None = None) -> Response:
    """Reporting's own CSV, as it writes it (a hidden cell keeps reporting's marker)."""
    shown = pilot_for(staff, pilot)
    answer = await services_of(request).call(
        "reporting",
        "GET",
        f"/reports/pilots/{shown}",
        staff.token,
        params={"format": "csv"},
    )
    return Response(
        answer.content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="vrac-report-{shown}.csv"'},
    )
