"""The outbox relay and idempotency helpers against the real FerretDB and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import decode, new_envelope
from vrac_runtime.idempotency import insert_once, merge_updates
from vrac_runtime.kafka import ensure_topics, make_producer
from vrac_runtime.outbox import OutboxRelay, outbox_entries, outbox_fields, push_outbox
from vrac_runtime.settings import ServiceSettings
from vrac_runtime.store import open_service_database
from vrac_testing.kafka import read_all

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")


def opened(case_id: str) -> Any:
    return new_envelope(OPENED.model.model_validate({**OPENED.example, "case_id": case_id}))


@dataclass
class Relaying:
    """An intake-like database with a ``cases`` collection, as the service gets it (detected:
    serialised on FerretDB, PyMongo's own on MongoDB), and a relay for it."""

    settings: ServiceSettings
    db: Any
    relay: OutboxRelay

    async def published(self, expect: int) -> list[Any]:
        topic = self.settings.topic(OPENED.topic)
        return await read_all(self.settings.kafka_bootstrap_servers, topic, expect=expect)


@pytest.fixture
async def relaying(make_settings) -> AsyncIterator[Relaying]:
    settings = make_settings("intake")
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url)
    db = await open_service_database(client, settings.database)
    await ensure_topics(settings, [settings.topic(OPENED.topic)])
    producer = make_producer(settings)
    await producer.start()
    try:
        yield Relaying(settings, db, OutboxRelay(db, ["cases"], producer, settings))
    finally:
        await producer.stop()
        await client.drop_database(settings.database)
        await client.close()


async def test_async_mongo_client_writes_and_reads_back(mongodb_url: str, mongo_db) -> None:
    await mongo_db.cases.insert_one({"_id": "case_a", "pilot": "leiden", "version": 1})
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
    try:
        found = await client[mongo_db.name].cases.find_one({"_id": "case_a"})
    finally:
        await client.close()
    assert found == {"_id": "case_a", "pilot": "leiden", "version": 1}


async def test_the_relay_publishes_the_outbox_and_then_empties_it(relaying: Relaying) -> None:
    db = relaying.db
    first, second = opened("case_outbox000001"), opened("case_outbox000002")
    await db.cases.insert_one({"_id": "case_outbox000001", **outbox_fields([first])})
    await db.cases.insert_one({"_id": "case_outbox000002", "state": "open"})
    await db.cases.update_one({"_id": "case_outbox000002"}, push_outbox([second]))
    assert await relaying.relay.flush() == 2
    assert await relaying.relay.flush() == 0
    records = await relaying.published(expect=2)
    remaining = [(doc.get("outbox"), doc.get("outbox_pending")) async for doc in db.cases.find()]
    assert sorted(decode(r.headers, r.value).id for r in records) == sorted([first.id, second.id])
    assert {r.key for r in records} == {b"case_outbox000001", b"case_outbox000002"}
    assert remaining == [([], False), ([], False)]


async def test_a_crash_before_removal_republishes_with_the_same_event_id(
    relaying: Relaying,
) -> None:
    event = opened("case_crash0000001")
    await relaying.db.cases.insert_one({"_id": "case_crash0000001", **outbox_fields([event])})
    await relaying.relay.flush()
    # The process died after publishing, before the removal was written.
    await relaying.db.cases.update_one(
        {"_id": "case_crash0000001"}, {"$set": outbox_fields([event])}
    )
    await relaying.relay.flush()
    records = await relaying.published(expect=2)
    assert [decode(r.headers, r.value).id for r in records] == [event.id, event.id]


async def test_an_effect_keyed_by_the_event_is_inserted_once(mongo_db) -> None:
    assert await insert_once(mongo_db.diplomas, {"_id": "dip_for_scr_1", "n": 1}) is True
    assert await insert_once(mongo_db.diplomas, {"_id": "dip_for_scr_1", "n": 2}) is False
    assert await mongo_db.diplomas.count_documents({}) == 1


def test_two_updates_that_set_the_same_field_are_refused() -> None:
    with pytest.raises(ValueError, match="outbox"):
        merge_updates({"$push": {"outbox": 1}}, {"$push": {"outbox": 2}})


async def test_entries_written_before_the_pending_flag_are_sent_after_a_start(
    relaying: Relaying,
) -> None:
    """Documents of an earlier version carry outbox entries but no flag: the relay adopts
    them when it starts, and sends them."""
    event = opened("case_unflagged0001")
    unflagged = {"_id": "case_unflagged0001", "outbox": outbox_entries([event])}
    await relaying.db.cases.insert_one(unflagged)
    assert await relaying.relay.flush() == 0  # not flagged: invisible to the cheap query
    await relaying.relay.prepare()
    assert await relaying.relay.flush() == 1
    records = await relaying.published(expect=1)
    assert [decode(r.headers, r.value).id for r in records] == [event.id]
