"""Intake's facts about a case, as every service that keeps a projection of them sees them.

Screening, network and notifications each keep what intake told them about a case: that it
was opened, that it was closed, and the newest consent decision per key
(``vrac_contracts.consent``). Intake's topics are not ordered among each other and an event
may come twice, so recording a fact is safe to repeat and may create the case.
"""

from __future__ import annotations

from typing import Protocol

from vrac_contracts.consent import ConsentState, consent_key
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentChanged


class IntakeFacts(Protocol):
    """The port a service's case store offers for intake's facts. Each ``record_*`` is safe
    to apply twice, and creates the case when this is the first event about it."""

    async def record_opened(self, event: CaseOpened) -> None: ...

    async def record_closed(self, event: CaseClosed) -> None: ...

    async def record_consent(self, event: ConsentChanged) -> None:
        """Keep the decision unless a newer one for the same key is already kept."""


def consent_decision(event: ConsentChanged) -> tuple[str, ConsentState]:
    """Where a consent-changed is filed, and the decision it carries."""
    state = ConsentState(granted=event.granted, changed_at=event.changed_at)
    return consent_key(event.purpose, event.agency_id), state
