"""The bench's runs at a tiny size, on the real stack: correctness, never speed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pymongo import AsyncMongoClient
from vrac_contracts.events import DiplomaIssued, FindingsRecorded, NotificationDelivered
from vrac_notifications.adapters.store import MongoCaseFiles, MongoDeliveries
from vrac_notifications.domain.delivery import DeliveryStatus
from vrac_screening.adapters.store import MongoCases, MongoDiplomas, MongoScreenings
from vrac_testing.cleanup import forget_prefixes

from bench import seed
from bench.__main__ import Knobs, complete, measure
from bench.report import compare, table
from bench.same_work import run_same_work, start_same_work, stop_same_work

pytestmark = pytest.mark.integration


async def test_a_seeded_year_reads_back_through_the_services_own_adapters(
    mongodb_url: str, test_prefix: str
) -> None:
    databases = {role: f"{test_prefix}_{role}" for role in ("screening", "notifications")}
    now = dt.datetime.now(dt.UTC)
    counts = await seed.insert(mongodb_url, databases, seed.year_of_data(3, now))
    assert counts["screening.cases"] == counts["notifications.case_files"] == 3
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url, tz_aware=True)
    try:
        screening, notifications = (client[databases[r]] for r in ("screening", "notifications"))
        case = await MongoCases(screening).get("case_year00000002")
        assert case is not None and case.child_first_name == "Sam" and not case.erased
        [made] = await MongoScreenings(screening).of_case("case_year00000002")
        [diploma] = await MongoDiplomas(screening).of_case("case_year00000002")
        assert diploma.screening_id == made.screening_id
        case_file = await MongoCaseFiles(notifications).get("case_year00000002")
        assert case_file is not None and len(case_file.contacts) == 3
        planned = {item.delivery_id for item in case_file.plan()}
        statuses = await MongoDeliveries(notifications).statuses("case_year00000002")
        assert set(statuses) == planned  # every message the case file owes is on record
        assert sorted(statuses.values()) == sorted(
            [DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED, DeliveryStatus.WITHHELD]
        )
        assert await notifications["delivery_outcomes"].count_documents({}) == 6
    finally:
        await client.close()


async def _all_records(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await reader.start()
    try:
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or []]
        if not partitions:
            await reader._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic)]
        ends = await reader.end_offsets(partitions)
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        found: list[ConsumerRecord[bytes, bytes]] = []
        while len(found) < sum(ends.values()):
            for records in (await reader.getmany(timeout_ms=500)).values():
                found += records
        return found
    finally:
        await reader.stop()


async def test_same_work_delivers_each_case_once_and_a_redelivery_does_nothing_twice(
    kafka_bootstrap: str, mongodb_url: str
) -> None:
    sw = await start_same_work(kafka_bootstrap, mongodb_url, 3)
    emails = None
    try:
        first = await run_same_work(sw, None)
        assert first.summary()["received"] == 3
        assert {name: len(times) for name, times in first.hops_ms.items()} == {
            "diploma maker": 3,
            "notifications": 3,
            "read": 3,
        }
        # every record of the round read again, as after a crash before the commit
        again = [
            record
            for model in (FindingsRecorded, DiplomaIssued)
            for record in await _all_records(kafka_bootstrap, sw.topic(model))
        ]
        assert len(again) == 6
        for record in again:
            await sw.producer.send_and_wait(
                record.topic, value=record.value, key=record.key, headers=list(record.headers)
            )
        # the next round's records come after them, case by case: once it arrived, the
        # redeliveries were handled
        second = await run_same_work(sw, 10.0)
        assert second.summary()["received"] == 3
        delivered = await _all_records(kafka_bootstrap, sw.topic(NotificationDelivered))
        assert len(delivered) == 6
        assert {json.loads(r.value or b"")["case_id"] for r in delivered} == set(sw.cases)
    finally:
        emails = await stop_same_work(sw)
        await forget_prefixes(kafka_bootstrap, mongodb_url, {sw.prefix})
    assert emails == 6  # one per case and round, none for a redelivery


async def test_one_tiny_bench_run_tells_the_whole_story(
    kafka_bootstrap: str, mongodb_url: str
) -> None:
    knobs = Knobs(events=3, fixed_rate_seconds=1, year_cases=4, replay_events=0)
    results = await measure(kafka_bootstrap, mongodb_url, knobs)
    assert complete(results), json.dumps(results, indent=2)
    for side in ("raw", "same_work", "platform"):
        assert results[side]["fixed_rate"]["offered_rate"] == results["fixed_rate_eps"]
        hops = results[side]["fixed_rate"]["hop_latency_ms"]
        assert list(hops)[-1] == "read" and len(hops) == 3
    assert results["data_growth"]["seeded"]["notifications.deliveries"] == 3 * 4
    assert results["same_work"]["emails_received"] == results["same_work"]["emails_expected"]
    assert results["platform"]["logs"].startswith(".state")  # relative to the repository
    results |= compare(results)
    for name in ("throughput_ratio", "same_work_ratio", "data_growth_ratio"):
        assert results[name] is not None and results[name] > 0
        assert f"{name} (" in table(results)
    assert set(results["targets"]) >= {"same_work_ratio", "fixed_rate_p99_ms", "data_growth_ratio"}
