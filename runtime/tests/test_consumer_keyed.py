"""Keyed concurrency against the real broker: cases in parallel, each case in order, a bound
on the records in flight, commits below the lowest unfinished record, and rebalances, stops
and crashes that lose and double nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import Envelope, encode, new_envelope
from vrac_contracts.events.intake import CaseOpened
from vrac_runtime.consumer import EventConsumer
from vrac_runtime.kafka import ensure_topics, make_broker
from vrac_runtime.logging import configure_logging
from vrac_runtime.settings import ServiceSettings
from vrac_testing.polling import eventually

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")
GROUP = "vrac.test"


def case_opened(case_id: str) -> Envelope[Any]:
    return new_envelope(OPENED.model.model_validate({**OPENED.example, "case_id": case_id}))


async def send(settings: ServiceSettings, envelopes: Sequence[Envelope[Any]]) -> list[int]:
    """Publish in this order, as intake would; the offset of each."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        offsets = []
        for envelope in envelopes:
            record = encode(envelope)
            sent = await producer.send_and_wait(
                settings.topic(record.topic), record.value, record.key, headers=record.headers
            )
            offsets.append(sent.offset)
        return offsets
    finally:
        await producer.stop()


async def committed(settings: ServiceSettings) -> dict[int, int]:
    """The group's committed offset per partition of the case-opened topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.group(GROUP))
    finally:
        await admin.close()
    topic = settings.topic(OPENED.topic)
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


class Member:
    """One member of the test's consumer group, started and stopped like a service does."""

    def __init__(self, settings: ServiceSettings, handler: Callable[..., Any]) -> None:
        self.settings = settings
        self.broker = make_broker(settings)
        self.consumer = EventConsumer(self.broker, settings, GROUP)
        self.consumer.on(CaseOpened, handler)
        self.consumer.register()

    async def start(self) -> None:
        await ensure_topics(self.settings, [*self.consumer.topics, *self.consumer.dlq_topics])
        await self.broker.start()
        self.consumer.started()

    async def stop(self) -> None:
        await self.broker.stop()

    def assignment(self) -> set[TopicPartition]:
        kafka = self.consumer._kafka()
        return set(kafka.assignment()) if kafka is not None else set()


@asynccontextmanager
async def member(settings: ServiceSettings, handler: Callable[..., Any]) -> AsyncIterator[Member]:
    one = Member(settings, handler)
    await one.start()
    try:
        yield one
    finally:
        await one.stop()


class Cases:
    """What the handlers saw: who is being handled now, in which order each case went."""

    def __init__(self) -> None:
        self.active: Counter[str] = Counter()
        self.most_at_once = 0
        self.overlapping: list[str] = []  # cases handled twice at the same time
        self.started: list[str] = []  # ce_id, in the order handling started
        self.finished: list[str] = []  # ce_id
        self.order: defaultdict[str, list[str]] = defaultdict(list)  # case -> ce_id finished

    def begin(self, envelope: Envelope[Any]) -> str:
        case = str(envelope.data.case_id)
        if self.active[case]:
            self.overlapping.append(case)
        self.active[case] += 1
        self.most_at_once = max(self.most_at_once, sum(self.active.values()))
        self.started.append(envelope.id)
        return case

    def end(self, envelope: Envelope[Any], case: str) -> None:
        self.active[case] -= 1
        self.finished.append(envelope.id)
        self.order[case].append(envelope.id)


async def test_different_cases_are_handled_at_once(make_settings) -> None:
    settings = make_settings("runtime")
    cases = Cases()
    second_started = asyncio.Event()
    first, second = case_opened("case_waits00000001"), case_opened("case_frees00000001")

    async def handler(envelope: Envelope[Any]) -> None:
        case = cases.begin(envelope)
        if envelope.id == first.id:
            # one record at a time would never start the second while this one waits
            async with asyncio.timeout(30):
                await second_started.wait()
        else:
            second_started.set()
        cases.end(envelope, case)

    async with member(settings, handler):
        await send(settings, [first, second])
        await eventually(lambda: len(cases.finished) == 2, "both cases", 40)
    assert cases.finished == [second.id, first.id]


