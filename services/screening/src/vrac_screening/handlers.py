"""One function per command or event: load, let the domain decide, store state and events.

Handlers know nothing of HTTP, Kafka or Mongo: they talk to the ports in ``Deps``, and the
caller passes ``access``, which refuses a case of a pilot the caller may not see.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Final

from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded, FamilyRegisteredV2
from vrac_contracts.events.sealed import ChildDetails
from vrac_contracts.ids import new_id
from vrac_contracts.values import CloseReason, ConsentPurpose
from vrac_runtime.values import Clock

from vrac_screening.domain import credential as credentials
from vrac_screening.domain import diploma as diplomas
from vrac_screening.domain import questionnaire as questionnaires
from vrac_screening.domain import screening as screenings
from vrac_screening.domain import wellbeing
from vrac_screening.domain.case import Case
from vrac_screening.domain.commands import (
    KeepFamily,
    MeasureWellbeing,
    RecordScreening,
    SubmitQuestionnaire,
)
from vrac_screening.domain.credential import NameShown, StatusEntry, Verdict
from vrac_screening.domain.diploma import Diploma, DiplomaSheet, ScreeningOutcome
from vrac_screening.domain.errors import (
    CaseIsClosed,
    ChildNotKnownYet,
    CredentialRefused,
    DiplomaNotShared,
    LinkRevoked,
    UnknownCase,
    UnknownDiploma,
    UnknownLink,
    UnknownScreening,
)
from vrac_screening.domain.instruments import Instruments
from vrac_screening.domain.links import DiplomaLink
from vrac_screening.domain.questionnaire import Questionnaire
from vrac_screening.domain.screening import Screening
from vrac_screening.domain.wellbeing import Measurement, Progress
from vrac_screening.ports import (
    Access,
    AuditTrail,
    Cases,
    CredentialSigner,
    CredentialStatuses,
    Diplomas,
    Links,
    LinkSigner,
    Measurements,
    PdfCache,
    Questionnaires,
    Renderer,
    Screenings,
    SealedReader,
)

# the service that seals the child's details, and serves their key
INTAKE: Final = "intake"
# how long one write let in by begin_write may hold an erasure back, should its writer die
WRITE_LEASE: Final = dt.timedelta(seconds=60)


def utc_now() -> dt.datetime:
    """Now, in UTC, to the millisecond: what the store keeps is what the event says."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass
class Deps:
    cases: Cases
    screenings: Screenings
    diplomas: Diplomas
    questionnaires: Questionnaires
    pdfs: PdfCache
    render: Renderer
    sealed: SealedReader
    audit: AuditTrail
    links: Links
    sign_link: LinkSigner
    statuses: CredentialStatuses
    issuer: CredentialSigner
    measurements: Measurements
    # the instruments scored from item responses here: the free ones and those licensed
    instruments: Instruments = field(default_factory=Instruments.switched_on)
    link_seconds: int = 7 * 86_400  # how long a diploma link opens it
    clock: Clock = utc_now
    mint: Callable[[str], str] = new_id


# -- intake's events --


async def open_case(deps: Deps, event: CaseOpened) -> None:
    await deps.cases.record_opened(event)


async def register_family(deps: Deps, event: FamilyRegisteredV2) -> None:
    """Keep the child's first name and the family's language for diplomas. A child whose
    key intake destroyed was erased there: nothing is kept."""
    known = await deps.cases.get(event.case_id)
    if known is not None and known.erased:
        return  # erased here already: not even its key is fetched
    child = await deps.sealed.open(INTAKE, event.case_id, event.child, ChildDetails)
    if child is None:
        return
    command = KeepFamily(event.case_id, event.pilot, child.child_first_name, event.language)
    await keep_family(deps, command)


async def keep_family(deps: Deps, command: KeepFamily) -> None:
    await deps.cases.keep_family(
        command.case_id, command.pilot, command.child_first_name, command.language
    )
    # a diploma that waited for the child's name can be made now
    await issue_missing_diplomas(deps, command.case_id)


async def record_consent(deps: Deps, event: ConsentRecorded) -> None:
    await deps.cases.record_consent(event)
    if event.purpose is ConsentPurpose.DIPLOMA and event.granted:
        # consent given after the screening: its diploma is made now
        await issue_missing_diplomas(deps, event.case_id)
    elif event.purpose is ConsentPurpose.DIPLOMA:
        await revoke_credentials(deps, event.case_id)


