"""Wellbeing questionnaires: a total score on the instrument's scale -> a wellbeing band.

Only the instrument and who answered leave this service; the score and its band stay here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

from vrac_contracts.events.base import EventData
from vrac_contracts.events.screening import QuestionnaireSubmittedV2
from vrac_contracts.values import ConsentPurpose, Instrument, Pilot, Respondent, WellbeingBand
from vrac_runtime.aggregate import RecordsEvents
from vrac_runtime.values import check_between

from vrac_screening.domain.case import Case
from vrac_screening.domain.errors import InvalidInput


@dataclass(frozen=True)
class Band:
    """An inclusive range of total scores and the wellbeing band it means."""

    lowest: int
    highest: int
    band: WellbeingBand


@dataclass(frozen=True)
class Scale:
    """An instrument's bands, covering its whole range without gaps."""

    bands: tuple[Band, ...]

    @property
    def minimum(self) -> int:
        return min(b.lowest for b in self.bands)

    @property
    def maximum(self) -> int:
        return max(b.highest for b in self.bands)

    def band(self, score: int) -> WellbeingBand:
        check_between("score", score, self.minimum, self.maximum, error=InvalidInput)
        # the bands cover the whole range, so one holds the score
        return next(b.band for b in self.bands if b.lowest <= score <= b.highest)


LOW, MODERATE, HIGH = WellbeingBand.LOW, WellbeingBand.MODERATE, WellbeingBand.HIGH
_PERCENT = Scale((Band(0, 39, LOW), Band(40, 69, MODERATE), Band(70, 100, HIGH)))

SCALES: Final[dict[Instrument, Scale]] = {
    # 10 items scored 1-5: a higher total is better wellbeing
    Instrument.KIDSCREEN_10: Scale((Band(10, 29, LOW), Band(30, 39, MODERATE), Band(40, 50, HIGH))),
    # total difficulties 0-40: close to average 0-13, slightly raised 14-16, high 17 and up
    Instrument.SDQ: Scale((Band(0, 13, HIGH), Band(14, 16, MODERATE), Band(17, 40, LOW))),
    # the project's own 0-100 scales, child and parent versions
    Instrument.VRAC_WELLBEING_CHILD: _PERCENT,
    Instrument.VRAC_WELLBEING_PARENT: _PERCENT,
}


class FilledIn(RecordsEvents):
    """Mixin for a filled-in questionnaire: it tells partners that it was, and no more."""

    questionnaire_id: str
    instrument: Instrument
    respondent: Respondent
    submitted_at: dt.datetime

    def record_submitted(self) -> None:
        # the result is a fact about one child: it stays here
        self.record(
            QuestionnaireSubmittedV2,
            self.submitted_at,
            questionnaire_id=self.questionnaire_id,
            instrument=self.instrument,
            respondent=self.respondent,
        )


@dataclass(frozen=True)
class Questionnaire(FilledIn):
    questionnaire_id: str
    case_id: str
    pilot: Pilot
    instrument: Instrument
    respondent: Respondent
    score: int
    band: WellbeingBand
    submitted_at: dt.datetime
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)


def submit_questionnaire(
    case: Case,
    questionnaire_id: str,
    instrument: Instrument,
    respondent: Respondent,
    score: int,
    now: dt.datetime,
) -> Questionnaire:
    """Band the score; refuse without questionnaires consent or outside the scale. The
    questionnaire records its questionnaire-submitted."""
    case.require(ConsentPurpose.QUESTIONNAIRES)
    scale = SCALES.get(instrument)
    if scale is None:
        raise InvalidInput("instrument", f"{instrument} is scored from its item responses")
    band = scale.band(score)
    questionnaire = Questionnaire(
        questionnaire_id=questionnaire_id,
        case_id=case.case_id,
        pilot=case.pilot,
        instrument=instrument,
        respondent=respondent,
        score=score,
        band=band,
        submitted_at=now,
    )
    questionnaire.record_submitted()
    return questionnaire