async def test_each_case_is_handled_in_order_and_never_twice_at_once(make_settings) -> None:
    settings = make_settings("runtime", topic_partitions=2)
    cases = Cases()
    names = [f"case_ordered{n:06d}" for n in range(6)]
    sent = [case_opened(name) for _ in range(5) for name in names]  # interleaved

    async def handler(envelope: Envelope[Any]) -> None:
        case = cases.begin(envelope)
        # uneven handling times shuffle the cases against each other
        await asyncio.sleep((hash(envelope.id) % 7) / 200)
        cases.end(envelope, case)

    async with member(settings, handler):
        await send(settings, sent)
        await eventually(lambda: len(cases.finished) == len(sent), "every event", 40)
    assert cases.overlapping == []
    assert cases.most_at_once > 1
    for name in names:
        assert cases.order[name] == [e.id for e in sent if e.data.case_id == name]


async def test_no_more_records_than_the_bound_are_in_flight(make_settings) -> None:
    settings = make_settings("runtime", consumer_max_in_flight=3)
    cases = Cases()
    gates: list[asyncio.Event] = []  # one per started handler, opened by the test in turn
    sent = [case_opened(f"case_bounded{n:06d}") for n in range(10)]

    async def handler(envelope: Envelope[Any]) -> None:
        case = cases.begin(envelope)
        gate = asyncio.Event()
        gates.append(gate)
        async with asyncio.timeout(60):
            await gate.wait()
        cases.end(envelope, case)

    async with member(settings, handler):
        await send(settings, sent)
        for released in range(len(sent)):
            # the bound is full (or every record left has started); no handler ends until
            # the test opens its gate, so a consumer without a bound would start them all
            in_flight = min(3, len(sent) - released)
            await eventually(lambda n=in_flight: sum(cases.active.values()) == n, "a full bound")
            gates[released].set()
            await eventually(lambda n=released: len(cases.finished) == n + 1, "the one let go")
    assert cases.most_at_once == 3
    assert sorted(cases.finished) == sorted(e.id for e in sent)


async def test_a_retried_case_holds_back_only_itself_and_the_commit(make_settings) -> None:
    settings = make_settings("runtime", handler_max_attempts=1000, handler_backoff_seconds=0.05)
    cases = Cases()
    may_succeed = asyncio.Event()
    failing = case_opened("case_failing000001")
    others = [case_opened(f"case_fine{n:09d}") for n in range(3)]
    attempts: list[str] = []

    async def handler(envelope: Envelope[Any]) -> None:
        if envelope.id == failing.id and not may_succeed.is_set():
            attempts.append(envelope.id)
            raise ConnectionError("store briefly unreachable")
        case = cases.begin(envelope)
        cases.end(envelope, case)

    async with member(settings, handler):
        offsets = await send(settings, [failing, *others])
        await eventually(lambda: len(cases.finished) == 3, "the other cases", 40)
        # the other cases went through while the first was still being retried
        assert sorted(cases.finished) == sorted(e.id for e in others)
        assert failing.id not in cases.finished and attempts
        may_succeed.set()
        await eventually(lambda: failing.id in cases.finished, "the retried case", 40)
    assert cases.finished[-1] == failing.id
    assert await committed(settings) == {0: offsets[-1] + 1}


async def test_the_commit_stays_below_the_lowest_unfinished_record(make_settings) -> None:
    settings = make_settings("runtime", shutdown_grace_seconds=0.5)
    cases = Cases()
    before = case_opened("case_before0000001")
    stuck = case_opened("case_stuck00000001")
    after = [case_opened(f"case_after{n:08d}") for n in range(3)]

    async def handler(envelope: Envelope[Any]) -> None:
        case = cases.begin(envelope)
        if envelope.id == stuck.id:
            await asyncio.Event().wait()  # until the stop cancels it
        cases.end(envelope, case)

    async with member(settings, handler):
        offsets = await send(settings, [before, stuck, *after])
        await eventually(lambda: len(cases.finished) == 4, "every case but the stuck one", 40)
    # stopped: whatever it was going to commit is committed
    assert await committed(settings) == {0: offsets[1]}

    again = Cases()

    async def record(envelope: Envelope[Any]) -> None:
        again.end(envelope, again.begin(envelope))

    async with member(settings, record):
        await eventually(lambda: len(again.finished) == 4, "the records from the stuck one", 40)
    assert sorted(again.finished) == sorted([stuck.id, *[e.id for e in after]])


