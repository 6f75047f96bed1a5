"""After a batch is given up, the relay goes on publishing to its partition on a fresh
producer (real FerretDB and Kafka)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiokafka import TopicPartition
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import new_envelope
from vrac_runtime.kafka import ensure_topics, make_producer
from vrac_runtime.outbox import PENDING_FLAG, OutboxRelay, outbox_fields
from vrac_testing.kafka import read_all

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")


def opened(case_id: str) -> dict[str, Any]:
    envelope = new_envelope(OPENED.model.model_validate({**OPENED.example, "case_id": case_id}))
    return {"_id": case_id, **outbox_fields([envelope])}


def give_a_batch_up(producer: Any, partition: TopicPartition) -> None:
    """What aiokafka does when a batch expires while its partition has no leader (as during a
    broker's restart): the batch's sequence numbers stay used, and nothing was written."""
    producer._current._txn_manager.increment_sequence_number(partition, 3)


async def test_a_partition_refused_as_out_of_order_is_published_again(make_settings) -> None:
    settings = make_settings("intake")
    topic = settings.topic(OPENED.topic)
    await ensure_topics(settings, [topic], partitions=1)
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url)
    db = client[settings.database]
    producer = make_producer(settings, linger_ms=0)
    await producer.start()
    relay = OutboxRelay(db, ["cases"], producer, settings, send_timeout=10, first_backoff=0.1)
    try:
        await db.cases.insert_one(opened("case_before000001"))
        assert await relay.flush() == 1

        give_a_batch_up(producer, TopicPartition(topic, 0))
        await db.cases.insert_one(opened("case_after0000001"))
        # the broker refuses the next batch of that partition: the topic backs off
        assert await relay.flush() == 0
        assert relay.failing_topics == [OPENED.topic]

        await asyncio.sleep(0.2)  # the backoff
        assert await relay.flush() == 1
        assert producer.renewals == 1
        assert relay.failing_topics == []
        assert await db.cases.count_documents({PENDING_FLAG: True}) == 0
    finally:
        await producer.stop()
        await client.drop_database(settings.database)
        await client.close()

    records = await read_all(settings.kafka_bootstrap_servers, topic, expect=2)
    assert [json.loads(r.value)["case_id"] for r in records] == [
        "case_before000001",
        "case_after0000001",
    ]
