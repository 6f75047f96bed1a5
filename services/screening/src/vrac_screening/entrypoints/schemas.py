"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field
from vrac_contracts.advice import AdviceCode, advice_text
from vrac_contracts.values import (
    AdviceAudience,
    Domain,
    Instrument,
    Language,
    Pilot,
    Respondent,
    ScoreKind,
    WellbeingBand,
)

from vrac_screening.domain.diploma import Diploma, DiplomaSheet
from vrac_screening.domain.questionnaire import Questionnaire
from vrac_screening.domain.scores import DomainResult, Level, Rating
from vrac_screening.domain.screening import Screening


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreIn(_In):
    domain: Domain = Field(description="The domain screened.")
    kind: ScoreKind = Field(description="percentile, standard-score or qualitative.")
    score: float | None = Field(
        None,
        strict=True,  # a number, not "88" or true
        description="For percentile (0-100) and standard-score (mean 100, SD 15; 40-160).",
    )
    rating: Rating | None = Field(None, description="For qualitative only.")

    def to_domain(self) -> DomainResult:
        return DomainResult(self.domain, self.kind, self.score, self.rating)


class ScreeningIn(_In):
    scores: list[ScoreIn] = Field(
        description="One result per domain screened.", min_length=1, max_length=len(Domain)
    )
    screened_on: dt.date | None = Field(
        None, description="The day the child was screened; default today (UTC)."
    )


class ScoreOut(BaseModel):
    domain: Domain
    kind: ScoreKind
    score: float | None
    rating: Rating | None
    level: Level

    @classmethod
    def of(cls, result: DomainResult) -> ScoreOut:
        return cls(
            domain=result.domain,
            kind=result.kind,
            score=result.score,
            rating=result.rating,
            level=result.level,
        )


class AdviceOut(BaseModel):
    code: AdviceCode
    audience: AdviceAudience
    rule: str = Field(description="The rule of the advice library that chose it.")
    text: str = Field(description="The advice in the requested language.")


class ScreeningOut(BaseModel):
    screening_id: str
    case_id: str
    pilot: Pilot
    language: Language = Field(description="The family's language when it was recorded.")
    screened_on: dt.date
    recorded_at: dt.datetime
    scores: list[ScoreOut]
    strengths: list[Domain]
    growth_areas: list[Domain]
    advice_language: Language = Field(description="The language of the advice texts.")
    advice: list[AdviceOut]

    @classmethod
    def of(cls, screening: Screening, language: Language | None = None) -> ScreeningOut:
        shown = language or screening.language
        return cls(
            screening_id=screening.screening_id,
            case_id=screening.case_id,
            pilot=screening.pilot,
            language=screening.language,
            screened_on=screening.screened_on,
            recorded_at=screening.recorded_at,
            scores=[ScoreOut.of(r) for r in screening.results],
            strengths=list(screening.strengths),
            growth_areas=list(screening.growth_areas),
            advice_language=shown,
            advice=[
                AdviceOut(
                    code=a.code,
                    audience=a.audience,
                    rule=a.rule_id,
                    text=advice_text(a.code, shown),
                )
                for a in screening.advice
            ],
        )


class StrengthOut(BaseModel):
    domain: Domain
    label: str = Field(description="The strength, in the diploma's language.")
    reason: str = Field(description="Why that is great, in the diploma's language.")


class DiplomaOut(BaseModel):
    diploma_id: str
    screening_id: str
    case_id: str
    pilot: Pilot
    language: Language
    child_first_name: str
    title: str
    strengths: list[StrengthOut]
    place_and_date: str
    issued_on: dt.date
    issued_at: dt.datetime
    pdf_url: str = Field(description="Where the PDF is served (same token needed).")

    @classmethod
    def of(cls, diploma: Diploma, sheet: DiplomaSheet) -> DiplomaOut:
        return cls(
            diploma_id=diploma.diploma_id,
            screening_id=diploma.screening_id,
            case_id=diploma.case_id,
            pilot=diploma.pilot,
            language=diploma.language,
            child_first_name=sheet.child_first_name,
            title=sheet.title,
            strengths=[
                StrengthOut(domain=d, label=c.label, reason=c.reason)
                for d, c in zip(diploma.strengths, sheet.strengths, strict=True)
            ],
            place_and_date=sheet.place_and_date,
            issued_on=diploma.issued_on,
            issued_at=diploma.issued_at,
            pdf_url=f"/diplomas/{diploma.diploma_id}.pdf",
        )


class QuestionnaireIn(_In):
    instrument: Instrument = Field(description="The questionnaire instrument.")
    respondent: Respondent = Field(description="Who filled it in: child, guardian or teacher.")
    score: int = Field(
        strict=True, description="The total score (an integer) within the instrument's range."
    )


class QuestionnaireOut(BaseModel):
    questionnaire_id: str
    case_id: str
    pilot: Pilot
    instrument: Instrument
    respondent: Respondent
    score: int
    wellbeing_band: WellbeingBand
    submitted_at: dt.datetime

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> QuestionnaireOut:
        return cls(
            questionnaire_id=questionnaire.questionnaire_id,
            case_id=questionnaire.case_id,
            pilot=questionnaire.pilot,
            instrument=questionnaire.instrument,
            respondent=questionnaire.respondent,
            score=questionnaire.score,
            wellbeing_band=questionnaire.band,
            submitted_at=questionnaire.submitted_at,
        )
