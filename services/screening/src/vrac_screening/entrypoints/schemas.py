"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StrictInt, StringConstraints
from vrac_contracts import values as vocab
from vrac_contracts.advice import AdviceCode, advice_text
from vrac_runtime.schemas import Attributes, Request
from vrac_runtime.values import from_attributes

from vrac_screening.domain.diploma import Diploma, DiplomaSheet
from vrac_screening.domain.instruments import Plugin
from vrac_screening.domain.links import DiplomaLink
from vrac_screening.domain.questionnaire import Questionnaire
from vrac_screening.domain.scores import DomainResult, Level, Rating
from vrac_screening.domain.screening import Screening
from vrac_screening.domain.wellbeing import Measurement, Progress


class ScoreIn(Request):
    domain: vocab.Domain = Field(description="The domain screened.")
    kind: vocab.ScoreKind = Field(description="percentile, standard-score or qualitative.")
    score: float | None = Field(
        None,
        strict=True,  # a number, not "88" or true
        description="For percentile (0-100) and standard-score (mean 100, SD 15; 40-160).",
    )
    rating: Rating | None = Field(None, description="For qualitative only.")

    def to_domain(self) -> DomainResult:
        return DomainResult(self.domain, self.kind, self.score, self.rating)


class ScreeningIn(Request):
    scores: list[ScoreIn] = Field(
        description="One result per domain screened.", min_length=1, max_length=len(vocab.Domain)
    )
    screened_on: dt.date | None = Field(
        None, description="The day the child was screened; default today (UTC)."
    )


class ScoreOut(Attributes):
    domain: vocab.Domain
    kind: vocab.ScoreKind
    score: float | None
    rating: Rating | None
    level: Level


class AdviceOut(BaseModel):
    code: AdviceCode
    audience: vocab.AdviceAudience
    rule: str = Field(description="The rule of the advice library that chose it.")
    text: str = Field(description="The advice in the requested language.")


