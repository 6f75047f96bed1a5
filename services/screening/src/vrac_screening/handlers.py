"""One function per command or event: load, let the domain decide, store state and events."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from vrac_contracts.ids import new_id
from vrac_contracts.values import (
    CloseReason,
    ConsentPurpose,
    Instrument,
    Language,
    Pilot,
    Respondent,
)

from vrac_screening.adapters.store import ScreeningStore
from vrac_screening.domain import diploma as diplomas
from vrac_screening.domain import questionnaire as questionnaires
from vrac_screening.domain import screening as screenings
from vrac_screening.domain.case import Case, Consent
from vrac_screening.domain.diploma import Diploma, DiplomaSheet, ScreeningOutcome
from vrac_screening.domain.errors import (
    ChildNotKnownYet,
    ScreeningError,
    UnknownCase,
    UnknownDiploma,
    UnknownScreening,
)
from vrac_screening.domain.questionnaire import Questionnaire
from vrac_screening.domain.scores import DomainResult
from vrac_screening.domain.screening import Screening

Clock = Callable[[], dt.datetime]
Renderer = Callable[[DiplomaSheet, dt.datetime], bytes]


def utc_now() -> dt.datetime:
    """Now, in UTC, to the millisecond: what the store keeps is what the event says."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Access(Protocol):
    """Who is asking: raises when they may not see this pilot's cases."""

    def check(self, pilot: str) -> None: ...


class ErasureNotFinished(ScreeningError):
    """Some of the case's records still wait for their events to be sent; try again."""


# -- intake's events --


@dataclass(frozen=True)
class CaseOpenedFact:
    case_id: str
    pilot: Pilot
    programme: str


@dataclass(frozen=True)
class FamilyFact:
    case_id: str
    pilot: Pilot
    child_first_name: str
    language: Language


@dataclass(frozen=True)
class ConsentFact:
    case_id: str
    pilot: Pilot
    key: str
    purpose: ConsentPurpose
    granted: bool
    changed_at: dt.datetime


@dataclass(frozen=True)
class CaseClosedFact:
    case_id: str
    pilot: Pilot
    reason: CloseReason


async def record_case_opened(store: ScreeningStore, fact: CaseOpenedFact) -> None:
    await store.record_case_opened(fact.case_id, fact.pilot, fact.programme)


async def record_family(store: ScreeningStore, fact: FamilyFact, now: Clock = utc_now) -> None:
    await store.record_family(fact.case_id, fact.pilot, fact.child_first_name, fact.language)
    # a diploma that waited for the child's name can be made now
    await make_missing_diplomas(store, fact.case_id, now)


async def record_consent(store: ScreeningStore, fact: ConsentFact, now: Clock = utc_now) -> None:
    consent = Consent(granted=fact.granted, changed_at=fact.changed_at)
    await store.record_consent(fact.case_id, fact.pilot, fact.key, consent)
    if fact.purpose is ConsentPurpose.DIPLOMA and fact.granted:
        # consent given after the screening: its diploma is made now
        await make_missing_diplomas(store, fact.case_id, now)


async def record_case_closed(store: ScreeningStore, fact: CaseClosedFact) -> None:
    await store.record_case_closed(fact.case_id, fact.pilot, fact.reason)
    if fact.reason is CloseReason.ERASURE_REQUESTED:
        pending = await store.erase_case(fact.case_id)
        if pending:
            raise ErasureNotFinished(f"{pending} records of {fact.case_id} still sending events")


# -- screenings --


async def _visible_case(store: ScreeningStore, case_id: str, access: Access) -> Case:
    case = await store.get_case(case_id)
    if case is None or not case.opened:
        raise UnknownCase(f"case {case_id} not found")
    access.check(case.pilot)
    return case


async def record_screening(
    store: ScreeningStore,
    case_id: str,
    results: Sequence[DomainResult],
    screened_on: dt.date | None,
    access: Access,
    now: Clock = utc_now,
) -> Screening:
    case = await _visible_case(store, case_id, access)
    screening, event = screenings.record_screening(
        case, new_id("screening"), results, screened_on, now()
    )
    await store.insert_screening(screening, event)
    return screening


