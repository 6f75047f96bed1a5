"""A topic the relay cannot publish to delays only its own events (real FerretDB and Kafka)."""

from __future__ import annotations

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

    def relay(**options: Any) -> tuple[OutboxRelay, Any, Any]:
        options = {"send_timeout": 3, "first_backoff": 30, **options}
        return OutboxRelay(db, ["cases"], producer, settings, **options), db, settings

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
