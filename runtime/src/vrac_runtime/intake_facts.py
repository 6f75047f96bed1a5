"""Intake's facts about a case, as every service that keeps a projection of them sees them.

Screening, network and notifications each keep what intake told them about a case: that it
was opened, that it was closed, and the newest consent decision per key (filed by
``vrac_contracts.consent.consent_decision``). Intake's topics are not ordered among each other
and an event may come twice, so recording a fact is safe to repeat and may create the case.
"""

from __future__ import annotations

from typing import Protocol

from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded


class IntakeFacts(Protocol):
    """The port a service's case store offers for intake's facts. Each ``record_*`` is safe
    to apply twice, and creates the case when this is the first event about it."""

    async def record_opened(self, event: CaseOpened) -> None: ...

    async def record_closed(self, event: CaseClosed) -> None: ...

    async def record_consent(self, event: ConsentRecorded) -> None:
        """Keep the decision unless a newer one for the same key is already kept."""
