"""The parent's pages: opened with the family's signed link, without an account.

The link is the family's token for every call: intake, screening and network verify it and
decide what it opens. Intake is asked first on every page, because only intake knows whether
the coach revoked the link; the other services check its signature, expiry and case.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from vrac_web.csrf import checked_form
from vrac_web.deps import render, see_other, services_of
from vrac_web.errors import PageError
from vrac_web.i18n import LANGUAGES, language_of
from vrac_web.pages import family_view as view
from vrac_web.services import Refused, Services
from vrac_web.session import Family, family_of, session_of

router = APIRouter(include_in_schema=False)
CheckedForm = Annotated[FormData, Depends(checked_form)]

DONE: Final = "family_done"  # the decision just recorded, shown once as a confirmation
DIPLOMA_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


@dataclass(frozen=True)
class Section:
    """A part of a page from one service: its answer, or why the family cannot see it now
    (``not-shared``: the family's consent or the service's rules keep it; ``unavailable``:
    the service does not answer)."""

    data: Any = None
    missing: str | None = None


async def section(answer: Awaitable[Any], empty: Any = None) -> Section:
    try:
        return Section(await answer)
    except Refused:
        return Section(missing="not-shared")
    except PageError as error:
        if error.status == 401:
            raise  # the link ended: the whole page says so
        if error.status == 404:
            return Section(empty)  # the service has not heard of the case yet: nothing yet
        if error.status == 403:
            return Section(missing="not-shared")
        return Section(missing="unavailable")


def signed_in_family(request: Request) -> Family:
    """The family of this browser's session. Without one (never opened here, closed on this
    device, or the session's hours ran out), the link in the e-mail opens the pages again."""
    family = family_of(session_of(request))
    if family is None:
        raise PageError(401, *view.NO_SESSION)
    return family


def guardian_of(request: Request) -> str:
    return str(session_of(request).get("guardian_id") or "")


async def family_case(services: Services, family: Family) -> dict[str, Any]:
    """The family's view of its case from intake: refused (an error page) for a link that
    expired or was revoked."""
    case: dict[str, Any] = await services.get(
        "intake", f"/cases/{family.case_id}", family.token, who="family"
    )
    return case


@router.get("/family")
async def family_home(request: Request, link: str | None = None) -> Response:
    if link is not None:
        return await open_link(request, link)
    family = signed_in_family(request)
    services = services_of(request)
    case = await family_case(services, family)
    path, token, lang = f"/cases/{family.case_id}", family.token, language_of(request)
    screenings, diplomas, tasks, members = await asyncio.gather(
        section(
            services.get(
                "screening", f"{path}/screenings", token, who="family", params={"language": lang}
            ),
            [],
        ),
        section(services.get("screening", f"{path}/diplomas", token, who="family"), []),
        section(services.get("network", f"{path}/tasks", token, who="family"), []),
        section(services.get("network", f"{path}/members", token, who="family"), []),
    )
    current = case.get("consents") or []
    return render(
        request,
        "family/home.html",
        {
            "case": case,
            "advice": screenings.data and view.latest_advice(screenings.data),
            "screenings": screenings,
            "diplomas": diplomas,
            "diploma_list": view.newest_first(diplomas.data or []),
            "credential_offered": view.granted(current, "diploma"),
            "tasks": tasks,
            "task_rows": view.task_rows(tasks.data or [], members.data or []),
            "members": members,
            "member_rows": view.member_rows(members.data or []),
        },
    )


async def open_link(request: Request, token: str) -> Response:
    """The link from the e-mail: intake opens it (or says why not), then the family's
    session holds it and the address bar no longer does."""
    claims = view.link_claims(token)
    if claims is None:
        raise PageError.link_refused()
    case = await services_of(request).get("intake", f"/cases/{claims.case_id}", token, who="family")
    language = view.family_language(case, claims.guardian_id)
    session_of(request).start(
        kind="family",
        link=token,
        case_id=claims.case_id,
        guardian_id=claims.guardian_id,
        family_lang=language if language in LANGUAGES else None,
        family_pilot=str(case.get("pilot") or ""),
    )
    return see_other("/family")


