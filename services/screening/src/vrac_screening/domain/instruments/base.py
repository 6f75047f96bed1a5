"""What every instrument plug-in offers: its items, who may answer it, how it scores.

A plug-in takes the item-level responses as given on the form, checks them, codes them
(reverse-scored items turned round) and scores them by the instrument's own published rules.
Licensed instruments ship item ids only, never their item texts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from vrac_contracts.values import Instrument, Language, Respondent, WellbeingBand, WellbeingChange

from vrac_screening.domain.errors import InvalidInput

RESPONSES = "responses"


@dataclass(frozen=True)
class Item:
    """One item: its id, its response range and, for a free instrument, its text."""

    item_id: str
    lowest: int
    highest: int
    reverse: bool = False
    texts: Mapping[Language, str] = field(default_factory=dict)

    def coded(self, answer: int) -> int:
        """The answer as scored: a reverse-scored item counts from the other end."""
        return self.lowest + self.highest - answer if self.reverse else answer


@dataclass(frozen=True)
class Subscale:
    name: str
    score: int
    category: str


@dataclass(frozen=True)
class Scored:
    """A questionnaire's result. ``value`` is what change is measured on (for WHO-5 the
    percentage score); ``band`` is null when the instrument publishes no cut-offs."""

    raw: int
    value: int
    band: WellbeingBand | None
    category: str | None
    subscales: tuple[Subscale, ...] = ()


class Plugin(ABC):
    """An instrument: class attributes describe it, ``scored`` applies its scoring."""

    instrument: ClassVar[Instrument]
    licensed: ClassVar[bool]
    # where the instrument comes from, and on what terms it is used
    source: ClassVar[str]
    items: ClassVar[tuple[Item, ...]]
    respondents: ClassVar[frozenset[Respondent]]
    # what ``Scored.value`` is, and which way is better
    value_name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    # the response options' labels, lowest first, for an instrument that ships its texts
    options: ClassVar[Mapping[Language, tuple[str, ...]]] = {}

    def score(self, responses: Mapping[str, int], respondent: Respondent) -> Scored:
        """Check every response (422 naming ``responses.<item>``), then score them."""
        if respondent not in self.respondents:
            raise InvalidInput("respondent", f"{self.instrument} is not answered by a {respondent}")
        self._check(responses)
        coded = {item.item_id: item.coded(responses[item.item_id]) for item in self.items}
        return self.scored(coded, respondent)

    def _check(self, responses: Mapping[str, int]) -> None:
        known = {item.item_id for item in self.items}
        for item_id in responses:
            if item_id not in known:
                raise InvalidInput(f"{RESPONSES}.{item_id}", f"not an item of {self.instrument}")
        for item in self.items:
            answer = responses.get(item.item_id)
            if answer is None:
                raise InvalidInput(f"{RESPONSES}.{item.item_id}", "every item needs an answer")
            if not item.lowest <= answer <= item.highest:
                raise InvalidInput(
                    f"{RESPONSES}.{item.item_id}",
                    f"must be between {item.lowest} and {item.highest}",
                )

    @abstractmethod
    def scored(self, coded: Mapping[str, int], respondent: Respondent) -> Scored:
        """The result from the coded answers, every item present and in range."""

    def change(self, baseline: Scored, latest: Scored) -> WellbeingChange | None:
        """Reliable change from the baseline; None for an instrument that defines none."""
        return None


def total(coded: Mapping[str, int], item_ids: tuple[str, ...]) -> int:
    return sum(coded[item_id] for item_id in item_ids)


def numbered(prefix: str, count: int) -> tuple[str, ...]:
    """Item ids ``q1`` .. ``q<count>``, in the form's order."""
    return tuple(f"{prefix}{n}" for n in range(1, count + 1))
