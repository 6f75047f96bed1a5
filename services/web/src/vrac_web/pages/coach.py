"""The coach's pages: the pilot's cases with search, registering a family, and the case page
with everything around the child (family, consents, screening, diploma, network, tasks,
wellbeing, messages). Forms that change a case live in ``coach_forms``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData
from vrac_contracts import values as vocab

from vrac_web.csrf import checked_form
from vrac_web.deps import render, see_other, services_of, staff_with
from vrac_web.forms import field_errors, number, text, without_empty
from vrac_web.pages import coach_forms, coach_network
from vrac_web.pages.coach_case import case_view
from vrac_web.services import Refused, Services
from vrac_web.session import Staff

router = APIRouter()
router.include_router(coach_forms.router)
router.include_router(coach_network.router)

Coach = Annotated[Staff, staff_with("coach")]
CheckedForm = Annotated[FormData, Depends(checked_form)]
PAGE = 100
MOST_LISTED = 2000  # a pilot's cases fit many times over; a bound keeps one page cheap
GUARDIAN_ROWS = 2


@router.get("/cases", include_in_schema=False)
async def cases(request: Request, staff: Coach, q: str = "", status: str = "") -> Response:
    listed = await _all_cases(services_of(request), staff.token, status)
    needle = q.strip().casefold()
    if needle:
        listed = [
            c
            for c in listed
            if needle in (c.get("child_first_name") or "").casefold() or needle in c["case_id"]
        ]
    return render(
        request,
        "coach/cases.html",
        {"cases": listed, "q": q, "status": status, "pilot": staff.pilot},
    )


async def _all_cases(services: Services, token: str, status: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": PAGE}
    if status in ("open", "closed"):
        params["status"] = status
    while len(found) < MOST_LISTED:
        page = await services.get(
            "intake", "/cases", token, params={**params, "offset": len(found)}
        )
        found.extend(page["cases"])
        if len(page["cases"]) < PAGE:
            break
    return found


@router.get("/cases/new", include_in_schema=False)
async def new_case(request: Request, staff: Coach) -> Response:
    return _new_case_page(request, staff, {}, {})


def _new_case_page(
    request: Request,
    staff: Coach,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "pilot": staff.pilot,
        "guardian_rows": range(GUARDIAN_ROWS),
        "idempotency_key": values.get("idempotency_key") or uuid.uuid4().hex,
        "languages_codes": [lang.value for lang in vocab.Language],
        "channels": ["email", "sms"],
    }
    return render(request, "coach/new_case.html", context, status)


@router.post("/cases/new", include_in_schema=False)
async def register_family(request: Request, staff: Coach, form: CheckedForm) -> Response:
    body = _registration(form, staff.pilot)
    key = text(form, "idempotency_key") or uuid.uuid4().hex
    try:
        case = await services_of(request).send(
            "intake", "POST", "/cases", staff.token, json=body, headers={"Idempotency-Key": key}
        )
    except Refused as refused:
        values = {k: form.get(k) for k in form}
        errors = field_errors(refused) or {"": refused.detail}
        return _new_case_page(request, staff, values, errors, 422)
    return see_other(f"/cases/{case['case_id']}?registered=1")


def _registration(form: FormData, pilot: str) -> dict[str, Any]:
    guardians = []
    for n in range(GUARDIAN_ROWS):
        guardian = without_empty(
            {
                "name": text(form, f"guardians.{n}.name"),
                "email": text(form, f"guardians.{n}.email"),
                "phone": text(form, f"guardians.{n}.phone"),
                "preferred_channel": text(form, f"guardians.{n}.preferred_channel"),
                "language": text(form, f"guardians.{n}.language"),
            }
        )
        if n == 0 or guardian.get("name") or guardian.get("email") or guardian.get("phone"):
            guardians.append(guardian)
    return without_empty(
        {
            "pilot": pilot,
            "programme": "pit",
            "child_first_name": text(form, "child_first_name"),
            "birth_year": number(form, "birth_year"),
            "school_name": text(form, "school_name"),
            "language": text(form, "language"),
            "guardians": guardians,
        }
    )


@router.get("/cases/{case_id}", include_in_schema=False)
async def case_page(request: Request, case_id: str, staff: Coach) -> Response:
    return render(request, "coach/case.html", await case_view(request, case_id, staff))
