"""HTTP routes, thin: check the token, map the body to a command, call the handler. Every
route about a case is recorded in the audit trail (``vrac_runtime.audit``), a read through
the family's signed link as the family.

The family's link (``vrac_runtime.family``, signed by intake) opens the case's screenings,
its diplomas, their PDFs and credentials, under the rules staff read them by. Screening
checks its signature, expiry and case, but cannot see intake's revocations: the web app
asks intake first on every family page, so a revoked link stops there."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from vrac_contracts.values import Language, Pilot
from vrac_runtime.audit import CaseRef, audited
from vrac_runtime.auth import LinkGrant, Principal, requires
from vrac_runtime.family import (
    ANOTHER_CASE,
    FamilyGrant,
    requires_family_or_link,
    requires_or_family,
)
from vrac_runtime.http import deps_of

from vrac_screening import handlers
from vrac_screening.adapters.credentials import MEDIA_TYPE
from vrac_screening.domain.case import Case
from vrac_screening.domain.commands import MeasureWellbeing, RecordScreening, SubmitQuestionnaire
from vrac_screening.domain.credential import NameShown, issuer_profile
from vrac_screening.domain.diploma import Diploma
from vrac_screening.domain.errors import LinkWithdrawn
from vrac_screening.domain.screening import Screening
from vrac_screening.entrypoints.schemas import (
    CredentialIn,
    DiplomaLinkIn,
    DiplomaLinkOut,
    DiplomaOut,
    InstrumentOut,
    IssuedLinkOut,
    MeasurementIn,
    MeasurementOut,
    ProgressOut,
    QuestionnaireIn,
    QuestionnaireOut,
    ScreeningIn,
    ScreeningOut,
    VerdictOut,
)


async def _locate(request: Request, params: Mapping[str, str]) -> CaseRef | None:
    """The case a route is about, for the audit trail: named in the path, or the record's."""
    d = deps(request)
    found: Case | Screening | Diploma | None = None
    if "screening_id" in params:
        found = await d.screenings.get(params["screening_id"])
    elif "diploma_id" in params:
        found = await d.diplomas.get(params["diploma_id"])
    elif "link_id" in params:
        link = await d.links.get(params["link_id"])
        return None if link is None else CaseRef(link.case_id, link.pilot)
    elif "case_id" in params:
        found = await d.cases.get(params["case_id"])
    return None if found is None else CaseRef(found.case_id, found.pilot)


router = APIRouter(tags=["screening"], dependencies=[audited(_locate)])


@dataclass(frozen=True)
class PrincipalAccess:
    principal: Principal

    def check(self, pilot: str) -> None:
        self.principal.ensure_pilot(pilot)

    def check_shared(self, case: Case) -> None:
        return None  # staff of the case's pilot read it under the case's own rules


class LinkAccess:
    """A signed link opens the one document it names, whatever its pilot, and only while
    the family shares it: the case open and diploma consent standing."""

    def check(self, pilot: str) -> None:
        return None

    def check_shared(self, case: Case) -> None:
        if not case.diploma_shared:
            raise LinkWithdrawn(
                "this link no longer opens the diploma: the case is closed or the "
                "diploma consent was withdrawn"
            )


@dataclass(frozen=True)
class FamilyAccess:
    """The family's link opens its own case only, under the case's own rules (what staff
    cannot see without consent, neither can the family)."""

    grant: FamilyGrant

    def check(self, pilot: str) -> None:
        if pilot != self.grant.pilot:
            raise HTTPException(status.HTTP_403_FORBIDDEN, ANOTHER_CASE)

    def check_shared(self, case: Case) -> None:
        self.grant.ensure_case(case.case_id)


Access = PrincipalAccess | LinkAccess | FamilyAccess


def access_of(who: Principal | FamilyGrant | LinkGrant) -> Access:
    if isinstance(who, FamilyGrant):
        return FamilyAccess(who)
    return LinkAccess() if isinstance(who, LinkGrant) else PrincipalAccess(who)


