"""Subscribers tested through FastStream's in-memory Kafka: events delivered exactly as
their producer would publish them, without a broker running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from faststream.kafka import TestKafkaBroker
from vrac_contracts.envelope import Envelope, encode, new_envelope
from vrac_contracts.events.base import EventData
from vrac_runtime.service import ServiceRuntime, build_runtime
from vrac_runtime.settings import ServiceSettings

D = TypeVar("D")


class InMemoryDelivery(Generic[D]):
    """Delivers events to the subscribers of one runtime; ``deps`` is what the test reads
    back (its store, its ``Deps``)."""

    def __init__(self, broker: Any, settings: ServiceSettings, deps: D) -> None:
        self.broker, self.settings, self.deps = broker, settings, deps

    async def deliver(
        self, data: EventData, envelope: Envelope[Any] | None = None
    ) -> Envelope[Any]:
        """Publish ``data`` (or again the given ``envelope``); returns the envelope sent."""
        envelope = envelope or new_envelope(data)
        record = encode(envelope)
        await self.broker.publish(
            record.value,
            self.settings.topic(record.topic),
            key=record.key,
            headers=record.headers_dict(),
        )
        return envelope


@asynccontextmanager
async def in_memory(runtime: ServiceRuntime, deps: D) -> AsyncIterator[InMemoryDelivery[D]]:
    """Register the runtime's consumers on FastStream's in-memory broker."""
    for consumer in runtime.consumers:
        consumer.register()
    async with TestKafkaBroker(runtime.broker) as broker:
        yield InMemoryDelivery(broker, runtime.settings, deps)


@asynccontextmanager
async def subscribed(
    settings: ServiceSettings, wire: Callable[[ServiceRuntime], D]
) -> AsyncIterator[InMemoryDelivery[D]]:
    """A runtime on ``settings`` whose subscribers ``wire`` registers (returning the deps
    the test reads back), on the in-memory broker; afterwards its database is dropped."""
    runtime = build_runtime(settings)
    deps = wire(runtime)
    try:
        async with in_memory(runtime, deps) as delivery:
            yield delivery
    finally:
        await runtime.mongo.drop_database(settings.database)
        await runtime.mongo.close()
