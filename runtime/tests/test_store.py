"""The service database: on FerretDB concurrent writes to one document lose nothing; on
MongoDB it is PyMongo's own. Against the real store where it matters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient, DeleteMany, InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.write_concern import WriteConcern
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import decode, new_envelope
from vrac_runtime.idempotency import merge_updates
from vrac_runtime.kafka import ensure_topics, make_producer
from vrac_runtime.outbox import OutboxRelay, outbox_fields, push_outbox
from vrac_runtime.service import build_runtime, create_app
from vrac_runtime.store import (
    DocumentLocks,
    SerialCollection,
    SerialDatabase,
    SharedLock,
    addressed_ids,
    is_ferretdb,
    is_ferretdb_answer,
    service_database,
)
from vrac_testing.kafka import read_all

OPENED = by_type("org.vrac.intake.case-opened.v1")

# What the local FerretDB 1.24.2 answers to buildInfo (abridged), and what MongoDB 8.0 does.
FERRETDB_BUILD_INFO = {
    "version": "7.0.42",
    "versionArray": [7, 0, 42, 0],
    "ferretdbVersion": "v1.24.2",
    "ferretdbFeatures": {"aggregationStages": ["$match", "$group"]},
    "gitVersion": "unknown",
    "ok": 1.0,
}
MONGODB_BUILD_INFO = {
    "version": "8.0.4",
    "versionArray": [8, 0, 4, 0],
    "gitVersion": "bc35ab4305d9920d9d0491c1c9ef9b72383d31f9",
    "modules": [],
    "ok": 1.0,
}


def opened(case_id: str) -> Any:
    return new_envelope(OPENED.model.model_validate({**OPENED.example, "case_id": case_id}))


# -- without I/O --


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


async def test_a_whole_collection_write_waits_for_document_writes_and_holds_them_up() -> None:
    gate = SharedLock()
    order: list[str] = []

    async def document(name: str, pause: float) -> None:
        async with gate.shared():
            order.append(f"{name} in")
            await asyncio.sleep(pause)
            order.append(f"{name} out")

    async def whole() -> None:
        async with gate.exclusive():
            order.append("whole in")
            await asyncio.sleep(0.01)
            order.append("whole out")

    first = asyncio.create_task(document("a", 0.02))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(whole())
    await asyncio.sleep(0)
    late = asyncio.create_task(document("b", 0))
    await asyncio.gather(first, waiting, late)
    assert order == ["a in", "a out", "whole in", "whole out", "b in", "b out"]


def test_filters_address_documents_by_id_or_the_whole_collection() -> None:
    assert addressed_ids({"_id": "case_a", "version": 2}) == ["case_a"]
    assert addressed_ids({"_id": {"$eq": 7}}) == ["7"]
    assert addressed_ids({"_id": {"$in": ["b", "a", "b"]}}) == ["a", "b"]
    assert addressed_ids({"_id": {"$gt": "a"}}) is None
    assert addressed_ids({"status": "pending"}) is None
    assert addressed_ids({}) is None


def test_ferretdb_is_told_from_mongodb_by_its_build_info() -> None:
    assert is_ferretdb_answer(FERRETDB_BUILD_INFO) is True
    assert is_ferretdb_answer({"ferretdb": {"version": "v2.1.0"}, "version": "7.0.77"}) is True
    assert is_ferretdb_answer(MONGODB_BUILD_INFO) is False


def test_on_mongodb_the_database_is_plain_pymongo() -> None:
    client: AsyncMongoClient[Any] = AsyncMongoClient("mongodb://127.0.0.1:1", connect=False)
    db = service_database(client, "vrac_x", ferretdb=False)
    assert type(db) is AsyncDatabase
    assert type(db.cases) is AsyncCollection
    assert type(db.cases.with_options(write_concern=WriteConcern(w=1))) is AsyncCollection


async def test_a_runtime_that_knows_its_store_is_mongodb_gives_plain_pymongo(
    make_settings,
) -> None:
    runtime = build_runtime(make_settings("intake"))
    runtime.store_is_ferretdb = False
    assert type(runtime.db) is AsyncDatabase
    assert await runtime.detect_store() is False  # told already: nothing asked, nothing locked
    assert type(runtime.db) is AsyncDatabase


def test_with_options_and_sub_collections_keep_the_locks() -> None:
    client: AsyncMongoClient[Any] = AsyncMongoClient("mongodb://127.0.0.1:1", connect=False)
    db = service_database(client, "vrac_x", ferretdb=True)
    assert isinstance(db, SerialDatabase)
    majority = WriteConcern(w="majority")
    collections = [
        db.cases,
        db["cases"],
        db.get_collection("cases"),
        db.cases.with_options(write_concern=majority),
        db.with_options(write_concern=majority).cases,
        db.cases.history,
    ]
    for collection in collections:
        assert isinstance(collection, SerialCollection)
        assert collection._serial is db.serial
    assert db.cases.with_options(write_concern=majority).write_concern == majority


# -- against the real store --

pytest_integration = pytest.mark.integration


@pytest.fixture
def ferretdb_only(store_is_ferretdb: bool) -> None:
    if not store_is_ferretdb:
        pytest.skip("FerretDB's read-change-write updates only; MongoDB needs no locks")


@pytest_integration
async def test_detection_says_what_the_store_here_is(infrastructure, mongodb_url: str) -> None:
    """Here (the local stack, or the URLs CI gives) the store is FerretDB; testcontainers
    starts MongoDB's own image."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
    try:
        answer = await is_ferretdb(client)
    finally:
        await client.close()
    assert answer is (infrastructure.source != "testcontainers")


