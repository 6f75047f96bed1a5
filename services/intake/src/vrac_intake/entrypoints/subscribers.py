"""Kafka subscribers: the audit trail's entries, from every service that records them."""

from __future__ import annotations

from vrac_contracts.envelope import Envelope
from vrac_contracts.events.audit import ACCESS_RECORDED, AccessRecorded
from vrac_runtime.service import ServiceRuntime

from vrac_intake import handlers


class Subscribers:
    """The ``on_<event>`` methods of the intake service, one per consumed event."""

    def __init__(self, deps: handlers.Deps) -> None:
        self._deps = deps

    async def on_access_recorded(self, envelope: Envelope[AccessRecorded]) -> None:
        await handlers.keep_access_record(self._deps, envelope.data)

    def register(self, runtime: ServiceRuntime) -> None:
        # one topic per recording service (intake's own included), one handler for all
        for model in ACCESS_RECORDED.values():
            runtime.on(model, self.on_access_recorded)
