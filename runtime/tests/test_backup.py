"""``python -m vrac_runtime.backup`` on the real store and broker: what a backup keeps, and the
restores it refuses. The whole story with a service process is screening's backup test."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import new_envelope
from vrac_runtime.backup import (
    Refused,
    dump,
    group_topics,
    read_header,
    reset_offsets,
    restore,
)
from vrac_runtime.kafka import ensure_topics
from vrac_runtime.settings import ServiceSettings
from vrac_testing.kafka import publish

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")
GROUP_OF_NETWORK = "vrac.network"


def opened(n: int) -> Any:
    data = OPENED.model.model_validate({**OPENED.example, "case_id": f"case_backup{n:08d}"})
    return new_envelope(data)


async def commit(settings: ServiceSettings, offsets: dict[TopicPartition, int]) -> None:
    """What the service's consumer does once it handled records: commit in its group."""
    await reset_offsets(settings, {settings.group(GROUP_OF_NETWORK): offsets})


async def committed(settings: ServiceSettings) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        found = await admin.list_consumer_group_offsets(settings.group(GROUP_OF_NETWORK))
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in found.items()}


@pytest.fixture
async def network(make_settings) -> Any:
    """Network's settings, its topics with five case-opened records, its store."""
    settings = make_settings("network")
    await ensure_topics(settings, [t for ts in group_topics(settings).values() for t in ts])
    await publish(settings, *(opened(n) for n in range(5)))
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    yield settings, client[settings.database]
    await client.drop_database(settings.database)
    await client.close()


async def test_a_restore_puts_back_documents_indexes_and_the_groups_offsets(
    network, tmp_path: Path
) -> None:
    settings, db = network
    topic = TopicPartition(settings.topic(OPENED.topic), 0)
    await db.tasks.create_index([("case_id", ASCENDING), ("due", DESCENDING)], name="by_case")
    await db.members.create_index("email_hash", unique=True, name="one_per_address")
    await db.tasks.insert_many([{"_id": f"task_{n}", "case_id": "c", "due": n} for n in range(3)])
    await db.members.insert_one({"_id": "mbr_1", "email_hash": "h1", "outbox": [{"id": "e1"}]})
    await commit(settings, {topic: 2})
    archive = tmp_path / "network.vrac.gz"
    assert await dump(settings, archive) == {"tasks": 3, "members": 1}

    # the service goes on after the backup, then its store is lost
    await commit(settings, {topic: 5})
    await db.tasks.insert_one({"_id": "task_9", "case_id": "c", "due": 9})
    before = {name: [d async for d in db[name].find({})] for name in ("tasks", "members")}
    await db.client.drop_database(settings.database)

    await restore(settings, archive)
    restored = {name: [d async for d in db[name].find({})] for name in ("tasks", "members")}
    assert restored["members"] == before["members"]  # the outbox too: the relay sends it
    assert restored["tasks"] == before["tasks"][:3]
    indexes = {name: await db[name].index_information() for name in ("tasks", "members")}
    assert indexes["tasks"]["by_case"]["key"] == [("case_id", 1), ("due", -1)]
    assert indexes["members"]["one_per_address"]["unique"] is True
    # the consumers start again where the backup was: records 2 to 4 are handled again
    assert (await committed(settings))[topic] == 2
    header, counts = read_header(archive)
    assert header.service == "network" and counts == {"tasks": 3, "members": 1}


async def test_a_restore_refuses_a_store_that_holds_data_a_running_service_and_a_cut_file(
    network, tmp_path: Path
) -> None:
    settings, db = network
    await db.tasks.insert_one({"_id": "task_1"})
    archive = tmp_path / "network.vrac.gz"
    await dump(settings, archive)
    with pytest.raises(Refused, match="holds 1 collections"):
        await restore(settings, archive)

    member = AIOKafkaConsumer(
        settings.topic(OPENED.topic),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.group(GROUP_OF_NETWORK),
    )
    await member.start()
    try:
        await member.getmany(timeout_ms=3000)  # joined: the group has a member
        with pytest.raises(Refused, match="stop network first"):
            await restore(settings, archive, drop=True)
    finally:
        await member.stop()

    cut = tmp_path / "cut.vrac.gz"
    cut.write_bytes(gzip.compress(gzip.decompress(archive.read_bytes())[:-20]))
    with pytest.raises(Refused, match="cut off or damaged"):
        await restore(settings, cut, drop=True)
    assert [d async for d in db.tasks.find({})] == [{"_id": "task_1"}]  # untouched


async def test_a_restore_refuses_when_retention_removed_what_it_would_replay(
    network, tmp_path: Path
) -> None:
    settings, db = network
    topic = TopicPartition(settings.topic(OPENED.topic), 0)
    await commit(settings, {topic: 1})
    await db.tasks.insert_one({"_id": "task_1"})
    archive = tmp_path / "network.vrac.gz"
    await dump(settings, archive)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_records({topic: RecordsToDelete(4)})
    finally:
        await admin.close()
    await db.client.drop_database(settings.database)

    with pytest.raises(Refused, match=rf"{topic.topic} partition 0 offsets 1-3"):
        await restore(settings, archive)
    assert await db.list_collection_names() == []
    await restore(settings, archive, accept_missing=True)
    assert [d async for d in db.tasks.find({})] == [{"_id": "task_1"}]
    assert (await committed(settings))[topic] == 4  # from the first record still there
