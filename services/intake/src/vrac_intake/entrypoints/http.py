"""HTTP routes, thin: check the token, map the body to a command, call the handler.

Every route about a case records who saw or changed it (``vrac_runtime.audit``); the audit
trail's own route is apart, on ``audit_router``: reading the trail reads no personal data.

The family's link (``vrac_runtime.family``) opens the case, its consents and recording a
guardian's decision, for its own case and guardian only, and only while intake honours it
(not revoked: intake is the one service that keeps the links).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from vrac_contracts.values import ActorRole, Pilot
from vrac_runtime.audit import CaseRef, about, audited
from vrac_runtime.auth import ALL_PILOTS, Principal, requires
from vrac_runtime.family import FamilyGrant, requires_or_family
from vrac_runtime.http import deps_of

from vrac_intake import handlers
from vrac_intake.domain.case import Case, CaseStatus
from vrac_intake.domain.commands import CloseCase, RecordConsent, RemoveGuardian
from vrac_intake.domain.consent import Recorder
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
    FamilyLinkIn,
    FamilyLinkOut,
    IssuedFamilyLinkOut,
    RecordedByIn,
    RegisterFamilyIn,
)

deps = deps_of(handlers.Deps)


async def _locate(request: Request, params: Mapping[str, str]) -> CaseRef | None:
    """The case a route's path names (or the family link's), for the audit trail."""
    d = deps(request)
    if "link_id" in params:
        link = await d.links.get(params["link_id"])
        return None if link is None else CaseRef(link.case_id, link.pilot)
    case_id = params.get("case_id")
    case = None if case_id is None else await d.cases.get(case_id)
    return None if case is None else CaseRef(case.case_id, case.pilot)


router = APIRouter(tags=["cases"], dependencies=[audited(_locate)])
audit_router = APIRouter(tags=["audit"])
internal = APIRouter(tags=["internal"], include_in_schema=False)

# what routes take: the handlers' Deps and the caller, checked for the route's roles; the
# handlers get ``who.ensure_pilot``, which refuses (403) a case of another pilot
D = Annotated[handlers.Deps, Depends(deps)]
Coach = Annotated[Principal, Depends(requires("coach"))]
Closer = Annotated[Principal, Depends(requires("coach", "pilot-lead"))]
Reader = Annotated[Principal, Depends(requires("coach", "pilot-lead", "service"))]
# the pilot's lead and data-protection officer (and admins) ask who saw a child's file
Auditor = Annotated[Principal, Depends(requires("pilot-lead", "dpo"))]
# the family, through the link in their e-mail, reads its case and records its decisions
ReaderOrFamily = Annotated[
    Principal | FamilyGrant, Depends(requires_or_family("coach", "pilot-lead", "service"))
]
CoachOrFamily = Annotated[Principal | FamilyGrant, Depends(requires_or_family("coach"))]
# who sees and revokes the family's links: the coach, the data-protection officer
LinkKeeper = Annotated[Principal, Depends(requires("coach", "dpo"))]
# the only caller that asks for family links: notifications, which sends them
LINK_REQUESTER = "notifications"
Service = Annotated[Principal, Depends(requires("service"))]

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


async def _family_case(d: handlers.Deps, case_id: str, grant: FamilyGrant) -> Case:
    """The case a family link opens: this one (403 otherwise), while intake honours it."""
    grant.ensure_case(case_id)
    return await handlers.family_case(d, grant)


@router.get(_CASE_PATH, response_model=CaseOut)
async def get_case(case_id: str, who: ReaderOrFamily, d: D) -> CaseOut:
    """The case, its family and the consent now in force per purpose. With the family's
    link: the family's view, without the other guardians' e-mail addresses and phones."""
    if isinstance(who, FamilyGrant):
        return CaseOut.for_family(await _family_case(d, case_id, who), who.guardian_id)
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
    who: CoachOrFamily,
    d: D,
) -> ConsentChangeOut:
    """Grant or withdraw consent for one purpose; publishes consent-changed if it changed.
    With the family's link, the decision is the link's guardian's: ``recorded_by`` names
    that guardian (anyone else: 403)."""
    if isinstance(who, FamilyGrant):
        await _family_case(d, case_id, who)
        recorder, authorize = _family_recorder(body.recorded_by, who), _pilot_of(who)
    else:
        recorder, authorize = body.recorded_by.to_domain(who.subject), who.ensure_pilot
    command = RecordConsent(
        case_id=case_id,
        purpose=body.purpose,
        granted=body.granted,
        agency_id=body.agency_id,
        recorded_by=recorder,
        decided_at=body.decided_at,
    )
    outcome = await handlers.record_consent(d, command, authorize)
    if not outcome.changed:
        response.status_code = 200
    in_force = {c.key: c for c in outcome.case.current_consents()}.get(
        (body.purpose, body.agency_id)
    )
    return ConsentChangeOut(
        changed=outcome.changed, consent=None if in_force is None else ConsentOut.of(in_force)
    )


def _family_recorder(asked: RecordedByIn, grant: FamilyGrant) -> Recorder:
    """The guardian a family link decides as; 403 for a body naming anyone else."""
    if asked.guardian_id != grant.guardian_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "recorded_by: a family link records decisions as the guardian it was sent to, "
            "named by guardian_id",
        )
    return Recorder(ActorRole.GUARDIAN, guardian_id=grant.guardian_id, user=grant.guardian_id)


def _pilot_of(grant: FamilyGrant) -> handlers.Authorize:
    """The handlers' pilot check for a family link: its own case's pilot only."""

    def authorize(pilot: Pilot) -> None:
        if str(pilot) != grant.pilot:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this case belongs to another pilot")

    return authorize


@router.get(f"{_CASE_PATH}/consents", response_model=ConsentsOut)
async def list_consents(case_id: str, who: ReaderOrFamily, d: D) -> ConsentsOut:
    """The consent in force per purpose, and every decision ever recorded. Opens with the
    family's link too."""
    if isinstance(who, FamilyGrant):
        case = await _family_case(d, case_id, who)
    else:
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


@router.get(f"{_CASE_PATH}/family-links", response_model=list[FamilyLinkOut])
async def list_family_links(case_id: str, who: LinkKeeper, d: D) -> list[FamilyLinkOut]:
    """The links sent to the family: for whom, when, until when, revoked or not."""
    found = await handlers.list_family_links(d, case_id, who.ensure_pilot)
    now = d.clock()
    return [FamilyLinkOut.of(link, now) for link in found]


@router.delete("/family-links/{link_id}", status_code=204)
async def revoke_family_link(link_id: str, who: LinkKeeper, d: D) -> Response:
    """Revoke a family link at once (sent to a wrong address, a lost phone): intake then
    refuses it (403). Screening and network do not know of revocations; the web app asks
    intake first on every family page, so a revoked link stops there."""
    await handlers.revoke_family_link(d, link_id, who.ensure_pilot)
    return Response(status_code=204)


@internal.post("/internal/family-links", status_code=201, response_model=IssuedFamilyLinkOut)
async def issue_family_link(body: FamilyLinkIn, who: Service, d: D) -> IssuedFamilyLinkOut:
    """A new family link for a guardian of an open case, for notifications' message."""
    if who.subject != LINK_REQUESTER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this service asks for no family links")
    link, token = await handlers.issue_family_link(d, body.case_id, body.guardian_id)
    return IssuedFamilyLinkOut(link_id=link.link_id, token=token, expires_at=link.expires_at)


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
