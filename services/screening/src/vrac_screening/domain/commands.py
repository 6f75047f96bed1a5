"""What screening is asked to do: by a coach over HTTP, or by intake's events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vrac_contracts.values import (
    Instrument,
    Language,
    Occasion,
    Pilot,
    Respondent,
)

from vrac_screening.domain.scores import DomainResult


@dataclass(frozen=True)
class RecordScreening:
    case_id: str
    results: Sequence[DomainResult]
    screened_on: dt.date | None = None


@dataclass(frozen=True)
class SubmitQuestionnaire:
    case_id: str
    instrument: Instrument
    respondent: Respondent
    score: int


@dataclass(frozen=True)
class MeasureWellbeing:
    case_id: str
    instrument: Instrument
    respondent: Respondent
    occasion: Occasion
    responses: Mapping[str, int]


# -- from intake's events --


@dataclass(frozen=True)
class KeepFamily:
    case_id: str
    pilot: Pilot
    child_first_name: str
    language: Language
