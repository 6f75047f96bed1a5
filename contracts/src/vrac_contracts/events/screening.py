"""Events published by the screening service (and its diploma maker)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ..advice import AdviceCode
from ..fields import described
from ..ids import DiplomaId, QuestionnaireId, ScreeningId
from ..values import (
    AdviceAudience,
    Domain,
    Instrument,
    Language,
    Occasion,
    Respondent,
    WellbeingBand,
    WellbeingChange,
)
from .base import EventData


class AdviceItem(BaseModel):
    """One piece of advice, as a code from the advice library."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: AdviceCode = described("Advice library code; the text is in `vrac_contracts.advice`.")
    audience: AdviceAudience = described("Who the advice is for.")


class ScreeningCompleted(EventData):
    """A screening of the child's talents and skills was completed and advice chosen."""

    screening_id: ScreeningId = described("Id of the screening.")
    language: Language = described("The family's language, for the diploma and advice.")
    strengths: list[Domain] = described(
        "Domains where the child scored well: its talents.", max_length=len(Domain)
    )
    growth_areas: list[Domain] = described(
        "Domains where the child needs support.", max_length=len(Domain)
    )
    advice: list[AdviceItem] = described(
        "Advice for school, parents and child.", max_length=len(AdviceCode)
    )


class ScreeningCompletedV2(EventData):
    """A screening was completed; what it found about the child is not said."""

    screening_id: ScreeningId = described("Id of the screening.")
    strengths: list[Domain] = described(
        "Domains where the child scored well: its talents.", max_length=len(Domain)
    )


class FindingsRecorded(ScreeningCompleted):
    """What a completed screening found: strengths, growth areas and advice (internal: facts
    about one child, for the services that act on them)."""


class DiplomaIssued(EventData):
    """A diploma naming the child's strengths was made from a screening."""

    diploma_id: DiplomaId = described(
        "Id of the diploma; derived from the screening id, so it is the same on a re-run."
    )
    screening_id: ScreeningId = described("The screening the diploma was made from.")
    language: Language = described("The language the diploma is written in.")
    strengths: list[Domain] = described(
        "The strengths the diploma celebrates.", min_length=1, max_length=len(Domain)
    )


class QuestionnaireSubmitted(EventData):
    """A wellbeing questionnaire was filled in."""

    questionnaire_id: QuestionnaireId = described("Id of the filled-in questionnaire.")
    instrument: Instrument = described("Which questionnaire instrument was used.")
    wellbeing_band: WellbeingBand = described("The band the total score falls into.")
    respondent: Respondent | None = described(
        "Who filled in the questionnaire, when known.", default=None
    )


class QuestionnaireSubmittedV2(EventData):
    """A wellbeing questionnaire was filled in; its result is not said."""

    questionnaire_id: QuestionnaireId = described("Id of the filled-in questionnaire.")
    instrument: Instrument = described("Which questionnaire instrument was used.")
    respondent: Respondent | None = described(
        "Who filled in the questionnaire, when known.", default=None
    )


class WellbeingMeasured(EventData):
    """A questionnaire was scored from its item responses: its outcome band and the change
    since the child's baseline (internal: a wellbeing result is a fact about one child)."""

    questionnaire_id: QuestionnaireId = described("Id of the filled-in questionnaire.")
    instrument: Instrument = described("Which questionnaire instrument was used.")
    respondent: Respondent = described("Who filled in the questionnaire.")
    occasion: Occasion = described("The measurement occasion: baseline, follow-up or end.")
    wellbeing_band: WellbeingBand | None = described(
        "The outcome band of the score; null for an instrument without published cut-offs.",
        default=None,
    )
    change: WellbeingChange | None = described(
        "Change from the baseline of the same instrument and respondent by the instrument's "
        "reliable-change rule; null at baseline, without a baseline, or for an instrument "
        "that defines no such rule.",
        default=None,
    )
