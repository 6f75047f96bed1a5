"""A test session deletes its own topics and databases at the end, and nobody else's."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from vrac_runtime.kafka import ensure_topics
from vrac_runtime.settings import ServiceSettings
from vrac_testing.cleanup import forget_prefixes

pytestmark = pytest.mark.integration


async def test_only_the_given_prefixes_are_forgotten(infrastructure) -> None:
    mine, theirs = (f"t{uuid.uuid4().hex[:10]}" for _ in range(2))
    settings = ServiceSettings(kafka_bootstrap_servers=infrastructure.kafka_bootstrap)
    topics = [f"{mine}.orders", f"{mine}.orders.dlq", f"{theirs}.orders"]
    await ensure_topics(settings, topics, partitions=1)
    client: AsyncMongoClient[Any] = AsyncMongoClient(infrastructure.mongodb_url)
    admin = AIOKafkaAdminClient(bootstrap_servers=infrastructure.kafka_bootstrap)
    await admin.start()
    try:
        for name in (f"{mine}_vrac_intake", f"{theirs}_vrac_intake"):
            await client[name].cases.insert_one({"_id": "case_a"})

        await forget_prefixes(infrastructure.kafka_bootstrap, infrastructure.mongodb_url, {mine})

        left: set[str] = set()
        for _ in range(100):  # deletion reaches the metadata shortly after the reply
            left = {t for t in await admin.list_topics() if t.split(".")[0] in (mine, theirs)}
            if not any(t.startswith(mine) for t in left):
                break
            await asyncio.sleep(0.1)
        databases = set(await client.list_database_names())
    finally:
        await admin.delete_topics([f"{theirs}.orders"])
        await client.drop_database(f"{theirs}_vrac_intake")
        await admin.close()
        await client.close()
    assert left == {f"{theirs}.orders"}
    assert f"{mine}_vrac_intake" not in databases
    assert f"{theirs}_vrac_intake" in databases
