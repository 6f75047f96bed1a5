"""KIDSCREEN-10 Index, a licensed plug-in: item ids only.

Scoring as the KIDSCREEN group publishes it for scoring by hand: ten items answered 1 to 5;
the two negatively worded items (3 and 4) are recoded (1 becomes 5 ... 5 becomes 1), so that
a higher score always means a better health-related quality of life; the sum is 10-50. The
published next step turns the sum into a T-value (mean 50, SD 10) with the table of the
KIDSCREEN handbook, which is not public: the platform reports the sum only, gives no band
(there are no published cut-offs on the sum) and applies no reliable-change rule. The
change shown is the difference of the sums.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from vrac_contracts.values import Instrument, Respondent

from vrac_screening.domain.instruments.base import Item, Plugin, Scored, numbered, total

SOURCE: Final = (
    "KIDSCREEN-10 Index, The KIDSCREEN Group Europe (kidscreen.org). Copyrighted: used "
    "only by a pilot holding the licence; this platform ships no item text."
)

RECODED: Final = frozenset({3, 4})
ITEMS: Final = tuple(
    Item(item_id, 1, 5, reverse=n in RECODED)
    for n, item_id in enumerate(numbered("q", 10), start=1)
)
ITEM_IDS: Final = tuple(item.item_id for item in ITEMS)


class Kidscreen10(Plugin):
    instrument = Instrument.KIDSCREEN_10
    licensed = True
    source = SOURCE
    items = ITEMS
    # the child and adolescent version, and the parent (proxy) version
    respondents = frozenset({Respondent.CHILD, Respondent.GUARDIAN})
    value_name = "sum"
    higher_is_better = True

    def scored(self, coded: Mapping[str, int], respondent: Respondent) -> Scored:
        raw = total(coded, ITEM_IDS)
        return Scored(raw=raw, value=raw, band=None, category=None)


KIDSCREEN_10: Final = Kidscreen10()
