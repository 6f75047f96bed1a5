"""A screening of the child's talents and skills, and the event it records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from vrac_contracts.events.base import EventData
from vrac_contracts.events.screening import AdviceItem, FindingsRecorded, ScreeningCompletedV2
from vrac_contracts.values import ConsentPurpose, Domain, Language, Pilot
from vrac_runtime.aggregate import RecordsEvents

from vrac_screening.domain import scores
from vrac_screening.domain.advice_rules import AdviceChoice, Profile, choose_advice
from vrac_screening.domain.case import Case
from vrac_screening.domain.errors import InvalidInput
from vrac_screening.domain.scores import DomainResult


@dataclass(frozen=True)
class Screening(RecordsEvents):
    screening_id: str
    case_id: str
    pilot: Pilot
    language: Language
    results: tuple[DomainResult, ...]
    strengths: tuple[Domain, ...]
    growth_areas: tuple[Domain, ...]
    advice: tuple[AdviceChoice, ...]
    screened_on: dt.date
    recorded_at: dt.datetime
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)

    def record_completed(self) -> None:
        """Partners hear that it was done and which strengths it found; the growth areas,
        the advice and the family's language go only to the services that act on them."""
        self.record(
            ScreeningCompletedV2,
            self.recorded_at,
            screening_id=self.screening_id,
            strengths=list(self.strengths),
        )
        self.record(
            FindingsRecorded,
            self.recorded_at,
            screening_id=self.screening_id,
            language=self.language,
            strengths=list(self.strengths),
            growth_areas=list(self.growth_areas),
            advice=[AdviceItem(code=a.code, audience=a.audience) for a in self.advice],
        )


def record_screening(
    case: Case,
    screening_id: str,
    results: Sequence[DomainResult],
    screened_on: dt.date | None,
    now: dt.datetime,
) -> Screening:
    """Derive strengths, growth areas and advice; refuse without screening consent. The
    screening records its screening-completed and findings-recorded."""
    case.require(ConsentPurpose.SCREENING)
    scores.check_results(results)
    if screened_on is not None and screened_on > now.date():
        raise InvalidInput("screened_on", "cannot be in the future")
    strengths = scores.strengths(results)
    growth = scores.growth_areas(results)
    screening = Screening(
        screening_id=screening_id,
        case_id=case.case_id,
        pilot=case.pilot,
        language=case.family_language,
        results=tuple(results),
        strengths=tuple(strengths),
        growth_areas=tuple(growth),
        advice=tuple(choose_advice(Profile.of(strengths, growth))),
        screened_on=screened_on or now.date(),
        recorded_at=now,
    )
    screening.record_completed()
    return screening
