"""Strengths and Difficulties Questionnaire (SDQ), a licensed plug-in: item ids only.

Scoring as published for the 4-17 years versions: 25 items answered 0 (not true), 1
(somewhat true) or 2 (certainly true); items 7, 11, 14, 21 and 25 are worded positively
and reverse-scored. Five subscales of five items each (0-10); the total difficulties score
(0-40) is the sum of the four problem subscales, without the prosocial one. Each score is
banded by the four-band scheme, whose cut-offs differ per respondent (parent, teacher,
self-report). No reliable-change rule is applied: the SDQ's own follow-up measure (the
"added value" score) needs more than two totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from vrac_contracts.values import Instrument, Respondent, WellbeingBand

from vrac_screening.domain.instruments.base import Item, Plugin, Scored, Subscale, numbered, total

SOURCE: Final = (
    "Strengths and Difficulties Questionnaire, Robert Goodman, Youth in Mind (sdqinfo.org). "
    "Copyrighted: used only by a pilot holding the licence; this platform ships no item text."
)

REVERSED: Final = frozenset({7, 11, 14, 21, 25})
ITEMS: Final = tuple(
    Item(item_id, 0, 2, reverse=n in REVERSED)
    for n, item_id in enumerate(numbered("q", 25), start=1)
)

EMOTIONAL, CONDUCT, HYPERACTIVITY, PEER, PROSOCIAL = (
    "emotional",
    "conduct",
    "hyperactivity",
    "peer",
    "prosocial",
)
_SUBSCALE_ITEMS: Final[dict[str, tuple[int, ...]]] = {
    EMOTIONAL: (3, 8, 13, 16, 24),
    CONDUCT: (5, 7, 12, 18, 22),
    HYPERACTIVITY: (2, 10, 15, 21, 25),
    PEER: (6, 11, 14, 19, 23),
    PROSOCIAL: (1, 4, 9, 17, 20),
}
PROBLEMS: Final = (EMOTIONAL, CONDUCT, HYPERACTIVITY, PEER)
TOTAL: Final = "total-difficulties"

# the four bands, from the expected end; the prosocial scale runs the other way
DIFFICULTY_BANDS: Final = ("close-to-average", "slightly-raised", "high", "very-high")
PROSOCIAL_BANDS: Final = ("close-to-average", "slightly-lowered", "low", "very-low")


@dataclass(frozen=True)
class Cuts:
    """The highest score of the first three bands (a problem scale), or the lowest score of
    them (the prosocial scale): the rest falls in the fourth."""

    edges: tuple[int, int, int]

    def problem(self, score: int) -> str:
        return next(
            (DIFFICULTY_BANDS[i] for i, edge in enumerate(self.edges) if score <= edge),
            DIFFICULTY_BANDS[3],
        )

    def prosocial(self, score: int) -> str:
        return next(
            (PROSOCIAL_BANDS[i] for i, edge in enumerate(self.edges) if score >= edge),
            PROSOCIAL_BANDS[3],
        )


# the published four-band cut-offs per respondent: guardian = parent-report SDQ
CUT_OFFS: Final[dict[Respondent, dict[str, Cuts]]] = {
    Respondent.GUARDIAN: {
        TOTAL: Cuts((13, 16, 19)),
        EMOTIONAL: Cuts((3, 4, 6)),
        CONDUCT: Cuts((2, 3, 5)),
        HYPERACTIVITY: Cuts((5, 7, 8)),
        PEER: Cuts((2, 3, 4)),
        PROSOCIAL: Cuts((8, 7, 6)),
    },
    Respondent.TEACHER: {
        TOTAL: Cuts((11, 15, 18)),
        EMOTIONAL: Cuts((3, 4, 5)),
        CONDUCT: Cuts((2, 3, 4)),
        HYPERACTIVITY: Cuts((5, 7, 8)),
        PEER: Cuts((2, 4, 5)),
        PROSOCIAL: Cuts((6, 5, 4)),
    },
    Respondent.CHILD: {  # self-report, 11-17 years
        TOTAL: Cuts((14, 17, 19)),
        EMOTIONAL: Cuts((4, 5, 6)),
        CONDUCT: Cuts((3, 4, 5)),
        HYPERACTIVITY: Cuts((5, 6, 7)),
        PEER: Cuts((2, 3, 4)),
        PROSOCIAL: Cuts((7, 6, 5)),
    },
}

# the total's band as a wellbeing band: close to average is the good end
_WELLBEING: Final = {
    "close-to-average": WellbeingBand.HIGH,
    "slightly-raised": WellbeingBand.MODERATE,
    "high": WellbeingBand.LOW,
    "very-high": WellbeingBand.LOW,
}


class Sdq(Plugin):
    instrument = Instrument.SDQ
    licensed = True
    source = SOURCE
    items = ITEMS
    respondents = frozenset(CUT_OFFS)
    value_name = TOTAL
    higher_is_better = False

    def scored(self, coded: Mapping[str, int], respondent: Respondent) -> Scored:
        cuts = CUT_OFFS[respondent]
        scores = {
            name: total(coded, tuple(f"q{n}" for n in numbers))
            for name, numbers in _SUBSCALE_ITEMS.items()
        }
        subscales = tuple(
            Subscale(
                name,
                score,
                cuts[name].prosocial(score) if name == PROSOCIAL else cuts[name].problem(score),
            )
            for name, score in scores.items()
        )
        difficulties = sum(scores[name] for name in PROBLEMS)
        category = cuts[TOTAL].problem(difficulties)
        return Scored(
            raw=difficulties,
            value=difficulties,
            band=_WELLBEING[category],
            category=category,
            subscales=subscales,
        )


SDQ: Final = Sdq()