async def test_a_stop_waits_for_the_records_in_flight_and_commits_them(make_settings) -> None:
    settings = make_settings("runtime", shutdown_grace_seconds=30)
    cases = Cases()
    release = asyncio.Event()
    sent = [case_opened(f"case_stopping{n:05d}") for n in range(4)]

    async def handler(envelope: Envelope[Any]) -> None:
        case = cases.begin(envelope)
        async with asyncio.timeout(30):
            await release.wait()
        cases.end(envelope, case)

    one = Member(settings, handler)
    await one.start()
    offsets = await send(settings, sent)
    await eventually(lambda: len(cases.started) == 4, "every case started", 40)
    stopping = asyncio.create_task(one.stop())
    (subscriber,) = one.broker.subscribers
    await eventually(lambda: not subscriber.running, "the stop to begin")
    release.set()
    await stopping
    assert sorted(cases.finished) == sorted(e.id for e in sent)
    assert await committed(settings) == {0: offsets[-1] + 1}


def spread_over(partitions: int, per_partition: int) -> list[str]:
    """Case ids whose keys land ``per_partition`` on each partition."""
    partitioner = DefaultPartitioner()
    found: defaultdict[int, list[str]] = defaultdict(list)
    n = 0
    while any(len(found[p]) < per_partition for p in range(partitions)):
        case = f"case_spread{n:07d}"
        at = partitioner(case.encode(), list(range(partitions)), list(range(partitions)))
        if len(found[at]) < per_partition:
            found[at].append(case)
        n += 1
    return [case for p in range(partitions) for case in found[p]]


def logged(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


async def test_a_member_joining_while_records_are_in_flight_loses_and_doubles_nothing(
    make_settings, capsys
) -> None:
    names = spread_over(3, 2)
    sent = [case_opened(name) for _ in range(3) for name in names]
    # room for every record: with less, which cases start first depends on the fetch order
    settings = make_settings("runtime", topic_partitions=3, consumer_max_in_flight=len(sent))
    configure_logging("runtime")
    cases = Cases()
    handled_by: dict[str, str] = {}
    release = asyncio.Event()

    def handling(member_name: str) -> Callable[..., Any]:
        async def handler(envelope: Envelope[Any]) -> None:
            case = cases.begin(envelope)
            async with asyncio.timeout(60):
                await release.wait()
            handled_by[envelope.id] = member_name
            cases.end(envelope, case)

        return handler

    async with member(settings, handling("first")) as first:
        await eventually(lambda: len(first.assignment()) == 3, "the first member's partitions")
        await send(settings, sent)
        # one record of each case is being handled, the others wait behind it
        await eventually(lambda: len(cases.started) == len(names), "every case started", 40)
        second = Member(settings, handling("second"))
        joining = asyncio.create_task(second.start())
        try:
            # the first member gives partitions up only once its records in flight are done
            await eventually(
                lambda: any(
                    line["event"] == "partitions revoked"
                    for line in logged(capsys.readouterr().out)
                ),
                "the revocation",
                40,
            )
            assert len(cases.finished) == 0
            release.set()
            await joining
            await eventually(lambda: len(cases.finished) == len(sent), "every event", 60)
            await eventually(lambda: second.assignment(), "the second member's partitions")
        finally:
            await second.stop()
    assert sorted(cases.finished) == sorted(e.id for e in sent)  # each once
    assert cases.overlapping == []
    assert "second" in handled_by.values()
    for name in names:
        assert cases.order[name] == [e.id for e in sent if e.data.case_id == name]


async def test_a_crash_with_records_done_above_an_unfinished_one_handles_them_again(
    make_settings, kafka_bootstrap: str
) -> None:
    settings = make_settings("runtime")
    stuck = case_opened("case_crashstuck001")
    after = [case_opened(f"case_crashafter{n:04d}") for n in range(3)]
    env = {
        **os.environ,
        "VRAC_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "VRAC_TOPIC_PREFIX": settings.topic_prefix,
        "VRAC_TOPIC_PARTITIONS": "1",
        "VRAC_TEST_STUCK_CASE": stuck.data.case_id,
    }
    await ensure_topics(settings, [settings.topic(OPENED.topic), settings.topic(OPENED.dlq_topic)])
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("keyed_member.py")),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    finished: list[str] = []
    try:
        await send(settings, [stuck, *after])
        async with asyncio.timeout(60):
            while len(finished) < len(after):
                line = await process.stdout.readline()
                assert line, "the member ended"
                if line.startswith(b"{") and "finished" in (said := json.loads(line)):
                    finished.append(said["finished"])
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert sorted(finished) == sorted(e.id for e in after)

    again = Cases()

    async def record(envelope: Envelope[Any]) -> None:
        again.end(envelope, again.begin(envelope))

    async with member(settings, record):
        await eventually(lambda: len(again.finished) == 4, "every record again", 40)
    # the records finished above the unfinished one are handled again
    assert sorted(again.finished) == sorted([stuck.id, *[e.id for e in after]])
