"""The live consumer: every public event is counted by the same handler.

One subscriber function serves all event types, because the contract-to-count mapping lives
in ``domain.tally`` where the replay uses it too; per-type functions would only repeat it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from aiokafka.structs import ConsumerRecord
from vrac_contracts.catalogue import consumed_by
from vrac_contracts.envelope import Envelope
from vrac_runtime.consumer import EventConsumer

from vrac_reporting.domain.generations import Position
from vrac_reporting.domain.tally import tally_of
from vrac_reporting.handlers import StateView, count_event
from vrac_reporting.ports import ReadModels

_position: ContextVar[Position | None] = ContextVar("reporting_record_position", default=None)


class PositionedConsumer(EventConsumer):
    """The runtime's consumer, also telling the handler where its record sits in Kafka.

    The position decides whether a rebuilt generation counted the record already.
    """

    async def process(self, record: ConsumerRecord[Any, Any]) -> None:
        token = _position.set(Position(record.topic, record.partition, record.offset))
        try:
            await super().process(record)
        finally:
            _position.reset(token)


def subscribe(consumer: EventConsumer, models: ReadModels) -> None:
    view = StateView()

    async def on_public_event(envelope: Envelope[Any]) -> None:
        await count_event(models, view, tally_of(envelope.id, envelope.data), _position.get())

    for spec in consumed_by("reporting"):
        consumer.on(spec.model, on_public_event)
