"""The coach's network forms: members (add, edit, remove), the eco-map, and the
who-does-what board's tasks (assign, edit the due date, reassign, cancel)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData
from vrac_contracts import values as vocab

from vrac_web.csrf import checked_form
from vrac_web.deps import render, see_other, services_of, staff_with
from vrac_web.errors import PageError
from vrac_web.forms import date, field_errors, text, without_empty
from vrac_web.pages.coach_case import case_again
from vrac_web.services import Refused
from vrac_web.session import Staff

router = APIRouter()
Coach = Annotated[Staff, staff_with("coach")]
CheckedForm = Annotated[FormData, Depends(checked_form)]
SECTORS = ("family", "friends-and-neighbours", "school", "professionals")
MEMBER_FIELDS = ("display_name", "relationship", "email", "phone", "channel", "language")


@router.get("/cases/{case_id}/map.svg", include_in_schema=False)
async def eco_map(request: Request, case_id: str, staff: Coach) -> Response:
    path = f"/cases/{case_id}/map.svg"
    answer = await services_of(request).call("network", "GET", path, staff.token)
    return Response(answer.content, media_type="image/svg+xml")


def _member_page(
    request: Request,
    case_id: str,
    member: dict[str, Any] | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context = {
        "case_id": case_id,
        "member": member,
        "values": values,
        "errors": errors,
        "kinds": [k.value for k in vocab.MemberKind],
        "roles": [r.value for r in vocab.NetworkRole],
        "sectors": SECTORS,
        "channels": ["email", "sms", "webhook"],
        "languages_codes": [lang.value for lang in vocab.Language],
    }
    return render(request, "coach/member_form.html", context, status)


@router.get("/cases/{case_id}/members/new", include_in_schema=False)
async def new_member(request: Request, case_id: str, staff: Coach) -> Response:
    return _member_page(request, case_id, None, {}, {})


@router.post("/cases/{case_id}/members/new", include_in_schema=False)
async def add_member(request: Request, case_id: str, staff: Coach, form: CheckedForm) -> Response:
    body = without_empty(
        {
            "kind": text(form, "kind"),
            "role": text(form, "role"),
            "sector": text(form, "sector"),
            "agency_id": text(form, "agency_id"),
            "webhook_url": text(form, "webhook_url"),
            **{name: text(form, name) for name in MEMBER_FIELDS},
        }
    )
    path = f"/cases/{case_id}/members"
    try:
        await services_of(request).send("network", "POST", path, staff.token, json=body)
    except Refused as refused:
        errors = field_errors(refused) | {"": refused.detail}
        return _member_page(request, case_id, None, {k: form.get(k) for k in form}, errors, 422)
    return see_other(f"/cases/{case_id}?done=member#network")


async def _member(request: Request, case_id: str, member_id: str, token: str) -> dict[str, Any]:
    members = await services_of(request).get("network", f"/cases/{case_id}/members", token)
    found = next((m for m in members if m["member_id"] == member_id), None)
    if found is None or found.get("removed_at"):
        raise PageError.not_found()
    return dict(found)


@router.get("/cases/{case_id}/members/{member_id}/edit", include_in_schema=False)
async def edit_member(request: Request, case_id: str, member_id: str, staff: Coach) -> Response:
    member = await _member(request, case_id, member_id, staff.token)
    return _member_page(request, case_id, member, member, {})


@router.post("/cases/{case_id}/members/{member_id}/edit", include_in_schema=False)
async def change_member(
    request: Request, case_id: str, member_id: str, staff: Coach, form: CheckedForm
) -> Response:
    member = await _member(request, case_id, member_id, staff.token)
    changes: dict[str, Any] = {}
    for name in ("role", "sector", *MEMBER_FIELDS):
        sent = text(form, name)
        if sent != member.get(name):
            changes[name] = sent  # an emptied optional detail is cleared (null)
    path = f"/cases/{case_id}/members/{member_id}"
    try:
        if changes:
            await services_of(request).send("network", "PATCH", path, staff.token, json=changes)
    except Refused as refused:
        errors = field_errors(refused) | {"": refused.detail}
        values = {k: form.get(k) for k in form}
        return _member_page(request, case_id, member, values, errors, 422)
    return see_other(f"/cases/{case_id}?done=member#network")


@router.post("/cases/{case_id}/members/{member_id}/remove", include_in_schema=False)
async def remove_member(
    request: Request, case_id: str, member_id: str, staff: Coach, form: CheckedForm
) -> Response:
    path = f"/cases/{case_id}/members/{member_id}"
    try:
        await services_of(request).call("network", "DELETE", path, staff.token)
    except Refused as refused:
        return await case_again(request, case_id, staff, refused, "member", form)
    return see_other(f"/cases/{case_id}?done=member-removed#network")


@router.post("/cases/{case_id}/tasks", include_in_schema=False)
async def assign_task(request: Request, case_id: str, staff: Coach, form: CheckedForm) -> Response:
    body = without_empty(
        {
            "category": text(form, "category"),
            "assignee_id": text(form, "assignee_id"),
            "due_date": date(form, "due_date"),
            "description": text(form, "description"),
        }
    )
    path = f"/cases/{case_id}/tasks"
    try:
        await services_of(request).send("network", "POST", path, staff.token, json=body)
    except Refused as refused:
        return await case_again(request, case_id, staff, refused, "task", form)
    return see_other(f"/cases/{case_id}?done=task#tasks")


@router.post("/cases/{case_id}/tasks/{task_id}/reassign", include_in_schema=False)
async def reassign_task(
    request: Request, case_id: str, task_id: str, staff: Coach, form: CheckedForm
) -> Response:
    body = {"assignee_id": text(form, "assignee_id")}
    return await _task_change(request, case_id, staff, form, f"/tasks/{task_id}/reassign", body)


@router.post("/cases/{case_id}/tasks/{task_id}/due", include_in_schema=False)
async def change_due_date(
    request: Request, case_id: str, task_id: str, staff: Coach, form: CheckedForm
) -> Response:
    body = {"due_date": date(form, "due_date")}  # empty: no due date any more
    return await _task_change(request, case_id, staff, form, f"/tasks/{task_id}", body, "PATCH")


@router.post("/cases/{case_id}/tasks/{task_id}/cancel", include_in_schema=False)
async def cancel_task(
    request: Request, case_id: str, task_id: str, staff: Coach, form: CheckedForm
) -> Response:
    return await _task_change(request, case_id, staff, form, f"/tasks/{task_id}/cancel", None)


async def _task_change(
    request: Request,
    case_id: str,
    staff: Staff,
    form: FormData,
    path: str,
    body: dict[str, Any] | None,
    method: str = "POST",
) -> Response:
    try:
        await services_of(request).send("network", method, path, staff.token, json=body)
    except Refused as refused:
        return await case_again(request, case_id, staff, refused, "board", form)
    return see_other(f"/cases/{case_id}?done=task-changed#tasks")