class ScreeningOut(BaseModel):
    screening_id: str
    case_id: str
    pilot: vocab.Pilot
    language: vocab.Language = Field(description="The family's language when it was recorded.")
    screened_on: dt.date
    recorded_at: dt.datetime
    scores: list[ScoreOut]
    strengths: list[vocab.Domain]
    growth_areas: list[vocab.Domain]
    advice_language: vocab.Language = Field(description="The language of the advice texts.")
    advice: list[AdviceOut]

    @classmethod
    def of(cls, screening: Screening, language: vocab.Language | None = None) -> ScreeningOut:
        shown = language or screening.language
        return from_attributes(
            cls,
            screening,
            scores=[ScoreOut.of(r) for r in screening.results],
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
    domain: vocab.Domain
    label: str = Field(description="The strength, in the diploma's language.")
    reason: str = Field(description="Why that is great, in the diploma's language.")


class DiplomaOut(BaseModel):
    diploma_id: str
    screening_id: str
    case_id: str
    pilot: vocab.Pilot
    language: vocab.Language
    child_first_name: str
    title: str
    strengths: list[StrengthOut]
    place_and_date: str
    issued_on: dt.date
    issued_at: dt.datetime
    pdf_url: str = Field(description="Where the PDF is served (same token needed).")

    @classmethod
    def of(cls, diploma: Diploma, sheet: DiplomaSheet) -> DiplomaOut:
        return from_attributes(
            cls,
            diploma,
            child_first_name=sheet.child_first_name,
            title=sheet.title,
            strengths=[
                StrengthOut(domain=d, label=c.label, reason=c.reason)
                for d, c in zip(diploma.strengths, sheet.strengths, strict=True)
            ],
            place_and_date=sheet.place_and_date,
            pdf_url=f"/diplomas/{diploma.diploma_id}.pdf",
        )


class QuestionnaireIn(Request):
    instrument: vocab.Instrument = Field(description="The questionnaire instrument.")
    respondent: vocab.Respondent = Field(
        description="Who filled it in: child, guardian or teacher."
    )
    score: int = Field(
        strict=True, description="The total score (an integer) within the instrument's range."
    )


class QuestionnaireOut(BaseModel):
    questionnaire_id: str
    case_id: str
    pilot: vocab.Pilot
    instrument: vocab.Instrument
    respondent: vocab.Respondent
    score: int
    wellbeing_band: vocab.WellbeingBand
    submitted_at: dt.datetime

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> QuestionnaireOut:
        return from_attributes(cls, questionnaire, wellbeing_band=questionnaire.band)


ItemId = Annotated[str, StringConstraints(min_length=1, max_length=10)]


class MeasurementIn(Request):
    instrument: vocab.Instrument = Field(
        description="who-5, or a licensed instrument switched on for this platform."
    )
    respondent: vocab.Respondent = Field(description="Who filled it in.")
    occasion: vocab.Occasion = Field(description="baseline, follow-up or end.")
    responses: dict[ItemId, StrictInt] = Field(
        max_length=50,
        description="Every item's answer by item id (`q1` ...), as on the form; reverse-scored "
        "items are given as answered, the instrument turns them round.",
    )


class SubscaleOut(Attributes):
    name: str
    score: int
    category: str


class ResultOut(BaseModel):
    raw: int = Field(description="The raw score (for the SDQ: total difficulties).")
    value: int = Field(description="The score change is measured on (WHO-5: percentage).")
    band: vocab.WellbeingBand | None = Field(description="Null: no published cut-offs.")
    category: str | None = Field(description="The instrument's own category of the score.")
    subscales: list[SubscaleOut]


class MeasurementOut(BaseModel):
    questionnaire_id: str
    case_id: str
    pilot: vocab.Pilot
    instrument: vocab.Instrument
    respondent: vocab.Respondent
    occasion: vocab.Occasion
    responses: dict[str, int]
    result: ResultOut
    submitted_at: dt.datetime

    @classmethod
    def of(cls, m: Measurement) -> MeasurementOut:
        subscales = [SubscaleOut.of(s) for s in m.scored.subscales]
        result = from_attributes(ResultOut, m.scored, subscales=subscales)
        return from_attributes(cls, m, result=result, responses=dict(m.responses))


class PointOut(BaseModel):
    questionnaire_id: str
    occasion: vocab.Occasion
    submitted_at: dt.datetime
    value: int
    band: vocab.WellbeingBand | None

    @classmethod
    def of(cls, m: Measurement | None) -> PointOut | None:
        if m is None:
            return None
        return cls(
            questionnaire_id=m.questionnaire_id,
            occasion=m.occasion,
            submitted_at=m.submitted_at,
            value=m.scored.value,
            band=m.scored.band,
        )


class ProgressOut(BaseModel):
    instrument: vocab.Instrument
    respondent: vocab.Respondent
    value_name: str = Field(description="What `value` is: percentage, total-difficulties, sum.")
    higher_is_better: bool
    baseline: PointOut | None = Field(description="The first baseline; null: none yet.")
    latest: PointOut | None = Field(description="The newest follow-up or end after it.")
    difference: int | None = Field(description="latest minus baseline value.")
    change: vocab.WellbeingChange | None = Field(
        description="By the instrument's reliable-change rule; null without both points or "
        "for an instrument that defines no rule."
    )

    @classmethod
    def of(cls, p: Progress) -> ProgressOut:
        plugin = p.plugin
        return cls(
            instrument=p.instrument,
            respondent=p.respondent,
            value_name=plugin.value_name,
            higher_is_better=plugin.higher_is_better,
            baseline=PointOut.of(p.baseline),
            latest=PointOut.of(p.latest),
            difference=p.difference,
            change=p.change,
        )


class ItemOut(BaseModel):
    item_id: str
    lowest: int
    highest: int
    text: str | None = Field(description="Null for a licensed instrument: no text is shipped.")


class InstrumentOut(BaseModel):
    instrument: vocab.Instrument
    licensed: bool
    source: str = Field(description="Where the instrument comes from, on what terms.")
    respondents: list[vocab.Respondent]
    value_name: str
    higher_is_better: bool
    items: list[ItemOut]
    options: list[str] = Field(description="The answers' labels, lowest first, when shipped.")

    @classmethod
    def of(cls, plugin: Plugin, language: vocab.Language) -> InstrumentOut:
        return cls(
            instrument=plugin.instrument,
            licensed=plugin.licensed,
            source=plugin.source,
            respondents=sorted(plugin.respondents),
            value_name=plugin.value_name,
            higher_is_better=plugin.higher_is_better,
            items=[
                ItemOut(
                    item_id=i.item_id,
                    lowest=i.lowest,
                    highest=i.highest,
                    text=i.texts.get(language),
                )
                for i in plugin.items
            ],
            options=list(plugin.options.get(language, ())),
        )


class DiplomaLinkIn(Request):
    diploma_id: str = Field(
        min_length=1, max_length=100, description="The diploma the family's link opens."
    )


class IssuedLinkOut(BaseModel):
    """A new link: ``path?link=token`` opens the diploma until ``expires_at``."""

    link_id: str
    path: str
    token: str
    expires_at: dt.datetime


class DiplomaLinkOut(BaseModel):
    link_id: str
    diploma_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = Field(description="When it was revoked; null: it was not.")

    @classmethod
    def of(cls, link: DiplomaLink) -> DiplomaLinkOut:
        return from_attributes(cls, link)


class CredentialIn(Request):
    credential: str = Field(
        min_length=1,
        max_length=65_536,
        description="An OpenBadgeCredential as VC-JOSE (a compact JWT), as "
        "`GET /diplomas/{diploma_id}/credential` gives it.",
    )


class VerdictOut(Attributes):
    """Whether the credential is genuine, unaltered and not revoked; if not, why not."""

    verified: bool
    reason: str | None = Field(description="What failed; null when verified.")
    credential_id: str | None = None
    issuer: str | None = Field(None, description="The issuing pilot's name.")
    valid_from: str | None = None
