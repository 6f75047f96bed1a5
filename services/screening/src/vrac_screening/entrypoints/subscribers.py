"""Kafka subscribers: map intake's events and findings-recorded to commands, call handlers.

The catalogue puts findings-recorded in a group of its own (the diploma maker's), so a
slow or failing diploma never holds up intake's events, nor the other way round.
"""

from __future__ import annotations

from vrac_contracts.envelope import Envelope
from vrac_contracts.events.intake import (
    CaseClosed,
    CaseOpened,
    ConsentRecorded,
    FamilyRegisteredV2,
)
from vrac_contracts.events.screening import FindingsRecorded
from vrac_runtime.consumer import PermanentError
from vrac_runtime.logging import get_logger
from vrac_runtime.sealing import SealBroken
from vrac_runtime.service import ServiceRuntime

from vrac_screening import handlers
from vrac_screening.domain.diploma import ScreeningOutcome
from vrac_screening.domain.errors import ChildNotKnownYet

log = get_logger(__name__)


class Subscribers:
    """One ``on_<event>`` per consumed event."""

    def __init__(self, deps: handlers.Deps) -> None:
        self._deps = deps

    async def on_case_opened(self, envelope: Envelope[CaseOpened]) -> None:
        await handlers.open_case(self._deps, envelope.data)

    async def on_family_registered(self, envelope: Envelope[FamilyRegisteredV2]) -> None:
        try:
            await handlers.register_family(self._deps, envelope.data)
        except SealBroken as err:
            # altered or moved to another case: no retry opens it
            raise PermanentError(str(err)) from None

    async def on_consent_recorded(self, envelope: Envelope[ConsentRecorded]) -> None:
        await handlers.record_consent(self._deps, envelope.data)

    async def on_case_closed(self, envelope: Envelope[CaseClosed]) -> None:
        await handlers.close_case(self._deps, envelope.data)

    async def on_findings_recorded(self, envelope: Envelope[FindingsRecorded]) -> None:
        data = envelope.data
        outcome = ScreeningOutcome(
            data.screening_id, data.case_id, data.pilot, tuple(data.strengths)
        )
        try:
            await handlers.issue_diploma(self._deps, outcome)
        except ChildNotKnownYet:
            # The screening is stored already; when the family's registration arrives, the
            # main group makes this diploma from it. Nothing to wait for here.
            log.info("diploma waits for the family's registration", case_id=data.case_id)

    def register(self, runtime: ServiceRuntime) -> None:
        runtime.on(CaseOpened, self.on_case_opened)
        runtime.on(FamilyRegisteredV2, self.on_family_registered)
        runtime.on(ConsentRecorded, self.on_consent_recorded)
        runtime.on(CaseClosed, self.on_case_closed)
        runtime.on(FindingsRecorded, self.on_findings_recorded)