async def close_case(deps: Deps, event: CaseClosed) -> None:
    await deps.cases.record_closed(event)
    if event.reason is CloseReason.ERASURE_REQUESTED:
        await deps.cases.mark_erased(event.case_id, event.pilot)
        # what cannot go yet is finished by the periodic job (finish_pending_erasures)
        await finish_erasure(deps, event.case_id)


async def finish_erasure(deps: Deps, case_id: str) -> bool:
    """Delete what the erased case left: its PDFs, screenings, diplomas and questionnaires,
    and the keys of its sealed data kept in memory. False while a write let in before the
    erasure is still under way, or a record's event still waits for the relay: the case
    stays pending and the next round deletes the rest."""
    if await deps.cases.writes_in_flight(case_id, deps.clock()):
        return False
    deps.sealed.forget_case(case_id)
    await deps.statuses.forget_case(case_id)
    await deps.pdfs.drop_case(case_id)
    await deps.links.drop_case(case_id)
    waiting = 0
    for records in (deps.screenings, deps.diplomas, deps.questionnaires, deps.measurements):
        waiting += await records.erase_case(case_id)
    if waiting:
        return False
    case = await deps.cases.get(case_id)
    if case is not None:
        await deps.audit.erased(case_id, case.pilot)
    await deps.cases.erasure_done(case_id)
    return True


async def finish_pending_erasures(deps: Deps) -> int:
    """The periodic job: finish every erasure still pending (after a crash, a failing
    store, a record whose event was not sent yet); how many were finished."""
    finished = 0
    for case_id in await deps.cases.erasures_pending():
        finished += await finish_erasure(deps, case_id)
    return finished


@asynccontextmanager
async def _unless_erased(deps: Deps, case_id: str) -> AsyncIterator[bool]:
    """Whether a record of the case may be written now. The check and the registration of
    the write are one single-document update of the case, so an erasure either refuses the
    write or waits for it to end before it sweeps."""
    token = await deps.cases.begin_write(case_id, deps.clock() + WRITE_LEASE)
    try:
        yield token is not None
    finally:
        if token is not None:
            await deps.cases.end_write(case_id, token)


@asynccontextmanager
async def _while_open(deps: Deps, case_id: str) -> AsyncIterator[None]:
    """Write a record of the case within the block, or refuse: the case was erased."""
    async with _unless_erased(deps, case_id) as allowed:
        if not allowed:
            raise CaseIsClosed(f"case {case_id} is closed")
        yield


# -- screenings --


async def _visible_case(deps: Deps, case_id: str, access: Access) -> Case:
    case = await deps.cases.get(case_id)
    if case is None or not case.opened:
        raise UnknownCase(f"case {case_id} not found")
    access.check(case.pilot)
    return case


async def record_screening(deps: Deps, command: RecordScreening, access: Access) -> Screening:
    """Derive strengths, growth areas and advice; stored with its screening-completed and
    findings-recorded."""
    case = await _visible_case(deps, command.case_id, access)
    screening = screenings.record_screening(
        case, deps.mint("screening"), command.results, command.screened_on, deps.clock()
    )
    async with _while_open(deps, case.case_id):
        await deps.screenings.add(screening)
    return screening


async def get_screening(deps: Deps, screening_id: str, access: Access) -> Screening:
    """The screening; none of an erased case, even while its record waits for the relay."""
    screening = await deps.screenings.get(screening_id)
    case = None if screening is None else await deps.cases.get(screening.case_id)
    if screening is None or case is None or case.erased:
        raise UnknownScreening(f"screening {screening_id} not found")
    access.check(screening.pilot)
    return screening


async def list_screenings(deps: Deps, case_id: str, access: Access) -> list[Screening]:
    case = await _visible_case(deps, case_id, access)
    return [] if case.erased else await deps.screenings.of_case(case_id)


# -- diplomas --