def case_access(case_id: str, who: Principal | FamilyGrant) -> PrincipalAccess | FamilyAccess:
    """The access of a route about one case: a family link only for its own (403)."""
    if isinstance(who, FamilyGrant):
        who.ensure_case(case_id)
        return FamilyAccess(who)
    return PrincipalAccess(who)


deps = deps_of(handlers.Deps)

# what routes take: the handlers' Deps and the caller, checked for the route's roles
D = Annotated[handlers.Deps, Depends(deps)]
Writer = Annotated[Principal, Depends(requires("coach"))]
Reader = Annotated[Principal, Depends(requires("coach", "pilot-lead", "service"))]
# a parent opens the diploma through the signed link in the e-mail, or the family's link
ReaderOrLink = Annotated[
    Principal | FamilyGrant | LinkGrant,
    Depends(requires_family_or_link("coach", "pilot-lead", "service")),
]
ReaderOrFamily = Annotated[
    Principal | FamilyGrant, Depends(requires_or_family("coach", "pilot-lead", "service"))
]
# who sees and revokes the family's links: the coach, the data-protection officer
LinkKeeper = Annotated[Principal, Depends(requires("coach", "dpo"))]
LinkViewer = Annotated[Principal, Depends(requires("coach", "pilot-lead", "dpo"))]
# the only caller that asks for new links: notifications, which sends them to the family
LINK_REQUESTER = "notifications"
Service = Annotated[Principal, Depends(requires("service"))]


@router.post("/cases/{case_id}/screenings", status_code=201, response_model=ScreeningOut)
async def record_screening(case_id: str, body: ScreeningIn, who: Writer, d: D) -> ScreeningOut:
    """Record a screening (needs screening consent); publishes screening-completed."""
    command = RecordScreening(case_id, [s.to_domain() for s in body.scores], body.screened_on)
    screening = await handlers.record_screening(d, command, PrincipalAccess(who))
    return ScreeningOut.of(screening)


@router.get("/cases/{case_id}/screenings", response_model=list[ScreeningOut])
async def list_screenings(
    case_id: str,
    who: ReaderOrFamily,
    d: D,
    language: Language | None = Query(None, description="Language of the advice texts."),
) -> list[ScreeningOut]:
    """The case's screenings with their advice (for school, parents and the child). Opens
    with the family's link too."""
    found = await handlers.list_screenings(d, case_id, case_access(case_id, who))
    return [ScreeningOut.of(s, language) for s in found]


@router.get("/screenings/{screening_id}", response_model=ScreeningOut)
async def get_screening(
    screening_id: str,
    who: Reader,
    d: D,
    language: Language | None = Query(
        None, description="Language of the advice texts; default the family's language."
    ),
) -> ScreeningOut:
    screening = await handlers.get_screening(d, screening_id, PrincipalAccess(who))
    return ScreeningOut.of(screening, language)


@router.get("/cases/{case_id}/diplomas", response_model=list[DiplomaOut])
async def list_diplomas(case_id: str, who: ReaderOrFamily, d: D) -> list[DiplomaOut]:
    """The case's diplomas. Opens with the family's link too."""
    shown = await handlers.show_diplomas(d, case_id, case_access(case_id, who))
    return [DiplomaOut.of(diploma, sheet) for diploma, sheet in shown]


# declared before /diplomas/{diploma_id}, which would otherwise match "<id>.pdf" too
@router.get(
    "/diplomas/{diploma_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The diploma."}},
)
async def diploma_pdf(diploma_id: str, who: ReaderOrLink, d: D) -> Response:
    """The diploma as a PDF, rendered on first download and cached. Opens with a bearer
    token, the family's link, or the signed ``link`` the family received, unless it
    expired or was revoked (403)."""
    if isinstance(who, LinkGrant):
        await handlers.check_link(d, who.link_id)  # a revoked link: 403
    pdf = await handlers.get_diploma_pdf(d, diploma_id, access_of(who))
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{diploma_id}.pdf"'},
    )


