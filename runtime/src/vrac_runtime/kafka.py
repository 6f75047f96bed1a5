"""Kafka clients with the settings that make at-least-once delivery true.

Producers: ``acks=all``, set explicitly. The relays' producer is idempotent and renewed after a
failed delivery (:mod:`vrac_runtime.producer`); the broker's own producer, which publishes only
dead letters, is not idempotent (see :func:`make_broker`). Consumers commit their offsets
themselves, only below the lowest record not yet handled (see :mod:`vrac_runtime.consumer`),
never with FastStream's Kafka default, which commits before the handler runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from vrac_runtime.producer import RenewingProducer
from vrac_runtime.settings import ServiceSettings

# Consumer settings that go with every subscriber.
AUTO_OFFSET_RESET: Final[Literal["earliest"]] = "earliest"


_SASL: Final = {
    "SCRAM-SHA-512": SASLScram512,
    "SCRAM-SHA-256": SASLScram256,
    "PLAIN": SASLPlaintext,
}


def kafka_security(settings: ServiceSettings) -> BaseSecurity | None:
    """How this service meets Kafka (TLS, SASL), as FastStream describes it; None: plaintext."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = _tls_context(settings) if protocol.endswith("SSL") else None
    if protocol.startswith("SASL_"):
        sasl = _SASL[settings.kafka_sasl_mechanism]
        password = settings.kafka_sasl_password.get_secret_value()
        return sasl(settings.kafka_sasl_username, password, ssl_context=context)
    return BaseSecurity(ssl_context=context)


def _tls_context(settings: ServiceSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    return context


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for any raw aiokafka client: the servers and the security."""
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers}
    security = kafka_security(settings)
    if security is not None:
        options |= parse_security(security)
    return options


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    """The FastStream broker of a service: its consumers, and a producer for dead letters.

    That producer is not idempotent: aiokafka's idempotent producer can refuse a partition for
    good after a broker restart (see :mod:`vrac_runtime.producer`), which would hold a record's
    key back for ever. A dead letter sent twice is harmless: replayed, its consumer drops the
    second copy by ``ce_id``."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        enable_idempotence=False,
        acks="all",
        graceful_timeout=settings.shutdown_grace_seconds,
        security=kafka_security(settings),
        # FastStream's own lines (a failed commit, a consumer that left its group) must be
        # seen; they name topics and groups, never payloads
        logger=logging.getLogger("vrac.kafka"),
    )


def make_producer(settings: ServiceSettings, *, linger_ms: int = 5) -> RenewingProducer:
    """The relays' producer: idempotent, acks from all replicas, batching, renewed after a
    failed delivery."""
    return RenewingProducer(
        lambda: AIOKafkaProducer(
            **client_options(settings),
            client_id=f"{settings.service_name}-relay",
            enable_idempotence=True,
            acks="all",
            linger_ms=linger_ms,
        )
    )


async def ensure_topics(
    settings: ServiceSettings, names: Iterable[str], *, partitions: int | None = None
) -> None:
    """Create the topics that do not exist yet (idempotent; a no-op for existing ones)."""
    wanted = sorted(set(names))
    if not wanted:
        return
    admin = AIOKafkaAdminClient(**client_options(settings))
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


async def existing_partitions(
    client: Mapping[str, Any], topics: Iterable[str]
) -> list[TopicPartition]:
    """Every partition of those topics that exist (a topic never written to may not).

    ``client`` is :func:`client_options`' answer. Asked of the cluster through the admin
    client, since a consumer without a subscription keeps no metadata of other topics.
    """
    admin = AIOKafkaAdminClient(**client)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [topic for topic in topics if topic in existing]
        described = await admin.describe_topics(wanted) if wanted else []
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], part["partition"])
        for topic in described
        for part in sorted(topic["partitions"], key=lambda p: p["partition"])
    ]
