"""Kafka subscribers: map intake's events to facts and call the handlers."""

from __future__ import annotations

from typing import Any

from vrac_contracts.catalogue import consumer_group
from vrac_contracts.envelope import Envelope
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentChanged
from vrac_runtime.service import ServiceRuntime

from vrac_network import handlers
from vrac_network.adapters.store import NetworkStore
from vrac_network.domain.case import consent_key


class Subscribers:
    """The ``on_<event>`` functions of the network service's consumer group."""

    def __init__(self, store: NetworkStore) -> None:
        self._store = store

    async def on_case_opened(self, envelope: Envelope[Any]) -> None:
        data: CaseOpened = envelope.data
        fact = handlers.CaseOpenedFact(data.case_id, data.pilot, data.programme, data.opened_at)
        await handlers.record_case_opened(self._store, fact)

    async def on_case_closed(self, envelope: Envelope[Any]) -> None:
        data: CaseClosed = envelope.data
        fact = handlers.CaseClosedFact(data.case_id, data.pilot, data.reason, data.occurred_at)
        await handlers.record_case_closed(self._store, fact)

    async def on_consent_changed(self, envelope: Envelope[Any]) -> None:
        data: ConsentChanged = envelope.data
        fact = handlers.ConsentFact(
            case_id=data.case_id,
            pilot=data.pilot,
            key=consent_key(data.purpose, data.agency_id),
            granted=data.granted,
            changed_at=data.changed_at,
        )
        await handlers.record_consent(self._store, fact)

    def register(self, runtime: ServiceRuntime) -> None:
        consumer = runtime.consumer(consumer_group("network"))
        consumer.on(CaseOpened, self.on_case_opened)
        consumer.on(CaseClosed, self.on_case_closed)
        consumer.on(ConsentChanged, self.on_consent_changed)
