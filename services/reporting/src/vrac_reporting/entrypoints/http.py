"""HTTP routes: the pilot and consortium reports (JSON or CSV) and the rebuild command.

Thin: query -> handler -> response schema. Refusals are domain errors, which the runtime maps
to their status codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field
from vrac_runtime.auth import ALL_PILOTS, Principal, requires
from vrac_runtime.http import deps_of

from vrac_reporting import handlers
from vrac_reporting.adapters.csv_renderer import consortium_csv, pilot_csv
from vrac_reporting.domain.report import ConsortiumReport, MonthFigures, MonthRange, PilotReport

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
CSV = "text/csv"
Count = Annotated[int | str, Field(description="A count, or `<5` when below 5.")]
Share = Annotated[
    float | None, Field(description="Fraction of the month's assigned tasks; null below 5.")
]


class Figures(BaseModel):
    cases_opened: Count
    cases_closed: Count
    screenings_completed: Count
    diplomas_issued: Count
    questionnaires_submitted: Count
    tasks_assigned: Count
    tasks_accepted: Count
    tasks_declined: Count
    tasks_completed: Count
    tasks_overdue: Count
    tasks_informal_network: Count = Field(description="Assigned to family or informal members.")
    tasks_professional: Count = Field(description="Assigned to professionals or agencies.")
    informal_network_share: Share
    professional_share: Share
    consents_granted: Count
    consents_withdrawn: Count
    wellbeing_banded: Count = Field(description="Questionnaires answered item by item, banded.")
    wellbeing_low: Count
    wellbeing_moderate: Count
    wellbeing_high: Count
    wellbeing_change_assessed: Count = Field(
        description="Follow-ups and ends judged by their instrument's reliable-change rule."
    )
    wellbeing_improved: Count
    wellbeing_no_reliable_change: Count
    wellbeing_worsened: Count
    # the network figures (domain.network)
    network_cases_measured: Count = Field(description="Cases whose network was measured.")
    network_mean_size: float | None = Field(
        description="Mean number of members of those networks; null while a count is hidden."
    )
    network_informal_share: float | None = Field(
        description="Members from family, friends and neighbours over all members; null while "
        "a count is hidden."
    )
    network_cases_three_sectors_or_more: Count = Field(
        description="Cases whose network covers three sectors or all four."
    )


class MonthFiguresOut(Figures):
    month: str = Field(description="UTC month of the events, `YYYY-MM`.")


class PilotReportOut(BaseModel):
    pilot: str
    generation: str = Field(description="The read-model generation the figures come from.")
    suppression_threshold: int
    months: list[MonthFiguresOut]


class ConsortiumMonthOut(BaseModel):
    month: str
    pilots: dict[str, Figures] = Field(description="Every pilot's figures, side by side.")


class ConsortiumReportOut(BaseModel):
    generation: str
    suppression_threshold: int
    pilots: list[str]
    months: list[ConsortiumMonthOut]


class RebuildStarted(BaseModel):
    generation: str
    status: str
    status_url: str


class MissingRange(BaseModel):
    topic: str
    partition: int
    first_offset: int
    end_offset: int = Field(description="The first offset after the range.")
    records: int


class RebuildStatus(BaseModel):
    generation: str
    status: str = Field(
        description="building, active, retired, failed, superseded, or refused (records it "
        "needs are no longer on the topics; the read models were not replaced)."
    )
    started_at: datetime | None = None
    finished_at: datetime | None = None
    events_read: int | None = None
    events_counted: int | None = None
    duplicates: int | None = None
    undecodable: int | None = None
    seconds: float | None = None
    error: str | None = None
    missing_records: int | None = Field(
        None, description="Records of the history no longer on the topics (refused only)."
    )
    missing: list[MissingRange] | None = Field(
        None, description="Every partition and range of offsets no longer on the topics."
    )


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "JSON or CSV"}
}
Format = Literal["json", "csv"]
REPORT: dict[str, Any] = {"responses": CSV_RESPONSE, "tags": ["reports"]}

router = APIRouter()
deps = deps_of(handlers.Deps)

# what routes take: the handlers' Deps and the caller, checked for the route's roles
D = Annotated[handlers.Deps, Depends(deps)]
Reader = Annotated[Principal, Depends(requires("pilot-lead", "coach", "consortium"))]
Consortium = Annotated[Principal, Depends(requires("consortium"))]
Admin = Annotated[Principal, Depends(requires("admin"))]


def month_range(
    first: Annotated[
        str | None, Query(alias="from", pattern=MONTH_PATTERN, description="First month, YYYY-MM")
    ] = None,
    last: Annotated[
        str | None, Query(alias="to", pattern=MONTH_PATTERN, description="Last month, YYYY-MM")
    ] = None,
) -> MonthRange:
    return MonthRange(first, last)


def _wants_csv(fmt: Format | None, request: Request) -> bool:
    """CSV when ``?format=csv``, or with no format when the client accepts text/csv."""
    if fmt is not None:
        return fmt == "csv"
    return CSV in request.headers.get("accept", "")


Months = Annotated[MonthRange, Depends(month_range)]
FormatQuery = Annotated[Format | None, Query(alias="format")]


def _csv(body: str, name: str) -> Response:
    return Response(
        body,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _figures(figures: MonthFigures) -> dict[str, Any]:
    return dict(figures.values)


def _pilot_json(report: PilotReport) -> PilotReportOut:
    return PilotReportOut(
        pilot=report.pilot,
        generation=report.generation,
        suppression_threshold=report.suppression.threshold,
        months=[MonthFiguresOut(month=f.month, **_figures(f)) for f in report.months],
    )


def _consortium_json(report: ConsortiumReport) -> ConsortiumReportOut:
    return ConsortiumReportOut(
        generation=report.generation,
        suppression_threshold=report.suppression.threshold,
        pilots=list(report.pilots),
        months=[
            ConsortiumMonthOut(
                month=month, pilots={p: Figures(**_figures(f)) for p, f in by_pilot.items()}
            )
            for month, by_pilot in report.months
        ],
    )


@router.get(
    "/reports/pilots/{pilot}",
    response_model=PilotReportOut,
    summary="Monthly figures of one pilot (JSON, or CSV with ?format=csv)",
    **REPORT,
)
async def get_pilot_report(
    request: Request,
    pilot: Annotated[str, Path(description="Pilot id, e.g. `leiden`.")],
    principal: Reader,
    months: Months,
    d: D,
    fmt: FormatQuery = None,
) -> Any:
    report = await handlers.report_pilot(d, pilot, months, principal.ensure_pilot)
    if _wants_csv(fmt, request):
        return _csv(pilot_csv(report), f"vrac-report-{pilot}.csv")
    return _pilot_json(report)


@router.get(
    "/reports/consortium",
    response_model=ConsortiumReportOut,
    summary="Every pilot's monthly figures side by side (JSON, or CSV)",
    **REPORT,
)
async def get_consortium_report(
    request: Request, principal: Consortium, months: Months, d: D, fmt: FormatQuery = None
) -> Any:
    if principal.pilot != ALL_PILOTS:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the consortium report needs a token for all pilots"
        )
    report = await handlers.report_consortium(d, months)
    if _wants_csv(fmt, request):
        return _csv(consortium_csv(report), "vrac-report-consortium.csv")
    return _consortium_json(report)


@router.post(
    "/admin/rebuild",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RebuildStarted,
    tags=["admin"],
    summary="Rebuild the read models by replaying the public topics",
)
async def start_rebuild(
    _: Admin,
    d: D,
    force: Annotated[bool, Query(description="Replace a rebuild still registered")] = False,
) -> RebuildStarted:
    generation = await handlers.start_rebuild(d, force=force)
    return RebuildStarted(
        generation=generation, status="building", status_url=f"/admin/rebuild/{generation}"
    )


@router.get(
    "/admin/rebuild/{generation}",
    response_model=RebuildStatus,
    tags=["admin"],
    summary="Progress and statistics of a rebuild",
)
async def get_rebuild(
    generation: Annotated[str, Path(max_length=64)],
    _: Admin,
    d: D,
) -> RebuildStatus:
    return RebuildStatus.model_validate(await handlers.get_rebuild(d, generation))