async def get_screening(store: ScreeningStore, screening_id: str, access: Access) -> Screening:
    screening = await store.get_screening(screening_id)
    if screening is None:
        raise UnknownScreening(f"screening {screening_id} not found")
    access.check(screening.pilot)
    return screening


async def screenings_of_case(
    store: ScreeningStore, case_id: str, access: Access
) -> list[Screening]:
    await _visible_case(store, case_id, access)
    return await store.screenings_of_case(case_id)


# -- diplomas --


async def make_diploma(
    store: ScreeningStore, outcome: ScreeningOutcome, now: Clock = utc_now
) -> Diploma | None:
    """The diploma maker's reaction to a completed screening (raises ChildNotKnownYet,
    which the consumer retries)."""
    made = diplomas.make_diploma(await store.get_case(outcome.case_id), outcome, now())
    if made is None:
        return None
    diploma, event = made
    await store.insert_diploma(diploma, event)
    return diploma


async def make_missing_diplomas(
    store: ScreeningStore, case_id: str, now: Clock = utc_now
) -> list[Diploma]:
    """Make the diplomas of the case's screenings that can have one now; a screening whose
    diploma still waits for something is left for the next trigger."""
    made: list[Diploma] = []
    for screening in await store.screenings_of_case(case_id):
        outcome = ScreeningOutcome(
            screening.screening_id, screening.case_id, screening.pilot, screening.strengths
        )
        if await store.get_diploma(diplomas.diploma_id_for(screening.screening_id)):
            continue
        try:
            diploma = await make_diploma(store, outcome, now)
        except ChildNotKnownYet:
            return made
        if diploma is not None:
            made.append(diploma)
    return made


async def diplomas_of_case(store: ScreeningStore, case_id: str, access: Access) -> list[Diploma]:
    await _visible_case(store, case_id, access)
    return await store.diplomas_of_case(case_id)


async def get_diploma(
    store: ScreeningStore, diploma_id: str, access: Access
) -> tuple[Diploma, DiplomaSheet]:
    """The diploma and its printed words (the child's name comes from the case)."""
    diploma = await store.get_diploma(diploma_id)
    case = None if diploma is None else await store.get_case(diploma.case_id)
    if diploma is None or case is None or case.erased:
        raise UnknownDiploma(f"diploma {diploma_id} not found")
    access.check(diploma.pilot)
    if case.child_first_name is None:
        raise ChildNotKnownYet(f"the family of case {case.case_id} is not registered yet")
    return diploma, diplomas.diploma_sheet(diploma, case.child_first_name)


async def diploma_pdf(
    store: ScreeningStore, diploma_id: str, access: Access, render: Renderer
) -> bytes:
    """The PDF, rendered on first download and kept for the next ones."""
    diploma, sheet = await get_diploma(store, diploma_id, access)
    cached = await store.cached_pdf(diploma_id)
    if cached is not None:
        return cached
    pdf = await asyncio.to_thread(render, sheet, diploma.issued_at)
    await store.cache_pdf(diploma, pdf, utc_now())
    case = await store.get_case(diploma.case_id)
    if case is None or case.erased:
        # erased while we rendered: keep nothing
        await store.drop_pdf(diploma_id)
        raise UnknownDiploma(f"diploma {diploma_id} not found")
    return pdf


# -- questionnaires --


async def submit_questionnaire(
    store: ScreeningStore,
    case_id: str,
    instrument: Instrument,
    respondent: Respondent,
    score: int,
    access: Access,
    now: Clock = utc_now,
) -> Questionnaire:
    case = await _visible_case(store, case_id, access)
    questionnaire, event = questionnaires.submit_questionnaire(
        case, new_id("questionnaire"), instrument, respondent, score, now()
    )
    await store.insert_questionnaire(questionnaire, event)
    return questionnaire


async def questionnaires_of_case(
    store: ScreeningStore, case_id: str, access: Access
) -> list[Questionnaire]:
    await _visible_case(store, case_id, access)
    return await store.questionnaires_of_case(case_id)
