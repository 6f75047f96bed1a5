"""A topic the relay cannot publish to delays only its own events, and a write wakes the relay
(real FerretDB and Kafka)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import new_envelope
from vrac_runtime.kafka import ensure_topics, make_producer
from vrac_runtime.outbox import OUTBOX, PENDING_FLAG, OutboxRelay, outbox_fields
from vrac_testing.kafka import read_all
from vrac_testing.polling import eventually

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")
# Kafka refuses this name (a space and '!'), as it would refuse a topic it may not write
BROKEN = "vrac.internal.intake.no such topic!.v1"


def opened(case_id: str) -> Any:
    return new_envelope(OPENED.model.model_validate({**OPENED.example, "case_id": case_id}))


def broken_entry(case_id: str) -> dict[str, Any]:
    entry = outbox_fields([opened(case_id)])[OUTBOX][0]
    return {**entry, "id": f"broken-{case_id}", "topic": BROKEN}


@pytest.fixture
async def relaying(make_settings) -> AsyncIterator[Callable[..., tuple[OutboxRelay, Any, Any]]]:
    """Makes a relay (with the given options) over a ``cases`` collection of its own."""
    settings = make_settings("intake")
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url)
    db = client[settings.database]
    await ensure_topics(settings, [settings.topic(OPENED.topic)])
    producer = make_producer(settings)
    await producer.start()

    def relay(interval: float | None = None, **options: Any) -> tuple[OutboxRelay, Any, Any]:
        options = {"send_timeout": 3, "first_backoff": 30, **options}
        used = settings
        if interval is not None:
            used = settings.model_copy(update={"relay_interval_seconds": interval})
        return OutboxRelay(db, ["cases"], producer, used, **options), db, settings

    try:
        yield relay
    finally:
        await producer.stop()
        await client.drop_database(settings.database)
        await client.close()


async def test_a_broken_topic_holds_back_only_its_own_events(relaying) -> None:
    relay, db, settings = relaying()
    stuck = {OUTBOX: [broken_entry("case_stuck00000001")], PENDING_FLAG: True}
    await db.cases.insert_one({"_id": "case_stuck00000001", **stuck})
    for n in range(3):
        case_id = f"case_fine0000000{n}"
        await db.cases.insert_one({"_id": case_id, **outbox_fields([opened(case_id)])})

    assert await relay.flush() == 3
    assert relay.failing_topics == [BROKEN]

    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(OPENED.topic), expect=3
    )
    assert sorted(json.loads(r.value)["case_id"] for r in records) == [
        f"case_fine0000000{n}" for n in range(3)
    ]
    pending = await db.cases.find({PENDING_FLAG: True}).to_list()
    assert [doc["_id"] for doc in pending] == ["case_stuck00000001"]
    assert [e["topic"] for e in pending[0][OUTBOX]] == [BROKEN]


async def test_while_a_topic_backs_off_new_events_of_other_topics_still_go_out(
    relaying,
) -> None:
    relay, db, settings = relaying()
    stuck = {OUTBOX: [broken_entry("case_stuck00000002")], PENDING_FLAG: True}
    await db.cases.insert_one({"_id": "case_stuck00000002", **stuck})
    await relay.flush()
    assert relay.failing_topics == [BROKEN]

    await db.cases.insert_one(
        {"_id": "case_later00000001", **outbox_fields([opened("case_later00000001")])}
    )
    # the broken topic is not tried again during its backoff, so this round is quick
    assert await relay.flush() == 1
    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(OPENED.topic), expect=1
    )
    assert [json.loads(r.value)["case_id"] for r in records] == ["case_later00000001"]


async def test_documents_stuck_on_a_broken_topic_cannot_fill_the_batch(relaying) -> None:
    relay, db, settings = relaying(batch_size=2)
    for n in range(3):
        case_id = f"case_stuck0000001{n}"
        await db.cases.insert_one(
            {"_id": case_id, OUTBOX: [broken_entry(case_id)], PENDING_FLAG: True}
        )
    await db.cases.insert_one(
        {"_id": "case_fine00000009", **outbox_fields([opened("case_fine00000009")])}
    )
    # the first round may fill its batch with stuck documents; the second passes them over
    assert sorted([await relay.flush(), await relay.flush()]) == [0, 1]
    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(OPENED.topic), expect=1
    )
    assert [json.loads(r.value)["case_id"] for r in records] == ["case_fine00000009"]


async def test_a_refused_record_in_the_middle_of_a_batch_stays_and_the_rest_is_removed(
    relaying,
) -> None:
    relay, db, settings = relaying()
    await db.cases.insert_one(
        {"_id": "case_first00000001", **outbox_fields([opened("case_first00000001")])}
    )
    stuck = {OUTBOX: [broken_entry("case_middle0000001")], PENDING_FLAG: True}
    await db.cases.insert_one({"_id": "case_middle0000001", **stuck})
    await db.cases.insert_one(
        {"_id": "case_last000000001", **outbox_fields([opened("case_last000000001")])}
    )
    # one document whose own outbox has a refused entry between two good ones
    mixed = outbox_fields([opened("case_mixed00000001"), opened("case_mixed00000001")])
    mixed[OUTBOX].insert(1, broken_entry("case_mixed00000001"))
    await db.cases.insert_one({"_id": "case_mixed00000001", **mixed})

    assert await relay.flush() == 4

    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(OPENED.topic), expect=4
    )
    assert sorted(json.loads(r.value)["case_id"] for r in records) == [
        "case_first00000001",
        "case_last000000001",
        "case_mixed00000001",
        "case_mixed00000001",
    ]
    left = {doc["_id"]: doc async for doc in db.cases.find()}
    assert {case_id: doc[PENDING_FLAG] for case_id, doc in left.items()} == {
        "case_first00000001": False,
        "case_middle0000001": True,
        "case_last000000001": False,
        "case_mixed00000001": True,
    }
    assert [e["id"] for e in left["case_middle0000001"][OUTBOX]] == ["broken-case_middle0000001"]
    assert [e["id"] for e in left["case_mixed00000001"][OUTBOX]] == ["broken-case_mixed00000001"]
    assert left["case_first00000001"][OUTBOX] == left["case_last000000001"][OUTBOX] == []


async def test_a_whole_batch_is_published_and_removed_and_nothing_is_sent_twice(
    relaying,
) -> None:
    relay, db, settings = relaying(batch_size=50)
    cases = [f"case_batch{n:08d}" for n in range(120)]
    await db.cases.insert_many(
        [{"_id": case_id, **outbox_fields([opened(case_id)])} for case_id in cases]
    )
    rounds = []
    while sent := await relay.flush():
        rounds.append(sent)
    assert rounds == [50, 50, 20]
    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(OPENED.topic), expect=120
    )
    assert sorted(json.loads(r.value)["case_id"] for r in records) == cases
    assert await db.cases.count_documents({PENDING_FLAG: True}) == 0
    assert await db.cases.count_documents({f"{OUTBOX}.0": {"$exists": True}}) == 0


async def test_a_write_that_wakes_the_relay_goes_out_without_waiting_for_its_interval(
    relaying,
) -> None:
    relay, db, settings = relaying(interval=3600)
    await db.cases.insert_one(
        {"_id": "case_before000001", **outbox_fields([opened("case_before000001")])}
    )
    running = asyncio.create_task(relay.run())
    try:
        # its first rounds publish and remove what was there; then it sleeps for an hour
        await eventually(lambda: _sent_and_removed(db, "case_before000001"), "the first round")
        await db.cases.insert_one(
            {"_id": "case_woken0000001", **outbox_fields([opened("case_woken0000001")])}
        )
        relay.wake()
        records = await read_all(
            settings.kafka_bootstrap_servers, settings.topic(OPENED.topic), expect=2
        )
        assert [json.loads(r.value)["case_id"] for r in records] == [
            "case_before000001",
            "case_woken0000001",
        ]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def _sent_and_removed(db: Any, case_id: str) -> bool:
    return await db.cases.count_documents({"_id": case_id, PENDING_FLAG: False}) == 1
