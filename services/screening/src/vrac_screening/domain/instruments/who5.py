"""WHO-5 Well-Being Index: five items on the last two weeks, each answered 0 (at no time)
to 5 (all of the time).

Scoring as published: the raw score is the sum (0-25); multiplied by 4 it is the
percentage score (0-100), the one used for cut-offs and change. A percentage of 50 or less
means poor wellbeing, 28 or less is the screening threshold for a likely depression (both
call for a closer look); a difference of 10 percentage points is the published clinically
relevant (minimal) change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from vrac_contracts.values import Instrument, Language, Respondent, WellbeingBand, WellbeingChange

from vrac_screening.domain.instruments.base import Item, Plugin, Scored, total

NL, FR, EN = Language.NL, Language.FR, Language.EN

SOURCE: Final = (
    "WHO-5 Well-Being Index, World Health Organization Regional Office for Europe (1998), "
    "maintained by the Psychiatric Research Unit, Mental Health Centre North Zealand, "
    "Denmark. Free to use; the items are shown as published, with this attribution."
)

_TEXTS: Final[tuple[dict[Language, str], ...]] = (
    {
        EN: "I have felt cheerful and in good spirits",
        NL: "Ik voelde me opgewekt en goedgehumeurd",
        FR: "Je me suis senti(e) bien et de bonne humeur",
    },
    {
        EN: "I have felt calm and relaxed",
        NL: "Ik voelde me rustig en ontspannen",
        FR: "Je me suis senti(e) calme et tranquille",
    },
    {
        EN: "I have felt active and vigorous",
        NL: "Ik voelde me actief en energiek",
        FR: "Je me suis senti(e) plein(e) d'énergie et vigoureux(se)",
    },
    {
        EN: "I woke up feeling fresh and rested",
        NL: "Ik voelde me fris en uitgerust als ik wakker werd",
        FR: "Je me suis réveillé(e) en me sentant frais/fraîche et dispos(e)",
    },
    {
        EN: "My daily life has been filled with things that interest me",
        NL: "Mijn dagelijks leven was gevuld met dingen die mij interesseren",
        FR: "Ma vie quotidienne a été remplie de choses intéressantes",
    },
)

# 0 .. 5
_OPTIONS: Final[dict[Language, tuple[str, ...]]] = {
    EN: (
        "At no time",
        "Some of the time",
        "Less than half of the time",
        "More than half of the time",
        "Most of the time",
        "All of the time",
    ),
    NL: (
        "Nooit",
        "Af en toe",
        "Minder dan de helft van de tijd",
        "Meer dan de helft van de tijd",
        "Het grootste deel van de tijd",
        "Voortdurend",
    ),
    FR: (
        "Jamais",
        "De temps en temps",
        "Moins de la moitié du temps",
        "Plus de la moitié du temps",
        "La plupart du temps",
        "Tout le temps",
    ),
}

ITEMS: Final = tuple(Item(f"q{n}", 0, 5, texts=t) for n, t in enumerate(_TEXTS, start=1))
ITEM_IDS: Final = tuple(item.item_id for item in ITEMS)

DEPRESSION_THRESHOLD: Final = 28  # percentage at or below: screen for depression
POOR_WELLBEING: Final = 50  # percentage at or below: poor wellbeing
MINIMAL_CHANGE: Final = 10  # percentage points


class Who5(Plugin):
    instrument = Instrument.WHO_5
    licensed = False
    source = SOURCE
    items = ITEMS
    # each about their own wellbeing; validated from about nine years of age
    respondents = frozenset({Respondent.CHILD, Respondent.GUARDIAN})
    value_name = "percentage"
    higher_is_better = True
    options = _OPTIONS

    def scored(self, coded: Mapping[str, int], respondent: Respondent) -> Scored:
        raw = total(coded, ITEM_IDS)
        percentage = raw * 4
        if percentage <= DEPRESSION_THRESHOLD:
            band, category = WellbeingBand.LOW, "likely-depression"
        elif percentage <= POOR_WELLBEING:
            band, category = WellbeingBand.MODERATE, "poor-wellbeing"
        else:
            band, category = WellbeingBand.HIGH, "good-wellbeing"
        return Scored(raw=raw, value=percentage, band=band, category=category)

    def change(self, baseline: Scored, latest: Scored) -> WellbeingChange | None:
        difference = latest.value - baseline.value
        if difference >= MINIMAL_CHANGE:
            return WellbeingChange.IMPROVED
        if difference <= -MINIMAL_CHANGE:
            return WellbeingChange.WORSENED
        return WellbeingChange.NO_RELIABLE_CHANGE


WHO_5: Final = Who5()
