"""The diploma: what the child is good at and why that is great, in the family's language.

One diploma per screening, with an id derived from the screening id, so making it again (a
redelivered event, or a second trigger) names the same diploma and stores nothing new.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from vrac_contracts.events.base import EventData
from vrac_contracts.events.screening import DiplomaIssued
from vrac_contracts.ids import derived_id
from vrac_contracts.values import ConsentPurpose, Domain, Language, Pilot
from vrac_contracts.wording import long_date
from vrac_runtime.aggregate import RecordsEvents

from vrac_screening.domain.case import Case
from vrac_screening.domain.errors import ChildNotKnownYet
from vrac_screening.domain.wording import PHRASES, PILOT_NAMES, praise


def diploma_id_for(screening_id: str) -> str:
    return derived_id("diploma", screening_id)


@dataclass(frozen=True)
class ScreeningOutcome:
    """What the diploma maker needs of a completed screening."""

    screening_id: str
    case_id: str
    pilot: Pilot
    strengths: tuple[Domain, ...]


@dataclass(frozen=True)
class Diploma(RecordsEvents):
    diploma_id: str
    screening_id: str
    case_id: str
    pilot: Pilot
    language: Language
    strengths: tuple[Domain, ...]
    issued_at: dt.datetime
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)

    @property
    def issued_on(self) -> dt.date:
        return self.issued_at.date()

    def record_issued(self) -> None:
        self.record(
            DiplomaIssued,
            self.issued_at,
            diploma_id=self.diploma_id,
            screening_id=self.screening_id,
            language=self.language,
            strengths=list(self.strengths),
        )


def make_diploma(case: Case | None, outcome: ScreeningOutcome, now: dt.datetime) -> Diploma | None:
    """The diploma of a screening (recording its diploma-issued), or None when there is to
    be none.

    None without the parents' diploma consent, for an erased case, or when the screening
    found no strength to celebrate. Raises ChildNotKnownYet while the family's details
    (the child's name, the family's language) have not arrived: a retry can succeed.
    """
    if case is None or case.erased or not case.consented(ConsentPurpose.DIPLOMA):
        return None
    if not outcome.strengths:
        return None
    if case.child_first_name is None or case.language is None:
        raise ChildNotKnownYet(f"the family of case {case.case_id} is not registered yet")
    diploma = Diploma(
        diploma_id=diploma_id_for(outcome.screening_id),
        screening_id=outcome.screening_id,
        case_id=outcome.case_id,
        pilot=outcome.pilot,
        language=case.language,
        strengths=outcome.strengths,
        issued_at=now,
    )
    diploma.record_issued()
    return diploma


@dataclass(frozen=True)
class Celebrated:
    label: str
    reason: str


@dataclass(frozen=True)
class DiplomaSheet:
    """Every line printed on a diploma, already in its language."""

    language: Language
    title: str
    given_to: str
    child_first_name: str
    because: str
    strengths: tuple[Celebrated, ...]
    place_and_date: str
    cheer: str
    signed: str
    check_hint: str
    # the public check of the diploma's credential, printed as a QR code; none: no QR code
    check_url: str = ""


def diploma_sheet(diploma: Diploma, child_first_name: str) -> DiplomaSheet:
    language = diploma.language
    words = PHRASES[language]
    pilot = PILOT_NAMES[diploma.pilot]
    return DiplomaSheet(
        language=language,
        title=words.title,
        given_to=words.given_to,
        child_first_name=child_first_name,
        because=words.because,
        strengths=tuple(
            Celebrated(praise(d, language).label, praise(d, language).reason)
            for d in diploma.strengths
        ),
        place_and_date=f"{pilot}, {long_date(diploma.issued_on, language)}",
        cheer=words.cheer,
        signed=words.signed.format(pilot=pilot),
        check_hint=words.check,
    )