def _diploma_of(request: Request) -> str:
    """The family's link names the diploma's PDF; it opens the diploma's credential too."""
    return handlers.diploma_path(request.path_params["diploma_id"])


ReaderOrDiplomaLink = Annotated[
    Principal | FamilyGrant | LinkGrant,
    Depends(requires_family_or_link("coach", "pilot-lead", "service", opens=_diploma_of)),
]


def _signed_document(what: str, conflict: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answers of a route that returns a signed document (a VC-JOSE JWT)."""
    return {200: {"content": {MEDIA_TYPE: {}}, "description": what}, 409: {"description": conflict}}


@router.get(
    "/diplomas/{diploma_id}/credential",
    response_class=Response,
    responses=_signed_document(
        "The signed credential.", "Diploma consent was withdrawn, or the pilot has no issuer key."
    ),
)
async def diploma_credential(
    diploma_id: str,
    who: ReaderOrDiplomaLink,
    d: D,
    name: NameShown = Query(
        NameShown.FIRST_NAME,
        description="How the credential names the child: first-name (as the diploma does), "
        "initials or none.",
    ),
) -> Response:
    """The diploma as an Open Badges 3.0 credential (VC-JOSE: a JWT signed with the pilot's
    issuer key). Opens with a bearer token, the family's link or the family's diploma link;
    409 once diploma consent was withdrawn (the credential is then revoked)."""
    if isinstance(who, LinkGrant):
        await handlers.check_link(d, who.link_id)
    token = await handlers.get_credential(d, diploma_id, access_of(who), name)
    return Response(content=token, media_type=MEDIA_TYPE)


@router.get("/diplomas/{diploma_id}", response_model=DiplomaOut)
async def get_diploma(diploma_id: str, who: Reader, d: D) -> DiplomaOut:
    diploma, sheet = await handlers.get_diploma(d, diploma_id, PrincipalAccess(who))
    return DiplomaOut.of(diploma, sheet)


@router.post("/cases/{case_id}/questionnaires", status_code=201, response_model=QuestionnaireOut)
async def submit_questionnaire(
    case_id: str, body: QuestionnaireIn, who: Writer, d: D
) -> QuestionnaireOut:
    """Record a wellbeing questionnaire (needs questionnaires consent); publishes
    questionnaire-submitted with the band only."""
    command = SubmitQuestionnaire(case_id, body.instrument, body.respondent, body.score)
    questionnaire = await handlers.submit_questionnaire(d, command, PrincipalAccess(who))
    return QuestionnaireOut.of(questionnaire)


@router.get("/cases/{case_id}/questionnaires", response_model=list[QuestionnaireOut])
async def list_questionnaires(case_id: str, who: Reader, d: D) -> list[QuestionnaireOut]:
    found = await handlers.list_questionnaires(d, case_id, PrincipalAccess(who))
    return [QuestionnaireOut.of(q) for q in found]


@router.get("/instruments", response_model=list[InstrumentOut])
async def list_instruments(
    who: Reader,
    d: D,
    language: Language = Query(Language.EN, description="Language of the item texts."),
) -> list[InstrumentOut]:
    """The instruments this platform scores from item responses: item ids, ranges, and the
    item texts of the free ones (none of a licensed instrument)."""
    return [InstrumentOut.of(p, language) for p in d.instruments.on.values()]


@router.post("/cases/{case_id}/wellbeing", status_code=201, response_model=MeasurementOut)
async def measure_wellbeing(case_id: str, body: MeasurementIn, who: Writer, d: D) -> MeasurementOut:
    """Record a questionnaire's item responses at a measurement occasion (needs
    questionnaires consent); its instrument scores them."""
    command = MeasureWellbeing(
        case_id, body.instrument, body.respondent, body.occasion, body.responses
    )
    measurement = await handlers.measure_wellbeing(d, command, PrincipalAccess(who))
    return MeasurementOut.of(measurement)


@router.get("/cases/{case_id}/wellbeing", response_model=list[MeasurementOut])
async def list_measurements(case_id: str, who: Reader, d: D) -> list[MeasurementOut]:
    found = await handlers.list_measurements(d, case_id, PrincipalAccess(who))
    return [MeasurementOut.of(m) for m in found]


@router.get("/cases/{case_id}/wellbeing/change", response_model=list[ProgressOut])
async def wellbeing_change(case_id: str, who: Reader, d: D) -> list[ProgressOut]:
    """Change per instrument and respondent: the first baseline to the latest follow-up or
    end, with the instrument's reliable-change verdict where it has one."""
    found = await handlers.wellbeing_progress(d, case_id, PrincipalAccess(who))
    return [ProgressOut.of(p) for p in found]