@pytest_integration
async def test_the_service_database_follows_what_the_start_up_detects(
    make_settings, store_is_ferretdb: bool
) -> None:
    runtime = build_runtime(make_settings("intake"))
    db = runtime.db  # taken while the service is built, before anything asked the server
    assert isinstance(db, SerialDatabase) and db.serialising
    try:
        assert await runtime.detect_store() is store_is_ferretdb
    finally:
        await runtime.mongo.close()
    assert db.serialising is store_is_ferretdb


@pytest_integration
async def test_the_app_start_up_detects_the_store_before_its_first_write(
    make_settings, store_is_ferretdb: bool
) -> None:
    runtime = build_runtime(make_settings("intake"))
    db = runtime.db
    seen_by_first_step: list[bool | None] = []

    async def create_indexes() -> None:  # what services run first, and it writes
        seen_by_first_step.append(runtime.store_is_ferretdb)
        await db.cases.create_index("pilot")

    app = create_app(runtime, [], title="store test", on_startup=[create_indexes])
    async with app.router.lifespan_context(app):
        assert seen_by_first_step == [store_is_ferretdb]
        assert isinstance(db, SerialDatabase) and db.serialising is store_is_ferretdb
        await runtime.mongo.drop_database(runtime.settings.database)


@pytest_integration
async def test_switched_off_the_database_takes_no_locks(mongo_db, ferretdb_only) -> None:
    await mongo_db.cases.insert_one({"_id": "case_a", "n": 0})
    async with mongo_db.locks.hold("cases/case_a"):
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await mongo_db.cases.update_one({"_id": "case_a"}, {"$inc": {"n": 1}})
        mongo_db.serialise(False)
        async with asyncio.timeout(5):
            await mongo_db.cases.update_one({"_id": "case_a"}, {"$inc": {"n": 1}})
    assert (await mongo_db.cases.find_one({"_id": "case_a"}))["n"] == 1


