"""HTTP routes, thin: check the token, map the body to a command, call the handler.

Every route about a case records who saw or changed it (``vrac_runtime.audit``); the audit
trail's own route is apart, on ``audit_router``: reading the trail reads no personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from vrac_contracts.values import Pilot
from vrac_runtime.audit import CaseRef, about, audited
from vrac_runtime.auth import ALL_PILOTS, Principal, requires
from vrac_runtime.http import deps_of

from vrac_intake import handlers
from vrac_intake.domain.case import CaseStatus
from vrac_intake.domain.commands import CloseCase, RecordConsent, RemoveGuardian
from vrac_intake.domain.errors import RuleBroken
from vrac_intake.entrypoints.schemas import (
    IDEMPOTENCY_KEY,
    AuditEntryOut,
    AuditOut,
    CaseListOut,
    CaseOut,
    CaseSummaryOut,
    CloseIn,
    ConsentChangeOut,
    ConsentIn,
    ConsentOut,
    ConsentsOut,
    RegisterFamilyIn,
)

deps = deps_of(handlers.Deps)


async def _locate(request: Request, params: Mapping[str, str]) -> CaseRef | None:
    """The case a route's path names, for the audit trail."""
    case_id = params.get("case_id")
    case = None if case_id is None else await deps(request).cases.get(case_id)
    return None if case is None else CaseRef(case.case_id, case.pilot)


router = APIRouter(tags=["cases"], dependencies=[audited(_locate)])
audit_router = APIRouter(tags=["audit"])

# what routes take: the handlers' Deps and the caller, checked for the route's roles; the
# handlers get ``who.ensure_pilot``, which refuses (403) a case of another pilot
D = Annotated[handlers.Deps, Depends(deps)]
Coach = Annotated[Principal, Depends(requires("coach"))]
Closer = Annotated[Principal, Depends(requires("coach", "pilot-lead"))]
Reader = Annotated[Principal, Depends(requires("coach", "pilot-lead", "service"))]
# the pilot's lead and data-protection officer (and admins) ask who saw a child's file
Auditor = Annotated[Principal, Depends(requires("pilot-lead", "dpo"))]

_CASE_PATH = "/cases/{case_id}"


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseOut,
    responses={200: {"description": "A retry with the same Idempotency-Key: the same case."}},
)
async def register_family(
    request: Request,
    body: RegisterFamilyIn,
    response: Response,
    who: Coach,
    d: D,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY)
    ] = None,
) -> CaseOut:
    """Open a case for a family; publishes case-opened and family-registered (internal)."""
    command = body.to_command(who.subject, idempotency_key)
    registration = await handlers.register_family(d, command, who.ensure_pilot)
    about(request, CaseRef(registration.case.case_id, registration.case.pilot))
    if not registration.created:
        response.status_code = 200
    return CaseOut.of(registration.case)


