"""Kafka subscribers: map intake's events to commands and call the handlers."""

from __future__ import annotations

from vrac_contracts.envelope import Envelope
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentChanged
from vrac_runtime.service import ServiceRuntime

from vrac_network import handlers
from vrac_network.domain.commands import RecordCaseClosed, RecordCaseOpened, RecordConsent


class Subscribers:
    """The ``on_<event>`` methods of the network service, one per consumed event."""

    def __init__(self, deps: handlers.Deps) -> None:
        self._deps = deps

    async def on_case_opened(self, envelope: Envelope[CaseOpened]) -> None:
        data = envelope.data
        command = RecordCaseOpened(data.case_id, data.pilot, data.programme, data.opened_at)
        await handlers.record_case_opened(self._deps, command)

    async def on_case_closed(self, envelope: Envelope[CaseClosed]) -> None:
        data = envelope.data
        command = RecordCaseClosed(data.case_id, data.pilot, data.reason, data.occurred_at)
        await handlers.record_case_closed(self._deps, command)

    async def on_consent_changed(self, envelope: Envelope[ConsentChanged]) -> None:
        data = envelope.data
        command = RecordConsent(
            case_id=data.case_id,
            pilot=data.pilot,
            purpose=data.purpose,
            agency_id=data.agency_id,
            granted=data.granted,
            changed_at=data.changed_at,
        )
        await handlers.record_consent(self._deps, command)

    def register(self, runtime: ServiceRuntime) -> None:
        runtime.on(CaseOpened, self.on_case_opened)
        runtime.on(CaseClosed, self.on_case_closed)
        runtime.on(ConsentChanged, self.on_consent_changed)
