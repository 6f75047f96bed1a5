"""Kafka clients with the settings that make at-least-once delivery true.

Producers: idempotence on and ``acks=all``, set explicitly. Consumers: offsets committed only
after a handler succeeded (FastStream's ``NACK_ON_ERROR``: a failure seeks back and re-reads),
never FastStream's Kafka default, which commits before the handler runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Final, Literal

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from vrac_runtime.settings import ServiceSettings

# Consumer settings that go with every subscriber.
CONSUMER_ACK_POLICY = AckPolicy.NACK_ON_ERROR
AUTO_OFFSET_RESET: Final[Literal["earliest"]] = "earliest"


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    """The FastStream broker of a service: idempotent producer, acks from all replicas."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        enable_idempotence=True,
        acks="all",
        graceful_timeout=settings.shutdown_grace_seconds,
        logger=None,
    )


def make_producer(settings: ServiceSettings, *, linger_ms: int = 5) -> AIOKafkaProducer:
    """A raw producer for the outbox relay: the same guarantees, with batching."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-relay",
        enable_idempotence=True,
        acks="all",
        linger_ms=linger_ms,
    )


async def ensure_topics(
    settings: ServiceSettings, names: Iterable[str], *, partitions: int | None = None
) -> None:
    """Create the topics that do not exist yet (idempotent; a no-op for existing ones)."""
    wanted = sorted(set(names))
    if not wanted:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, partitions or settings.topic_partitions, 1)
            for name in wanted
            if name not in existing
        ]
        if missing:
            # Created concurrently by another service: fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        # Creation is asynchronous in the cluster: wait until every topic is listed.
        deadline = asyncio.get_running_loop().time() + 30
        while not set(wanted) <= set(await admin.list_topics()):
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"topics not created in time: {wanted}")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