async def issue_diploma(deps: Deps, outcome: ScreeningOutcome) -> Diploma | None:
    """The diploma maker's reaction to a screening's findings. Its id comes from the
    screening's, so a second delivery stores nothing new; a case erased meanwhile gets
    none. Raises ChildNotKnownYet while the family is not registered: its registration
    makes the diploma then (``keep_family``)."""
    # the case is read by the same update that lets the write in: one round trip, and an
    # erasure cannot come between the read and the write
    token, case = await deps.cases.begin_write_reading(outcome.case_id, deps.clock() + WRITE_LEASE)
    try:
        diploma = diplomas.make_diploma(case, outcome, deps.clock())
        if diploma is None or token is None:
            return None
        await deps.diplomas.add(diploma)
        return diploma
    finally:
        if token is not None:
            await deps.cases.end_write(outcome.case_id, token)


async def issue_missing_diplomas(deps: Deps, case_id: str) -> list[Diploma]:
    """Make the diplomas of the case's screenings that can have one now; a screening whose
    diploma still waits for something is left for the next trigger."""
    made: list[Diploma] = []
    for screening in await deps.screenings.of_case(case_id):
        if await deps.diplomas.get(diplomas.diploma_id_for(screening.screening_id)):
            continue
        outcome = ScreeningOutcome(
            screening.screening_id, screening.case_id, screening.pilot, screening.strengths
        )
        try:
            diploma = await issue_diploma(deps, outcome)
        except ChildNotKnownYet:
            return made
        if diploma is not None:
            made.append(diploma)
    return made


async def list_diplomas(deps: Deps, case_id: str, access: Access) -> list[Diploma]:
    """The case's diplomas; none once the case is erased, even those whose diploma-issued
    is still on its way out (their records stay until it is sent)."""
    case = await _visible_case(deps, case_id, access)
    if case.erased:
        return []
    return await deps.diplomas.of_case(case_id)


async def show_diplomas(
    deps: Deps, case_id: str, access: Access
) -> list[tuple[Diploma, DiplomaSheet]]:
    """The case's diplomas with their printed words, read against one view of the case."""
    case = await _visible_case(deps, case_id, access)
    found = [] if case.erased else await deps.diplomas.of_case(case_id)
    if not found:
        return []
    if case.child_first_name is None:
        raise ChildNotKnownYet(f"the family of case {case_id} is not registered yet")
    return [(diploma, diplomas.diploma_sheet(diploma, case.child_first_name)) for diploma in found]


async def get_diploma(deps: Deps, diploma_id: str, access: Access) -> tuple[Diploma, DiplomaSheet]:
    """The diploma and its printed words (the child's name comes from the case)."""
    diploma = await deps.diplomas.get(diploma_id)
    case = None if diploma is None else await deps.cases.get(diploma.case_id)
    if diploma is None or case is None or case.erased:
        raise UnknownDiploma(f"diploma {diploma_id} not found")
    access.check(diploma.pilot)
    access.check_shared(case)
    if case.child_first_name is None:
        raise ChildNotKnownYet(f"the family of case {case.case_id} is not registered yet")
    return diploma, diplomas.diploma_sheet(diploma, case.child_first_name)


async def get_diploma_pdf(deps: Deps, diploma_id: str, access: Access) -> bytes:
    """The PDF, rendered on first download and kept for the next ones."""
    diploma, sheet = await get_diploma(deps, diploma_id, access)
    cached = await deps.pdfs.get(diploma_id)
    if cached is not None:
        return cached
    sheet = replace(sheet, check_url=deps.issuer.places.check(diploma_id))
    pdf = await asyncio.to_thread(deps.render, sheet, diploma.issued_at)
    async with _unless_erased(deps, diploma.case_id) as allowed:
        if not allowed:  # erased while we rendered: keep nothing, show nothing
            raise UnknownDiploma(f"diploma {diploma_id} not found")
        await deps.pdfs.put(diploma, pdf, deps.clock())
    return pdf


# -- credentials --


async def revoke_credentials(deps: Deps, case_id: str) -> None:
    """Diploma consent withdrawn (the newest decision): the case's credentials are revoked
    in the pilot's status list. A decision older than a grant already kept changes nothing."""
    case = await deps.cases.get(case_id)
    if case is not None and not case.consented(ConsentPurpose.DIPLOMA):
        await deps.statuses.revoke_case(case_id)


