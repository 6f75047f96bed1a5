"""The coach's forms about the family's decisions and the child's screening: recording a
consent decision, entering a screening, and the diploma's PDF and credential."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData
from vrac_contracts import values as vocab

from vrac_web.csrf import checked_form
from vrac_web.deps import render, see_other, services_of, staff_with
from vrac_web.forms import date, field_errors, number, text, without_empty
from vrac_web.pages.coach_case import case_again
from vrac_web.services import Refused
from vrac_web.session import Staff

router = APIRouter()
Coach = Annotated[Staff, staff_with("coach")]
CheckedForm = Annotated[FormData, Depends(checked_form)]
RATINGS = ("well-below", "below", "average", "above", "well-above")


@router.post("/cases/{case_id}/consents", include_in_schema=False)
async def record_consent(
    request: Request, case_id: str, staff: Coach, form: CheckedForm
) -> Response:
    decided_by = text(form, "recorded_by") or ""
    recorded_by = (
        {"role": "coach"} if decided_by == "coach" else {"guardian_id": decided_by or None}
    )
    body = without_empty(
        {
            "purpose": text(form, "purpose"),
            "granted": {"grant": True, "withdraw": False}.get(text(form, "decision") or ""),
            "agency_id": text(form, "agency_id"),
            "recorded_by": recorded_by,
        }
    )
    path = f"/cases/{case_id}/consents"
    try:
        await services_of(request).send("intake", "POST", path, staff.token, json=body)
    except Refused as refused:
        return await case_again(request, case_id, staff, refused, "consent", form)
    return see_other(f"/cases/{case_id}?done=consent#consents")


@router.get("/cases/{case_id}/screening/new", include_in_schema=False)
async def new_screening(request: Request, case_id: str, staff: Coach) -> Response:
    case = await services_of(request).get("intake", f"/cases/{case_id}", staff.token)
    return _screening_page(request, case, {}, {})


def _screening_page(
    request: Request,
    case: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context = {
        "case": case,
        "domains": [d.value for d in vocab.Domain],
        "kinds": [k.value for k in vocab.ScoreKind],
        "ratings": RATINGS,
        "values": values,
        "errors": errors,
    }
    return render(request, "coach/screening_new.html", context, status)


@router.post("/cases/{case_id}/screening/new", include_in_schema=False)
async def enter_screening(
    request: Request, case_id: str, staff: Coach, form: CheckedForm
) -> Response:
    services = services_of(request)
    scores, rows = _scores(form)
    body = without_empty({"scores": scores, "screened_on": date(form, "screened_on")})
    try:
        await services.send(
            "screening", "POST", f"/cases/{case_id}/screenings", staff.token, json=body
        )
    except Refused as refused:
        case = await services.get("intake", f"/cases/{case_id}", staff.token)
        renames = [(f"scores.{n}.", f"{domain}.") for n, domain in enumerate(rows)]
        errors = field_errors(refused, renames)
        errors[""] = refused.detail or "The screening was not recorded."
        return _screening_page(request, case, {k: form.get(k) for k in form}, errors, 422)
    return see_other(f"/cases/{case_id}?done=screening#screening")


def _scores(form: FormData) -> tuple[list[dict[str, Any]], list[str]]:
    """One score per domain whose kind was chosen, and the domains in that order."""
    scores, rows = [], []
    for domain in vocab.Domain:
        kind = text(form, f"{domain.value}.kind")
        if not kind:
            continue
        score: dict[str, Any] = {"domain": domain.value, "kind": kind}
        if kind == "qualitative":
            score["rating"] = text(form, f"{domain.value}.rating")
        else:
            score["score"] = number(form, f"{domain.value}.score")
        scores.append(without_empty(score))
        rows.append(domain.value)
    return scores, rows


@router.get("/cases/{case_id}/diplomas/{diploma_id}.pdf", include_in_schema=False)
async def diploma_pdf(request: Request, case_id: str, diploma_id: str, staff: Coach) -> Response:
    path = f"/diplomas/{diploma_id}.pdf"
    answer = await services_of(request).call("screening", "GET", path, staff.token)
    return Response(
        answer.content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="diploma-{diploma_id}.pdf"'},
    )


@router.get("/cases/{case_id}/diplomas/{diploma_id}/credential", include_in_schema=False)
async def diploma_credential(
    request: Request, case_id: str, diploma_id: str, staff: Coach
) -> Response:
    path = f"/diplomas/{diploma_id}/credential"
    answer = await services_of(request).call("screening", "GET", path, staff.token)
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", "application/json"),
        headers={"Content-Disposition": f'attachment; filename="credential-{diploma_id}.jwt"'},
    )
