"""Small raw-Kafka helpers for tests: send exact bytes or envelopes, read what a topic holds."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from vrac_contracts.envelope import Envelope, encode
from vrac_runtime.settings import ServiceSettings


async def send_raw(
    bootstrap: str, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def publish_to(bootstrap: str, prefix: str, *envelopes: Envelope[Any]) -> None:
    """Send envelopes exactly as their producer would, to their topics under ``prefix``
    (a topic prefix as the settings hold it: ``"<test prefix>."``)."""
    for envelope in envelopes:
        record = encode(envelope)
        await send_raw(bootstrap, prefix + record.topic, record.value, record.key, record.headers)


async def publish(settings: ServiceSettings, *envelopes: Envelope[Any]) -> None:
    """Send envelopes exactly as their producer would, to this service's test topics."""
    await publish_to(settings.kafka_bootstrap_servers, settings.topic_prefix, *envelopes)


async def read_all(
    bootstrap: str, topic: str, *, expect: int, timeout: float = 20.0
) -> list[ConsumerRecord[Any, Any]]:
    """Read a topic from the start until ``expect`` records arrived or the time is up."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord[Any, Any]] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expect and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                records.extend(part)
        # A little longer, so an unexpected extra record is seen too.
        batch = await consumer.getmany(timeout_ms=500)
        for part in batch.values():
            records.extend(part)
    finally:
        await consumer.stop()
    return records