async def _status_entry(deps: Deps, diploma: Diploma) -> StatusEntry:
    """The diploma's entry in the status list, made on first use; after a withdrawal and a
    new grant, a fresh one (a revocation is never undone). A withdrawal that arrives while
    the entry is made revokes it too: the consent is read again after."""
    async with _unless_erased(deps, diploma.case_id) as allowed:
        if not allowed:
            raise UnknownDiploma(f"diploma {diploma.diploma_id} not found")
        entry = await deps.statuses.get(diploma.diploma_id)
        if entry is None:
            entry = await deps.statuses.allocate(diploma)
        elif entry.revoked:
            entry = await deps.statuses.renew(entry)
    await revoke_credentials(deps, diploma.case_id)
    return entry


async def get_credential(
    deps: Deps, diploma_id: str, access: Access, name: NameShown = NameShown.FIRST_NAME
) -> str:
    """The diploma's OpenBadgeCredential signed with its pilot's issuer key (a JWT), naming
    the child as the family chose; none once the family withdrew diploma consent."""
    diploma, sheet = await get_diploma(deps, diploma_id, access)
    case = await deps.cases.get(diploma.case_id)
    if case is None or not case.consented(ConsentPurpose.DIPLOMA):
        raise DiplomaNotShared(f"diploma {diploma_id}: diploma consent was withdrawn")
    return await _signed(deps, diploma, sheet, name)


async def _signed(deps: Deps, diploma: Diploma, sheet: DiplomaSheet, name: NameShown) -> str:
    entry = await _status_entry(deps, diploma)
    badge = credentials.open_badge(deps.issuer.places, diploma, sheet, name, entry.index)
    return deps.issuer.sign(diploma.pilot, badge)


async def encoded_status_list(deps: Deps, pilot: str) -> str:
    revoked, issued = await deps.statuses.revoked(pilot)
    return credentials.encode_list(revoked, issued)


async def status_list(deps: Deps, pilot: str) -> str:
    """The pilot's revocation list as a signed BitstringStatusListCredential (a JWT)."""
    encoded = await encoded_status_list(deps, pilot)
    document = credentials.status_list_credential(deps.issuer.places, pilot, encoded, deps.clock())
    return deps.issuer.sign(pilot, document)


REVOKED: Final = "the credential was revoked by its issuer"
NO_STATUS: Final = "the credential names no revocation status of its issuer"
UNKNOWN: Final = "no diploma with this id is held here (never made, or withdrawn)"


async def verify_credential(deps: Deps, token: str) -> Verdict:
    """Whether a credential is genuine (its pilot's issuer key signed it), unaltered, and
    not revoked in its pilot's status list; else the reason."""
    try:
        pilot, badge = deps.issuer.open(token)
    except CredentialRefused as refused:
        return Verdict(False, str(refused))
    issued = _facts(badge)
    status = credentials.status_of(badge)
    if status is None or status[0] != deps.issuer.places.status_list(pilot):
        return Verdict(False, NO_STATUS, **issued)
    try:
        revoked = credentials.is_set(await encoded_status_list(deps, pilot), status[1])
    except ValueError:
        return Verdict(False, NO_STATUS, **issued)
    return Verdict(False, REVOKED, **issued) if revoked else Verdict(True, None, **issued)


def _facts(badge: dict[str, Any]) -> dict[str, str | None]:
    issuer = badge.get("issuer")
    return {
        "credential_id": str(badge.get("id")),
        "issuer": str(issuer.get("name")) if isinstance(issuer, dict) else None,
        "valid_from": str(badge.get("validFrom")),
    }


async def check_diploma(deps: Deps, diploma_id: str) -> Verdict:
    """The public check a diploma's QR code opens: the verdict on its credential (naming
    no one), or why there is none."""
    diploma = await deps.diplomas.get(diploma_id)
    case = None if diploma is None else await deps.cases.get(diploma.case_id)
    if diploma is None or case is None or case.erased or case.child_first_name is None:
        return Verdict(False, UNKNOWN)
    if not case.consented(ConsentPurpose.DIPLOMA):
        return Verdict(False, REVOKED)
    sheet = diplomas.diploma_sheet(diploma, case.child_first_name)
    return await verify_credential(deps, await _signed(deps, diploma, sheet, NameShown.NONE))