@router.get("/cases", response_model=CaseListOut)
async def list_cases(
    request: Request,
    who: Reader,
    d: D,
    status: CaseStatus | None = None,
    pilot: Pilot | None = Query(
        None, description="A pilot-scoped token may only name its own pilot."
    ),
    limit: int = Query(100, ge=1),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> CaseListOut:
    """Cases of the caller's pilot, newest first."""
    listed = _listed_pilot(who, pilot)  # a refused caller learns nothing about the page size
    _check_page(request, limit)
    cases = await handlers.list_cases(d, listed, status, limit, offset)
    about(request, *(CaseRef(c.case_id, c.pilot) for c in cases))  # each shows a child's name
    return CaseListOut(cases=[CaseSummaryOut.of(c) for c in cases], limit=limit, offset=offset)


def _listed_pilot(who: Principal, asked: Pilot | None) -> Pilot | None:
    """The pilot whose cases a caller lists: their own, or any (None) for all-pilot tokens."""
    if who.pilot == ALL_PILOTS:
        return asked
    if asked is not None:
        who.ensure_pilot(str(asked))
    try:
        return Pilot(who.pilot)
    except ValueError:
        raise HTTPException(403, "the token names no known pilot") from None


@router.get(_CASE_PATH, response_model=CaseOut)
async def get_case(case_id: str, who: Reader, d: D) -> CaseOut:
    """The case, its family and the consent now in force per purpose."""
    return CaseOut.of(await handlers.get_case(d, case_id, who.ensure_pilot))


@router.post(
    f"{_CASE_PATH}/consents",
    status_code=201,
    response_model=ConsentChangeOut,
    responses={200: {"description": "Nothing changed (already so): no event."}},
)
async def record_consent(
    case_id: str,
    body: ConsentIn,
    response: Response,
    who: Coach,
    d: D,
) -> ConsentChangeOut:
    """Grant or withdraw consent for one purpose; publishes consent-changed if it changed."""
    command = RecordConsent(
        case_id=case_id,
        purpose=body.purpose,
        granted=body.granted,
        agency_id=body.agency_id,
        recorded_by=body.recorded_by.to_domain(who.subject),
        decided_at=body.decided_at,
    )
    outcome = await handlers.record_consent(d, command, who.ensure_pilot)
    if not outcome.changed:
        response.status_code = 200
    in_force = {c.key: c for c in outcome.case.current_consents()}.get(
        (body.purpose, body.agency_id)
    )
    return ConsentChangeOut(
        changed=outcome.changed, consent=None if in_force is None else ConsentOut.of(in_force)
    )


@router.get(f"{_CASE_PATH}/consents", response_model=ConsentsOut)
async def list_consents(case_id: str, who: Reader, d: D) -> ConsentsOut:
    """The consent in force per purpose, and every decision ever recorded."""
    case = await handlers.get_case(d, case_id, who.ensure_pilot)
    return ConsentsOut(
        current=[ConsentOut.of(c) for c in case.current_consents()],
        history=[ConsentOut.of(c) for c in case.consents],
    )


@router.post(f"{_CASE_PATH}/close", response_model=CaseOut)
async def close_case(
    case_id: str,
    body: CloseIn,
    who: Closer,
    d: D,
) -> CaseOut:
    """Close the case; publishes case-closed. `erasure-requested` also erases the family's
    details from intake's store."""
    command = CloseCase(case_id=case_id, reason=body.reason, closed_by=who.subject)
    return CaseOut.of(await handlers.close_case(d, command, who.ensure_pilot))


@router.delete(f"{_CASE_PATH}/guardians/{{guardian_id}}", response_model=CaseOut)
async def remove_guardian(case_id: str, guardian_id: str, who: Closer, d: D) -> CaseOut:
    """Take one guardian off an open case: erases their details, destroys their data key
    and publishes guardian-removed. The last guardian stays (409)."""
    command = RemoveGuardian(case_id=case_id, guardian_id=guardian_id)
    return CaseOut.of(await handlers.remove_guardian(d, command, who.ensure_pilot))


@audit_router.get(f"{_CASE_PATH}/audit", response_model=AuditOut)
async def case_audit(
    request: Request,
    case_id: str,
    who: Auditor,
    d: D,
    limit: int = Query(100, ge=1),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> AuditOut:
    """Who saw or changed this child's file: every service's entries, oldest first, paged."""

    def authorize(pilot: str) -> None:
        who.ensure_pilot(pilot)
        _check_page(request, limit)  # a refused caller learns nothing about the page size

    entries = await handlers.show_audit(d, case_id, authorize, limit, offset)
    more = len(entries) == limit
    return AuditOut(
        case_id=case_id,
        entries=[AuditEntryOut.of(e) for e in entries],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )


def _check_page(request: Request, limit: int) -> None:
    """A page may hold at most the deployment's ``VRAC_MAX_PAGE_SIZE`` entries."""
    most = request.app.state.settings.max_page_size
    if limit > most:
        raise RuleBroken("limit", f"at most {most}")
