"""The case page's content: everything around the child, fetched from the five services at
once; a part a service cannot give now says why, and never hides the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData
from vrac_contracts import values as vocab

from vrac_web.deps import render, services_of
from vrac_web.errors import PageError
from vrac_web.forms import field_errors
from vrac_web.i18n import language_of
from vrac_web.services import Refused
from vrac_web.session import Staff
from vrac_web.wellbeing_chart import chart, wellbeing_series


@dataclass(frozen=True)
class Unavailable:
    """A part of the case page its service could not give now, and why, in words."""

    reason: str


async def section(call: Awaitable[Any]) -> Any:
    """What a service gave for one part of the page, or why it is not there: one part
    missing never hides the rest of the child's file."""
    try:
        return await call
    except Refused as refused:
        return Unavailable(refused.detail or "Not available now.")
    except PageError as error:
        if error.status == 404:
            return Unavailable("Not known there yet: it follows in a moment.")
        if error.status == 503:
            return Unavailable("That part of the platform does not answer right now.")
        if error.status == 403:
            return Unavailable("Not shared: the family has not consented, or it was withdrawn.")
        raise


async def case_view(request: Request, case_id: str, staff: Staff, **extra: Any) -> dict[str, Any]:
    """Everything the case page shows, fetched from the five services at once."""
    services, token = services_of(request), staff.token
    case = await services.get("intake", f"/cases/{case_id}", token)
    shown = {"language": language_of(request)}
    consents, screenings, diplomas, plan, wellbeing, deliveries = await asyncio.gather(
        section(services.get("intake", f"/cases/{case_id}/consents", token)),
        # the advice in the coach's language; the diploma stays in the family's
        section(services.get("screening", f"/cases/{case_id}/screenings", token, params=shown)),
        section(services.get("screening", f"/cases/{case_id}/diplomas", token)),
        section(services.get("network", f"/cases/{case_id}/plan", token)),
        section(services.get("screening", f"/cases/{case_id}/wellbeing", token)),
        section(services.get("notifications", f"/cases/{case_id}/deliveries", token)),
    )
    names = _names(case, plan)
    series = [] if isinstance(wellbeing, Unavailable) else wellbeing_series(wellbeing)
    members = [] if isinstance(plan, Unavailable) else plan["members"]
    present = [m for m in members if not m.get("removed_at")]
    return {
        "case": case,
        "consents": consents,
        "screenings": screenings,
        "diplomas": diplomas,
        "plan": plan,
        "present_members": present,
        "members_options": [(m["member_id"], m["display_name"]) for m in present],
        "deciders": [
            *((g["guardian_id"], g.get("name") or g["guardian_id"]) for g in case["guardians"]),
            "coach",
        ],
        "tasks": _tasks(plan),
        "wellbeing": wellbeing,
        "wellbeing_series": series,
        "wellbeing_chart": chart(series),
        "deliveries": deliveries,
        "names": names,
        "purposes": [p.value for p in vocab.ConsentPurpose],
        "categories": [c.value for c in vocab.TaskCategory],
        "registered": request.query_params.get("registered") == "1",
        "done": request.query_params.get("done", ""),
        "errors": {},
        "values": {},
        **extra,
    }


def _names(case: dict[str, Any], plan: Any) -> dict[str, str]:
    """Recipient id -> the name the coach knows them by (guardians and members)."""
    names = {g["guardian_id"]: g.get("name") or "" for g in case.get("guardians", [])}
    if not isinstance(plan, Unavailable):
        names |= {m["member_id"]: m.get("display_name") or "" for m in plan["members"]}
    return names


def _tasks(plan: Any) -> list[dict[str, Any]]:
    if isinstance(plan, Unavailable):
        return []
    tasks = [task for member in plan["members"] for task in member["tasks"]]
    return sorted(tasks, key=lambda t: (t["due_date"] or "9999", t["created_at"]))


async def case_again(
    request: Request, case_id: str, staff: Staff, refused: Refused, form_name: str, form: FormData
) -> Response:
    """The case page again, with the refusal of one of its forms beside that form."""
    errors = {f"{form_name}.{k}": v for k, v in field_errors(refused).items()}
    errors[form_name] = refused.detail or "The service refused this."
    values = {f"{form_name}.{k}": form.get(k) for k in form}
    view = await case_view(request, case_id, staff, errors=errors, values=values)
    return render(request, "coach/case.html", view, 422)
