"""Kafka subscribers: map intake's events and screening-completed to facts, call handlers.

Two consumer groups: the service's own (``vrac.screening``) keeps the case projection; the
diploma maker (``vrac.screening.diploma-maker``) reacts to completed screenings on its own,
so a slow or failing diploma never holds up intake's events, nor the other way round.
"""

from __future__ import annotations

from typing import Any

from vrac_contracts.catalogue import consumer_group
from vrac_contracts.envelope import Envelope
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentChanged, FamilyRegistered
from vrac_contracts.events.screening import ScreeningCompleted
from vrac_runtime.service import ServiceRuntime

from vrac_screening import handlers
from vrac_screening.adapters.store import ScreeningStore
from vrac_screening.domain.case import consent_key
from vrac_screening.domain.diploma import ScreeningOutcome


class Subscribers:
    """The ``on_<event>`` functions of both consumer groups."""

    def __init__(self, store: ScreeningStore, now: handlers.Clock = handlers.utc_now) -> None:
        self._store = store
        self._now = now

    async def on_case_opened(self, envelope: Envelope[Any]) -> None:
        data: CaseOpened = envelope.data
        fact = handlers.CaseOpenedFact(data.case_id, data.pilot, data.programme)
        await handlers.record_case_opened(self._store, fact)

    async def on_family_registered(self, envelope: Envelope[Any]) -> None:
        data: FamilyRegistered = envelope.data
        fact = handlers.FamilyFact(data.case_id, data.pilot, data.child_first_name, data.language)
        await handlers.record_family(self._store, fact, self._now)

    async def on_consent_changed(self, envelope: Envelope[Any]) -> None:
        data: ConsentChanged = envelope.data
        fact = handlers.ConsentFact(
            case_id=data.case_id,
            pilot=data.pilot,
            key=consent_key(data.purpose, data.agency_id),
            purpose=data.purpose,
            granted=data.granted,
            changed_at=data.changed_at,
        )
        await handlers.record_consent(self._store, fact, self._now)

    async def on_case_closed(self, envelope: Envelope[Any]) -> None:
        data: CaseClosed = envelope.data
        fact = handlers.CaseClosedFact(data.case_id, data.pilot, data.reason)
        await handlers.record_case_closed(self._store, fact)

    async def on_screening_completed(self, envelope: Envelope[Any]) -> None:
        data: ScreeningCompleted = envelope.data
        outcome = ScreeningOutcome(
            data.screening_id, data.case_id, data.pilot, tuple(data.strengths)
        )
        await handlers.make_diploma(self._store, outcome, self._now)

    def register(self, runtime: ServiceRuntime) -> None:
        intake = runtime.consumer(consumer_group("screening"))
        intake.on(CaseOpened, self.on_case_opened)
        intake.on(FamilyRegistered, self.on_family_registered)
        intake.on(ConsentChanged, self.on_consent_changed)
        intake.on(CaseClosed, self.on_case_closed)
        maker = runtime.consumer(consumer_group("screening", "diploma-maker"))
        maker.on(ScreeningCompleted, self.on_screening_completed)
