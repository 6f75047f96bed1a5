"""Kafka subscribers: map intake's events and screening-completed to commands, call handlers.

The catalogue puts screening-completed in a group of its own (the diploma maker's), so a
slow or failing diploma never holds up intake's events, nor the other way round.
"""

from __future__ import annotations

from vrac_contracts.envelope import Envelope
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentChanged, FamilyRegistered
from vrac_contracts.events.screening import ScreeningCompleted
from vrac_runtime.service import ServiceRuntime

from vrac_screening import handlers
from vrac_screening.domain.commands import KeepFamily
from vrac_screening.domain.diploma import ScreeningOutcome


class Subscribers:
    """One ``on_<event>`` per consumed event."""

    def __init__(self, deps: handlers.Deps) -> None:
        self._deps = deps

    async def on_case_opened(self, envelope: Envelope[CaseOpened]) -> None:
        await handlers.open_case(self._deps, envelope.data)

    async def on_family_registered(self, envelope: Envelope[FamilyRegistered]) -> None:
        data = envelope.data
        command = KeepFamily(data.case_id, data.pilot, data.child_first_name, data.language)
        await handlers.keep_family(self._deps, command)

    async def on_consent_changed(self, envelope: Envelope[ConsentChanged]) -> None:
        await handlers.record_consent(self._deps, envelope.data)

    async def on_case_closed(self, envelope: Envelope[CaseClosed]) -> None:
        await handlers.close_case(self._deps, envelope.data)

    async def on_screening_completed(self, envelope: Envelope[ScreeningCompleted]) -> None:
        data = envelope.data
        outcome = ScreeningOutcome(
            data.screening_id, data.case_id, data.pilot, tuple(data.strengths)
        )
        await handlers.issue_diploma(self._deps, outcome)

    def register(self, runtime: ServiceRuntime) -> None:
        runtime.on(CaseOpened, self.on_case_opened)
        runtime.on(FamilyRegistered, self.on_family_registered)
        runtime.on(ConsentChanged, self.on_consent_changed)
        runtime.on(CaseClosed, self.on_case_closed)
        runtime.on(ScreeningCompleted, self.on_screening_completed)
