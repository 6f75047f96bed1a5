"""The service database: concurrent writes to one document lose nothing, on the real store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import decode, new_envelope
from vrac_runtime.idempotency import merge_updates
from vrac_runtime.kafka import ensure_topics, make_producer
from vrac_runtime.outbox import OutboxRelay, outbox_fields, push_outbox
from vrac_runtime.store import DocumentLocks, SerialCollection, SerialDatabase
from vrac_testing.kafka import read_all

OPENED = by_type("org.vrac.intake.case-opened.v1")


def opened(case_id: str) -> Any:
    return new_envelope(OPENED.model.model_validate({**OPENED.example, "case_id": case_id}))


# -- the lock table, without I/O --


async def test_holders_of_one_key_take_turns_and_leave_nothing_behind() -> None:
    locks = DocumentLocks()
    inside: list[int] = []
    overlaps: list[int] = []

    async def write(n: int) -> None:
        async with locks.hold("cases/a"):
            if inside:
                overlaps.append(n)
            inside.append(n)
            await asyncio.sleep(0.001)
            inside.remove(n)

    await asyncio.gather(*(write(n) for n in range(20)))
    assert overlaps == []
    assert len(locks) == 0


async def test_another_document_is_not_held_up() -> None:
    locks = DocumentLocks()
    async with locks.hold("cases/a"), asyncio.timeout(1), locks.hold("cases/b"):
        assert len(locks) == 2
    assert len(locks) == 0


# -- against the real store --

pytest_integration = pytest.mark.integration


@pytest_integration
async def test_collections_of_the_service_database_serialise_writes(mongo_db) -> None:
    assert isinstance(mongo_db, SerialDatabase)
    assert isinstance(mongo_db["cases"], SerialCollection)
    assert isinstance(mongo_db.cases, SerialCollection)


@pytest_integration
async def test_concurrent_pushes_to_one_document_are_all_kept(mongo_db) -> None:
    await mongo_db.cases.insert_one({"_id": "case_a", "notes": []})
    await asyncio.gather(
        *(mongo_db.cases.update_one({"_id": "case_a"}, {"$push": {"notes": n}}) for n in range(40))
    )
    doc = await mongo_db.cases.find_one({"_id": "case_a"})
    assert sorted(doc["notes"]) == list(range(40))


@pytest_integration
async def test_a_version_guard_lets_exactly_one_of_concurrent_writers_through(mongo_db) -> None:
    await mongo_db.tasks.insert_one({"_id": "task_a", "version": 1, "status": "assigned"})
    results = await asyncio.gather(
        *(
            mongo_db.tasks.update_one(
                {"_id": "task_a", "version": 1},
                {"$set": {"version": 2, "status": f"by-{n}"}},
            )
            for n in range(10)
        )
    )
    assert sum(r.modified_count for r in results) == 1


@pytest_integration
async def test_the_relay_never_undoes_a_write_that_lands_while_it_runs(make_settings) -> None:
    """Commands keep appending state and events to one case while the relay publishes and
    removes the sent ones: every state change stays and every event goes out."""
    settings = make_settings("intake")
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = SerialDatabase(client, settings.database)
    case = "case_racing0000001"
    events = [opened(case) for _ in range(60)]
    await db.cases.insert_one({"_id": case, "steps": [], **outbox_fields([])})
    await ensure_topics(settings, [settings.topic(OPENED.topic)])
    producer = make_producer(settings, linger_ms=0)
    await producer.start()
    relay = OutboxRelay(db, ["cases"], producer, settings)

    async def command(n: int) -> None:
        update = merge_updates({"$push": {"steps": n}}, push_outbox([events[n]]))
        await db.cases.update_one({"_id": case}, update)
        await asyncio.sleep(0)

    async def relay_meanwhile(done: asyncio.Event) -> None:
        while not done.is_set():
            await relay.flush()
        await relay.flush()

    try:
        done = asyncio.Event()
        relaying = asyncio.create_task(relay_meanwhile(done))
        for batch in range(0, len(events), 6):
            await asyncio.gather(*(command(n) for n in range(batch, batch + 6)))
        done.set()
        await relaying
        doc = await db.cases.find_one({"_id": case})
        records = await read_all(
            settings.kafka_bootstrap_servers, settings.topic(OPENED.topic), expect=len(events)
        )
    finally:
        await producer.stop()
        await client.drop_database(settings.database)
        await client.close()
    assert sorted(doc["steps"]) == list(range(len(events)))
    assert (doc["outbox"], doc["outbox_pending"]) == ([], False)
    published = {decode(r.headers, r.value).id for r in records}
    assert published == {e.id for e in events}