@router.get("/diplomas/{diploma_id}/links", response_model=list[DiplomaLinkOut])
async def list_diploma_links(diploma_id: str, who: LinkViewer, d: D) -> list[DiplomaLinkOut]:
    """The links to this diploma sent to the family: when issued, until when, revoked."""
    found = await handlers.list_diploma_links(d, diploma_id, PrincipalAccess(who))
    return [DiplomaLinkOut.of(link) for link in found]


@router.delete("/links/{link_id}", status_code=204)
async def revoke_link(link_id: str, who: LinkKeeper, d: D) -> Response:
    """Revoke a family's link at once (a message sent to a wrong address, a lost phone):
    it then answers 403. The family can be sent a new one."""
    await handlers.revoke_link(d, link_id, PrincipalAccess(who))
    return Response(status_code=204)


# anyone may check a credential: no token, nothing about a case is shown
public = APIRouter(tags=["credentials"])


@public.post("/credentials/verify", response_model=VerdictOut)
async def verify_credential(body: CredentialIn, d: D) -> VerdictOut:
    """Whether a credential is genuine (signed by its pilot's issuer key), unaltered and not
    revoked; if not, ``reason`` names what failed. Public."""
    return VerdictOut.of(await handlers.verify_credential(d, body.credential))


@public.get("/credentials/verify", response_model=VerdictOut)
async def check_diploma(
    d: D, diploma: str = Query(min_length=1, max_length=100, description="A diploma's id.")
) -> VerdictOut:
    """The check a diploma's QR code opens: the verdict on its credential. Public."""
    return VerdictOut.of(await handlers.check_diploma(d, diploma))


@public.get(
    "/credentials/status/{pilot}",
    response_class=Response,
    responses=_signed_document("The status list.", "The pilot has no issuer key."),
)
async def status_list(pilot: Pilot, d: D) -> Response:
    """The pilot's revocation list: a BitstringStatusListCredential signed with its issuer
    key. Public."""
    return Response(content=await handlers.status_list(d, pilot), media_type=MEDIA_TYPE)


@public.get(
    "/credentials/issuers/{pilot}",
    responses={409: {"description": "The pilot has no issuer key."}},
)
async def issuer(pilot: Pilot, d: D) -> dict[str, object]:
    """The pilot as an issuer: its profile and public keys (JWK set). Public."""
    places = d.issuer.places
    return {**issuer_profile(places, pilot), "publicKeys": d.issuer.public_jwks(pilot)}


internal = APIRouter(tags=["internal"], include_in_schema=False)


@internal.post("/internal/diploma-links", status_code=201, response_model=IssuedLinkOut)
async def issue_diploma_link(body: DiplomaLinkIn, who: Service, d: D) -> IssuedLinkOut:
    """A new link for the family to a diploma, for notifications' message: screening signs
    the links to what it serves, with its own key."""
    if who.subject != LINK_REQUESTER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this service asks for no links")
    link, token = await handlers.issue_diploma_link(d, body.diploma_id, PrincipalAccess(who))
    path = handlers.diploma_path(link.diploma_id)
    return IssuedLinkOut(link_id=link.link_id, path=path, token=token, expires_at=link.expires_at)