@pytest_integration
@pytest.mark.parametrize("database", ["plain", "service"])
async def test_concurrent_pushes_to_one_document(database: str, mongo_db, ferretdb_only) -> None:
    """On FerretDB a plain database loses pushes; the service database keeps them all."""
    db = mongo_db if database == "service" else AsyncDatabase(mongo_db.client, mongo_db.name)
    await db.cases.insert_one({"_id": "case_a", "notes": []})
    await asyncio.gather(
        *(db.cases.update_one({"_id": "case_a"}, {"$push": {"notes": n}}) for n in range(60))
    )
    kept = len((await db.cases.find_one({"_id": "case_a"}))["notes"])
    if database == "service":
        assert kept == 60
    else:
        assert kept < 60


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
async def test_bulk_writes_and_with_options_are_serialised(mongo_db) -> None:
    """bulk_write, update_many and a collection from with_options, all at once on one
    document alongside plain update_one: nothing is lost."""
    cases = mongo_db.cases
    acknowledged = cases.with_options(write_concern=WriteConcern(w=1))
    await cases.insert_one({"_id": "case_a", "notes": [], "kind": "case"})
    writes: list[Any] = []
    for n in range(15):
        writes.append(cases.update_one({"_id": "case_a"}, {"$push": {"notes": f"one-{n}"}}))
        writes.append(acknowledged.update_one({"_id": "case_a"}, {"$push": {"notes": f"opt-{n}"}}))
        writes.append(
            cases.bulk_write(
                [
                    InsertOne({"_id": f"other_{n}"}),
                    UpdateOne({"_id": "case_a"}, {"$push": {"notes": f"bulk-{n}"}}),
                ]
            )
        )
        writes.append(cases.update_many({"kind": "case"}, {"$push": {"notes": f"many-{n}"}}))
    await asyncio.gather(*writes)
    notes = (await cases.find_one({"_id": "case_a"}))["notes"]
    assert len(notes) == 60 and len(set(notes)) == 60
    await cases.bulk_write([DeleteMany({"_id": {"$in": [f"other_{n}" for n in range(15)]}})])
    assert await cases.count_documents({}) == 1


@pytest_integration
@pytest.mark.parametrize("database", ["plain", "service"])
async def test_the_relay_and_commands_writing_one_case_at_once(
    database: str, make_settings, store_is_ferretdb: bool
) -> None:
    """Commands keep appending state and events to one case while the relay publishes and
    removes the sent ones. On the service database every state change stays and every event
    goes out; on FerretDB a plain database loses some of them."""
    if database == "plain" and not store_is_ferretdb:
        pytest.skip("MongoDB loses nothing even without the locks")
    settings = make_settings("intake")
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = (
        service_database(client, settings.database, ferretdb=store_is_ferretdb)
        if database == "service"
        else AsyncDatabase(client, settings.database)
    )
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
            settings.kafka_bootstrap_servers,
            settings.topic(OPENED.topic),
            expect=len(events),
            timeout=20.0 if database == "service" else 3.0,
        )
    finally:
        await producer.stop()
        await client.drop_database(settings.database)
        await client.close()
    published = {decode(r.headers, r.value).id for r in records}
    everything_kept = (
        sorted(doc["steps"]) == list(range(len(events)))
        and published == {e.id for e in events}
        and (doc["outbox"], doc["outbox_pending"]) == ([], False)
    )
    assert everything_kept is (database == "service")


@pytest.mark.integration
async def test_an_id_holding_a_nul_matches_nothing_and_breaks_nothing(
    mongo_db: AsyncDatabase[Any],
) -> None:
    # FerretDB on PostgreSQL answers a NUL in a filter with an internal error; a path such as
    # /screenings/%00 brings one, and must get "not found", never a 500
    cases = mongo_db["cases"]
    await cases.insert_one({"_id": "case_present00001", "status": "open"})
    odd = "case_\x00"
    assert await cases.find_one({"_id": odd}) is None
    assert await cases.find({"_id": odd}).to_list() == []
    assert (await cases.update_one({"_id": odd}, {"$set": {"status": "x"}})).matched_count == 0
    assert (await cases.delete_one({"_id": odd})).deleted_count == 0
    assert await cases.find_one_and_update({"_id": odd}, {"$set": {"status": "x"}}) is None
    assert await cases.find_one({"_id": "case_present00001"}) == {
        "_id": "case_present00001",
        "status": "open",
    }
