"""Screening results per domain and the rules that make them a strength or a growth area.

A result is either a number with its kind (a percentile 0-100, or a standard score on the
mean-100, SD-15 scale) or a qualitative rating. The thresholds sit one standard deviation
apart around the mean, the same on both numeric scales: percentile 75 is about standard
score 110, percentile 25 about standard score 90.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from vrac_contracts.values import Domain, ScoreKind

from vrac_screening.domain.errors import InvalidInput

PERCENTILE_STRENGTH: Final = 75.0
PERCENTILE_GROWTH: Final = 25.0
STANDARD_STRENGTH: Final = 110.0
STANDARD_GROWTH: Final = 90.0
# a standard score outside four SDs of the mean is a typing error, not a result
STANDARD_MIN: Final = 40.0
STANDARD_MAX: Final = 160.0


class Rating(StrEnum):
    """A qualitative judgement, for domains screened without a normed test."""

    WELL_BELOW = "well-below"
    BELOW = "below"
    AVERAGE = "average"
    ABOVE = "above"
    WELL_ABOVE = "well-above"


class Level(StrEnum):
    """What a result means for the child."""

    STRENGTH = "strength"
    TYPICAL = "typical"
    GROWTH_AREA = "growth-area"


_RATING_LEVEL: Final = {
    Rating.WELL_BELOW: Level.GROWTH_AREA,
    Rating.BELOW: Level.GROWTH_AREA,
    Rating.AVERAGE: Level.TYPICAL,
    Rating.ABOVE: Level.STRENGTH,
    Rating.WELL_ABOVE: Level.STRENGTH,
}


@dataclass(frozen=True)
class DomainResult:
    """One domain's result: ``score`` for the numeric kinds, ``rating`` for qualitative."""

    domain: Domain
    kind: ScoreKind
    score: float | None = None
    rating: Rating | None = None

    @property
    def level(self) -> Level:
        if self.kind is ScoreKind.QUALITATIVE:
            assert self.rating is not None
            return _RATING_LEVEL[self.rating]
        assert self.score is not None
        high, low = (
            (PERCENTILE_STRENGTH, PERCENTILE_GROWTH)
            if self.kind is ScoreKind.PERCENTILE
            else (STANDARD_STRENGTH, STANDARD_GROWTH)
        )
        if self.score >= high:
            return Level.STRENGTH
        if self.score <= low:
            return Level.GROWTH_AREA
        return Level.TYPICAL


def _check_one(index: int, result: DomainResult) -> None:
    where = f"scores.{index}"
    if result.kind is ScoreKind.QUALITATIVE:
        if result.rating is None:
            raise InvalidInput(f"{where}.rating", "required when kind is qualitative")
        if result.score is not None:
            raise InvalidInput(f"{where}.score", "not allowed when kind is qualitative")
        return
    if result.score is None:
        raise InvalidInput(f"{where}.score", f"required when kind is {result.kind}")
    if result.rating is not None:
        raise InvalidInput(f"{where}.rating", "only for kind qualitative")
    low, high = (
        (0.0, 100.0)
        if result.kind is ScoreKind.PERCENTILE
        else (
            STANDARD_MIN,
            STANDARD_MAX,
        )
    )
    if not low <= result.score <= high:
        raise InvalidInput(
            f"{where}.score", f"a {result.kind} must be between {low:g} and {high:g}"
        )


def check_results(results: Sequence[DomainResult]) -> None:
    """Raise InvalidInput naming the first field that breaks a rule."""
    if not results:
        raise InvalidInput("scores", "at least one domain is needed")
    seen: set[Domain] = set()
    for index, result in enumerate(results):
        _check_one(index, result)
        if result.domain in seen:
            raise InvalidInput(f"scores.{index}.domain", f"{result.domain} is given twice")
        seen.add(result.domain)


def strengths(results: Sequence[DomainResult]) -> list[Domain]:
    return [r.domain for r in results if r.level is Level.STRENGTH]


def growth_areas(results: Sequence[DomainResult]) -> list[Domain]:
    return [r.domain for r in results if r.level is Level.GROWTH_AREA]