@router.get("/family/consents")
async def consents_page(request: Request) -> Response:
    family = signed_in_family(request)
    done = session_of(request).pop(DONE)
    return await render_consents(request, family, done=done if isinstance(done, dict) else None)


async def render_consents(
    request: Request,
    family: Family,
    *,
    done: dict[str, Any] | None = None,
    refused: Refused | None = None,
) -> Response:
    services = services_of(request)
    case = await family_case(services, family)
    consents = await services.get(
        "intake", f"/cases/{family.case_id}/consents", family.token, who="family"
    )
    guardian = guardian_of(request)
    return render(
        request,
        "family/consents.html",
        {
            "case": case,
            "rows": view.consent_rows(consents.get("current") or [], guardian),
            "history": view.history_rows(consents.get("history") or [], guardian),
            "done": done,
            "done_words": view.PURPOSES.get(str((done or {}).get("purpose"))),
            "refused": refused,
            "state_text": view.STATE_TEXT,
        },
        status=422 if refused else 200,
    )


@router.post("/family/consents")
async def record_consent(request: Request, form: CheckedForm) -> Response:
    """The parent grants or withdraws one purpose; intake records it as theirs."""
    family = signed_in_family(request)
    purpose, agency_id = str(form.get("purpose", "")), str(form.get("agency_id", "")) or None
    choice = str(form.get("granted", ""))
    if purpose not in view.PURPOSES or choice not in ("true", "false"):
        raise PageError(422, "Something is missing", "Go back and fill in the form again.")
    if (purpose == view.AGENCY) != (agency_id is not None):
        raise PageError(422, "Something is missing", "Go back and fill in the form again.")
    body = {
        "purpose": purpose,
        "granted": choice == "true",
        "agency_id": agency_id,
        "recorded_by": {"guardian_id": guardian_of(request)},
    }
    try:
        outcome = await services_of(request).send(
            "intake",
            "POST",
            f"/cases/{family.case_id}/consents",
            family.token,
            who="family",
            json=body,
        )
    except Refused as refused:
        return await render_consents(request, family, refused=refused)
    session_of(request)[DONE] = {
        "purpose": purpose,
        "agency_id": agency_id,
        "granted": choice == "true",
        "changed": bool((outcome or {}).get("changed", True)),
    }
    return see_other("/family/consents")


@router.get("/family/diplomas/{diploma_id}.pdf")
async def diploma_pdf(request: Request, diploma_id: str) -> Response:
    """The diploma's PDF, fetched with the family's link (it never reaches the address)."""
    family = signed_in_family(request)
    if not DIPLOMA_ID.match(diploma_id):
        raise PageError.not_found()
    services = services_of(request)
    await family_case(services, family)
    try:
        answer = await services.call(
            "screening", "GET", f"/diplomas/{diploma_id}.pdf", family.token, who="family"
        )
    except PageError as error:
        if error.status != 403:
            raise
        # intake honours the link, so screening's refusal is about the diploma, not the link
        return render(request, "family/diploma_not_shared.html", status=403)
    return Response(
        answer.content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="diploma-{diploma_id}.pdf"'},
    )


@router.get("/family/diplomas/{diploma_id}/credential")
async def diploma_credential(request: Request, diploma_id: str) -> Response:
    """The diploma's signed digital credential, to keep or to show; a page in words when
    there is none (diploma consent withdrawn, or the pilot issues none)."""
    family = signed_in_family(request)
    if not DIPLOMA_ID.match(diploma_id):
        raise PageError.not_found()
    services = services_of(request)
    await family_case(services, family)
    try:
        answer = await services.call(
            "screening", "GET", f"/diplomas/{diploma_id}/credential", family.token, who="family"
        )
    except Refused:
        return render(request, "family/no_credential.html", status=409)
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", "application/vc+jwt"),
        headers={"Content-Disposition": f'attachment; filename="diploma-{diploma_id}.jwt"'},
    )
