"""Each test has its own topics and databases: the same names never meet across tests."""

from __future__ import annotations

import uuid

import pytest
from vrac_testing.kafka import read_all, send_raw

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("run", ["first", "second"])
async def test_the_same_topic_name_in_two_tests_does_not_share_messages(
    run: str, topic, kafka_bootstrap: str
) -> None:
    marker = f"{run}-{uuid.uuid4().hex}".encode()
    await send_raw(kafka_bootstrap, topic("shared"), marker, b"k", [])
    seen = await read_all(kafka_bootstrap, topic("shared"), expect=2, timeout=3)
    assert [record.value for record in seen] == [marker]


@pytest.mark.parametrize("run", ["first", "second"])
async def test_the_same_collection_in_two_tests_does_not_share_documents(
    run: str, mongo_db
) -> None:
    await mongo_db.things.insert_one({"run": run})
    assert [doc["run"] async for doc in mongo_db.things.find({}, {"_id": 0})] == [run]
