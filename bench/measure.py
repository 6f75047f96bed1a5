"""Offer events at a rate, collect end-to-end and per-hop latencies, summarise."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from vrac_testing.polling import eventually

SENT_AT = "bench_sent_ns"


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def _spread(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2),
        "mean": round(statistics.fmean(values), 2) if values else None,
    }


@dataclass
class Run:
    name: str
    events: int
    offered_rate: float | None  # events/s, None = as fast as possible
    latencies_ms: list[float] = field(default_factory=list)
    first_sent: float = 0.0
    last_received: float = 0.0
    peak_memory_mib: dict[str, float | None] = field(default_factory=dict)
    # per hop, in path order: the time each event spent there
    hops_ms: dict[str, list[float]] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        span = self.last_received - self.first_sent
        return len(self.latencies_ms) / span if span > 0 else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def summary(self) -> dict[str, object]:
        return {
            "events": self.events,
            "received": len(self.latencies_ms),
            "offered_rate": self.offered_rate,
            "throughput_eps": round(self.throughput, 2),
            "latency_ms": _spread(self.latencies_ms),
            "hop_latency_ms": {name: _spread(values) for name, values in self.hops_ms.items()},
            "peak_memory_mib": self.peak_memory_mib,
        }


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self._shown = label, total, 0, -1
        self._step = 1 if sys.stderr.isatty() else 10

    def advance(self, count: int = 1) -> None:
        self.done += count
        percent = min(100, int(100 * self.done / self.total)) if self.total else 100
        shown = percent - percent % self._step
        if shown == self._shown:
            return
        self._shown = shown
        bar = f"{self.label:<38} [{'#' * (shown // 4):<25}] {shown:3d}%"
        if self._step == 1:
            sys.stderr.write(f"\r{bar}" + ("\n" if shown == 100 else ""))
        else:
            sys.stderr.write(bar + "\n")
        sys.stderr.flush()


async def offer(
    count: int, rate: float | None, send_one: Callable[[int], Awaitable[None]]
) -> float:
    """Call ``send_one(i)`` ``count`` times, paced at ``rate`` per second; returns start time."""
    start = time.monotonic()
    wall_start = time.time()
    for i in range(count):
        if rate:
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await send_one(i)
    return wall_start


@dataclass
class Path:
    """Where a run's events pass: the topics each hop publishes on, in order; the last is
    the one whose arrival ends the event's trip. Hop ``i`` lasts from the time the event
    reached the previous topic (its send, for the first) to the Kafka timestamp of its record
    on topic ``i``; the last hop, "read", from that record's timestamp to the bench reading it.
    """

    topics: list[str]
    hop_names: list[str]

    def __post_init__(self) -> None:
        if len(self.hop_names) != len(self.topics):
            raise ValueError("one hop name per topic")


@dataclass
class _Trip:
    sent_ns: int
    stamps_ms: dict[int, int] = field(default_factory=dict)  # topic index -> Kafka timestamp
    arrived_ns: int | None = None


class Clock:
    """The times of each event, by Kafka key, as the bench sends and reads them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.trips: dict[bytes, _Trip] = {}
        self._index = {topic: i for i, topic in enumerate(path.topics)}

    def sent(self, key: bytes) -> None:
        self.trips[key] = _Trip(time.time_ns())

    def seen(self, topic: str, key: bytes | None, timestamp_ms: int, now_ns: int) -> bool:
        """Note a record; True when it is an event's first arrival on the last topic."""
        trip = self.trips.get(key) if key is not None else None
        index = self._index.get(topic)
        if trip is None or index is None or index in trip.stamps_ms:
            return False  # not this run's, or a redelivery: counted once
        trip.stamps_ms[index] = timestamp_ms
        if index == len(self.path.topics) - 1:
            trip.arrived_ns = now_ns
            return True
        return False

    def complete(self) -> bool:
        """Whether every arrived event was seen on every topic of its path."""
        last = len(self.path.topics)
        return all(
            len(t.stamps_ms) == last for t in self.trips.values() if t.arrived_ns is not None
        )

    def fill(self, run: Run) -> None:
        """The end-to-end and per-hop latencies of the events that arrived."""
        names = [*self.path.hop_names, "read"]
        hops: dict[str, list[float]] = {name: [] for name in names}
        for trip in self.trips.values():
            if trip.arrived_ns is None:
                continue
            run.latencies_ms.append((trip.arrived_ns - trip.sent_ns) / 1e6)
            run.last_received = max(run.last_received, trip.arrived_ns / 1e9)
            if len(trip.stamps_ms) < len(self.path.topics):
                continue  # a hop's record not read in time: no hop times for it
            marks = [trip.sent_ns / 1e6, *(trip.stamps_ms[i] for i in sorted(trip.stamps_ms))]
            marks.append(trip.arrived_ns / 1e6)
            for name, start, end in zip(names, marks, marks[1:], strict=False):
                hops[name].append(end - start)
        run.hops_ms = hops


async def from_the_end(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> None:
    """Read ``topics`` from what arrives next: earlier rounds' records are not this one's."""
    assigned: list[TopicPartition] = []
    for topic in topics:

        async def known_partitions(topic: str = topic) -> set[int] | None:
            partitions: set[int] | None = consumer.partitions_for_topic(topic)
            if not partitions:
                await consumer._client.force_metadata_update()  # new to this client
            return partitions

        partitions = await eventually(known_partitions, f"the partitions of {topic}", timeout=60)
        assigned += [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    await consumer.seek_to_end(*assigned)
    for tp in assigned:
        await consumer.position(tp)


async def collect(
    consumer: AIOKafkaConsumer,
    clock: Clock,
    expected: int,
    progress: Progress,
    timeout: float,
    linger: float = 10.0,
) -> None:
    """Read until ``expected`` events arrived at the end of their path (or the time is up),
    then a little longer for hop records the bench has not read yet."""
    deadline = time.monotonic() + timeout
    arrived = 0
    while arrived < expected and time.monotonic() < deadline:
        arrived += await _read(consumer, clock, progress)
    late = time.monotonic() + linger
    while not clock.complete() and time.monotonic() < late:
        await _read(consumer, clock, progress)


async def _read(consumer: AIOKafkaConsumer, clock: Clock, progress: Progress) -> int:
    arrived = 0
    batches = await consumer.getmany(timeout_ms=200, max_records=1000)
    now_ns = time.time_ns()
    for tp, records in batches.items():
        for record in records:
            if clock.seen(tp.topic, record.key, record.timestamp, now_ns):
                arrived += 1
                progress.advance()
    return arrived


async def timed_run(
    label: str,
    bootstrap: str,
    path: Path,
    keys: Sequence[bytes],
    rate: float | None,
    send: Callable[[int], Awaitable[Any]],
    timeout: float,
) -> Run:
    """Offer one event per key through ``send(i)`` (which publishes and returns the delivery
    future) and time each along ``path``."""
    run = Run(label, len(keys), rate)
    clock = Clock(path)
    progress = Progress(label, len(keys))
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await reader.start()
    pending: list[Any] = []

    async def send_timed(i: int) -> None:
        clock.sent(keys[i])  # the clock starts at the moment of sending: pacing is honest
        pending.append(await send(i))

    try:
        await from_the_end(reader, path.topics)
        collector = asyncio.create_task(collect(reader, clock, len(keys), progress, timeout))
        run.first_sent = await offer(len(keys), rate, send_timed)
        await asyncio.gather(*pending)
        await collector
    finally:
        await reader.stop()
    clock.fill(run)
    return run
