"""Reporting as its own process, killed with SIGKILL after counting an event and before
committing its offset: after the restart every event counts once, however many events of the
same month come after it, and a re-published copy (same ``ce_id``) counts nothing.

The moment is found, not guessed: the process is frozen (SIGSTOP) every few events, and
killed only when the store holds a record whose offset the group has not committed.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import consumer_group
from vrac_contracts.envelope import Envelope, encode
from vrac_contracts.ids import new_id
from vrac_testing.kafka import read_all
from vrac_testing.polling import eventually
from vrac_testing.processes import Platform
from vrac_testing.tokens import bearer

from services.reporting.tests.reporting_testkit import event, reporting_consent

pytestmark = pytest.mark.integration

CASES = 12
BATCH = 300  # events published at a time while waiting for the moment to kill
STEP = 3  # events counted between two stops
AFTER = 250  # events of the same month after the crash: more than any window of recent ids
SAMPLES = 60
OPENED = "vrac.public.intake.case-opened.v1"


class Reporting:
    """One reporting process of a test's own deployment, which the test may kill."""

    def __init__(self, bootstrap: str, mongodb_url: str, prefix: str, logs: Path) -> None:
        self.platform = Platform(bootstrap, mongodb_url, f"{prefix}.", logs)
        self.bootstrap, self.mongodb_url = bootstrap, mongodb_url
        self.prefix = self.platform.prefix
        self.database = self.platform.env("reporting")["VRAC_MONGODB_DATABASE"]
        self.sent: list[Envelope[Any]] = []  # every distinct event
        self.records: Counter[str] = Counter()  # records per physical topic, copies included

    async def start(self) -> None:
        await asyncio.to_thread(self.platform.start, ("reporting",))

    def signal(self, number: signal.Signals) -> None:
        service = self.platform.services["reporting"]
        assert service.process is not None
        service.process.send_signal(number)

    async def kill(self) -> None:
        service = self.platform.services["reporting"]
        assert service.process is not None
        service.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(service.process.wait)
        service.process = None

    async def publish(self, envelopes: Iterable[Envelope[Any]], *, copies: bool = False) -> None:
        """Send the events; ``copies``: they were sent before (a relay publishing again)."""
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            for envelope in envelopes:
                record = encode(envelope)
                await producer.send(
                    self.prefix + record.topic,
                    value=record.value,
                    key=record.key,
                    headers=record.headers,
                )
                self.records[self.prefix + record.topic] += 1
                if not copies:
                    self.sent.append(envelope)
            await producer.flush()
        finally:
            await producer.stop()

    def ids_of(self, topic: str) -> set[str]:
        return {e.id for e in self.sent if encode(e).topic == topic}

    async def stored_ids(self) -> set[str]:
        """The event ids whose contribution the process recorded."""
        client: AsyncMongoClient[Any] = AsyncMongoClient(self.mongodb_url)
        try:
            cursor = client[self.database]["contributions_g0"].find({}, {"_id": 1})
            return {str(doc["_id"]) async for doc in cursor}
        finally:
            await client.close()

    async def wait_counted(self, ids: set[str], at_least: int) -> None:
        async def enough() -> bool:
            return len(ids & await self.stored_ids()) >= at_least

        await eventually(enough, f"{at_least} of the events to be counted", interval=0.02)

    async def committed(self) -> dict[TopicPartition, int]:
        """The offsets the process's consumer group committed."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            group = self.prefix + consumer_group("reporting")
            found = await admin.list_consumer_group_offsets(group)
            return {tp: meta.offset for tp, meta in found.items()}
        finally:
            await admin.close()

    async def counted_but_not_committed(self) -> list[str]:
        """Ids of case-opened records at or past the committed offset whose count is stored."""
        stored, committed = await self.stored_ids(), await self.committed()
        topic = self.prefix + OPENED
        records = await read_all(self.bootstrap, topic, expect=self.records[topic])
        return [
            dict(r.headers)["ce_id"].decode()
            for r in records
            if r.offset >= committed.get(TopicPartition(r.topic, r.partition), 0)
            and dict(r.headers)["ce_id"].decode() in stored
        ]

    async def all_committed(self) -> bool:
        """Every record sent so far was handled and its offset committed (the topics are
        this test's own, so their offsets count the records from 0)."""
        committed: Counter[str] = Counter()
        for tp, offset in (await self.committed()).items():
            committed[tp.topic] += offset
        return all(committed[topic] >= n for topic, n in self.records.items())

    async def march_opened(self) -> Any:
        """Leiden's ``cases_opened`` of March 2025, as its pilot lead reads it."""
        lead = bearer("pilot-lead", "leiden", "lead")
        async with httpx.AsyncClient(base_url=self.platform.url("reporting")) as client:
            response = await client.get("/reports/pilots/leiden", headers=lead)
        response.raise_for_status()
        months = {m["month"]: m for m in response.json()["months"]}
        return months["2025-03"]["cases_opened"]

    async def close(self) -> None:
        await asyncio.to_thread(self.platform.stop, ("reporting",))
        client: AsyncMongoClient[Any] = AsyncMongoClient(self.mongodb_url)
        await client.drop_database(self.database)
        await client.close()


@pytest.fixture
async def reporting(
    kafka_bootstrap: str, mongodb_url: str, test_prefix: str, tmp_path: Path
) -> AsyncIterator[Reporting]:
    process = Reporting(kafka_bootstrap, mongodb_url, test_prefix, tmp_path)
    try:
        yield process
    finally:
        await process.close()


async def kill_between_counting_and_committing(reporting: Reporting, cases: list[str]) -> list[str]:
    """Freeze the process (SIGSTOP) every few events of a stream until it is frozen after
    counting a record and before committing it, then kill it there with SIGKILL; returns the
    ids of the records it counted without committing."""
    await reporting.start()
    counted = 0
    for _ in range(SAMPLES):
        if counted % BATCH == 0:
            await reporting.publish(
                event("opened", case_id=cases[i % len(cases)]) for i in range(BATCH)
            )
        counted += STEP
        await reporting.wait_counted(reporting.ids_of(OPENED), at_least=counted)
        reporting.signal(signal.SIGSTOP)
        caught = await reporting.counted_but_not_committed()
        if caught:
            await reporting.kill()
            return caught
        reporting.signal(signal.SIGCONT)
    pytest.fail(f"in {SAMPLES} stops the process was never between a count and its commit")


async def test_a_crash_between_counting_and_committing_counts_each_event_once(
    reporting: Reporting,
) -> None:
    cases = [new_id("case") for _ in range(CASES)]
    await reporting.publish(reporting_consent(case) for case in cases)

    caught = await kill_between_counting_and_committing(reporting, cases)

    await reporting.start()
    # the relay of the producer publishes one of them again, with the same ce_id
    (copy,) = [e for e in reporting.sent if e.id == caught[0]]
    await reporting.publish([copy], copies=True)
    await reporting.publish(event("opened", case_id=cases[i % len(cases)]) for i in range(AFTER))
    await eventually(
        reporting.all_committed, "every record to be handled and committed", timeout=120
    )
    opened = [e for e in reporting.sent if encode(e).topic == OPENED]
    assert len({e.id for e in opened}) == len(opened)
    assert await reporting.march_opened() == len(opened)
    assert await reporting.stored_ids() == {e.id for e in reporting.sent}
