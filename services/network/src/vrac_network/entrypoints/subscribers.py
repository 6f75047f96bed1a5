"""Kafka subscribers: hand intake's events to the handlers."""

from __future__ import annotations

from vrac_contracts.envelope import Envelope
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded
from vrac_runtime.service import ServiceRuntime

from vrac_network import handlers


class Subscribers:
    """The ``on_<event>`` methods of the network service, one per consumed event."""

    def __init__(self, deps: handlers.Deps) -> None:
        self._deps = deps

    async def on_case_opened(self, envelope: Envelope[CaseOpened]) -> None:
        await handlers.open_case(self._deps, envelope.data)

    async def on_case_closed(self, envelope: Envelope[CaseClosed]) -> None:
        await handlers.close_case(self._deps, envelope.data)

    async def on_consent_recorded(self, envelope: Envelope[ConsentRecorded]) -> None:
        await handlers.record_consent(self._deps, envelope.data)

    def register(self, runtime: ServiceRuntime) -> None:
        runtime.on(CaseOpened, self.on_case_opened)
        runtime.on(CaseClosed, self.on_case_closed)
        runtime.on(ConsentRecorded, self.on_consent_recorded)
