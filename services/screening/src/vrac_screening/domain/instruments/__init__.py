"""Wellbeing instruments as plug-ins: each module scores its own item responses.

WHO-5 is free to use and always on. SDQ and KIDSCREEN-10 are licensed: a deployment switches
them on (``VRAC_LICENSED_INSTRUMENTS``) when its pilot holds the licence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from vrac_contracts.values import Instrument

from vrac_screening.domain.errors import InvalidInput
from vrac_screening.domain.instruments.base import Item, Plugin, Scored, Subscale
from vrac_screening.domain.instruments.kidscreen import KIDSCREEN_10
from vrac_screening.domain.instruments.sdq import SDQ
from vrac_screening.domain.instruments.who5 import WHO_5

__all__ = ["LICENSED", "PLUGINS", "Instruments", "Item", "Plugin", "Scored", "Subscale"]

PLUGINS: Final[Mapping[Instrument, Plugin]] = {p.instrument: p for p in (WHO_5, SDQ, KIDSCREEN_10)}
LICENSED: Final = frozenset(i for i, p in PLUGINS.items() if p.licensed)


@dataclass(frozen=True)
class Instruments:
    """The instruments this deployment takes item responses for."""

    on: Mapping[Instrument, Plugin]

    @classmethod
    def switched_on(cls, licensed: Iterable[Instrument] = ()) -> Instruments:
        """The free instruments, and the licensed ones named."""
        chosen = set(licensed)
        return cls({i: p for i, p in PLUGINS.items() if not p.licensed or i in chosen})

    def plugin(self, instrument: Instrument) -> Plugin:
        """The plug-in; 422 naming ``instrument`` when it is not switched on here."""
        found = self.on.get(instrument)
        if found is None:
            problem = (
                "is licensed and not switched on for this platform"
                if instrument in LICENSED
                else "is not scored from item responses"
            )
            raise InvalidInput("instrument", f"{instrument} {problem}")
        return found