# -- the family's links --


def diploma_path(diploma_id: str) -> str:
    return f"/diplomas/{diploma_id}.pdf"


async def issue_diploma_link(
    deps: Deps, diploma_id: str, access: Access
) -> tuple[DiplomaLink, str]:
    """A new signed link to the diploma's PDF (and its token), while the family shares the
    diploma; recorded so that it can be listed and revoked."""
    diploma, _ = await get_diploma(deps, diploma_id, access)
    case = await deps.cases.get(diploma.case_id)
    if case is None or not case.diploma_shared:
        raise DiplomaNotShared(
            f"diploma {diploma_id} is not shared: the case is closed or consent withdrawn"
        )
    link_id, token, expires = deps.sign_link(diploma_path(diploma_id), deps.link_seconds)
    link = DiplomaLink(
        link_id=link_id,
        diploma_id=diploma_id,
        case_id=diploma.case_id,
        pilot=diploma.pilot,
        issued_at=deps.clock(),
        expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
    )
    await deps.links.add(link)
    return link, token


async def check_link(deps: Deps, link_id: str) -> None:
    """Raises LinkRevoked unless the link is known here and not revoked (its signature and
    expiry were checked before)."""
    link = await deps.links.get(link_id)
    if link is None or link.revoked_at is not None:
        raise LinkRevoked("this link was revoked; ask the coach for a new one")


async def list_diploma_links(deps: Deps, diploma_id: str, access: Access) -> list[DiplomaLink]:
    diploma = await deps.diplomas.get(diploma_id)
    if diploma is None:
        raise UnknownDiploma(f"diploma {diploma_id} not found")
    access.check(diploma.pilot)
    return await deps.links.of_diploma(diploma_id)


async def revoke_link(deps: Deps, link_id: str, access: Access) -> DiplomaLink:
    """Revoke a link: from now on it opens nothing. Revoking twice changes nothing."""
    link = await deps.links.get(link_id)
    if link is None:
        raise UnknownLink(f"link {link_id} not found")
    access.check(link.pilot)
    revoked = link.revoked(deps.clock())
    if revoked is not link:
        await deps.links.put(revoked)
    return revoked


# -- questionnaires --


async def submit_questionnaire(
    deps: Deps, command: SubmitQuestionnaire, access: Access
) -> Questionnaire:
    """Band the score; stored with its questionnaire-submitted (the band, not the score)."""
    case = await _visible_case(deps, command.case_id, access)
    questionnaire = questionnaires.submit_questionnaire(
        case,
        deps.mint("questionnaire"),
        command.instrument,
        command.respondent,
        command.score,
        deps.clock(),
    )
    async with _while_open(deps, case.case_id):
        await deps.questionnaires.add(questionnaire)
    return questionnaire


async def list_questionnaires(deps: Deps, case_id: str, access: Access) -> list[Questionnaire]:
    case = await _visible_case(deps, case_id, access)
    return [] if case.erased else await deps.questionnaires.of_case(case_id)


# -- wellbeing measured from item responses --


async def measure_wellbeing(deps: Deps, command: MeasureWellbeing, access: Access) -> Measurement:
    """Score the item responses with the instrument's plug-in (422 when it is not switched
    on); stored with its questionnaire-submitted and wellbeing-measured (band and change)."""
    case = await _visible_case(deps, command.case_id, access)
    plugin = deps.instruments.plugin(command.instrument)
    measurement = wellbeing.measure(
        case,
        plugin,
        deps.mint("questionnaire"),
        command.respondent,
        command.occasion,
        command.responses,
        [] if case.erased else await deps.measurements.of_case(case.case_id),
        deps.clock(),
    )
    async with _while_open(deps, case.case_id):
        await deps.measurements.add(measurement)
    return measurement


async def list_measurements(deps: Deps, case_id: str, access: Access) -> list[Measurement]:
    case = await _visible_case(deps, case_id, access)
    return [] if case.erased else await deps.measurements.of_case(case_id)


async def wellbeing_progress(deps: Deps, case_id: str, access: Access) -> list[Progress]:
    """Change per instrument and respondent, baseline to latest."""
    return wellbeing.progress(await list_measurements(deps, case_id, access))
