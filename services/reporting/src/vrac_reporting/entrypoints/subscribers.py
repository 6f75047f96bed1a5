"""The live consumer's side of reporting: every event it reads is counted."""

from __future__ import annotations

from vrac_contracts.catalogue import consumed_by
from vrac_contracts.envelope import Envelope
from vrac_contracts.events.base import EventData
from vrac_runtime.consumer import current_position
from vrac_runtime.service import ServiceRuntime

from vrac_reporting import handlers
from vrac_reporting.domain.generations import Position


class Subscribers:
    """Maps each consumed event to the handler that counts it."""

    def __init__(self, deps: handlers.Deps) -> None:
        self._deps = deps

    async def on_public_event(self, envelope: Envelope[EventData]) -> None:
        # Where the record sits decides whether a rebuilt generation counted it already.
        found = current_position()
        position = None if found is None else Position(found.topic, found.partition, found.offset)
        await handlers.count_event(self._deps, envelope, position)

    def register(self, runtime: ServiceRuntime) -> None:
        # One method for every event: what each one counts for is a single mapping in
        # domain.tally, shared with the replay, so a method per event would only repeat it.
        for spec in consumed_by("reporting"):
            runtime.on(spec.model, self.on_public_event)
