"""The Kafka clients of the hand-written pipelines (``raw``'s hops, ``same_work``'s stages),
set up as the platform's are: idempotent producer, ``acks=all``, offsets committed by hand
after the effect."""

from __future__ import annotations

import os

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


def kafka_clients(topics: list[str], group: str) -> tuple[AIOKafkaConsumer, AIOKafkaProducer]:
    """A consumer of ``topics`` in ``group`` and a producer, neither started yet."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap(),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap(), enable_idempotence=True, acks="all", linger_ms=5
    )
    return consumer, producer
