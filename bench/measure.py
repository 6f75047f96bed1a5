"""Offer events at a rate, collect end-to-end latencies, summarise."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

SENT_AT = "bench_sent_ns"


@dataclass
class Run:
    name: str
    events: int
    offered_rate: float | None  # events/s, None = as fast as possible
    latencies_ms: list[float] = field(default_factory=list)
    first_sent: float = 0.0
    last_received: float = 0.0
    peak_memory_mib: dict[str, float | None] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        span = self.last_received - self.first_sent
        return len(self.latencies_ms) / span if span > 0 else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def summary(self) -> dict[str, object]:
        return {
            "events": self.events,
            "received": len(self.latencies_ms),
            "offered_rate": self.offered_rate,
            "throughput_eps": round(self.throughput, 1),
            "latency_ms": {
                "p50": round(self.percentile(50), 2),
                "p95": round(self.percentile(95), 2),
                "p99": round(self.percentile(99), 2),
                "mean": (
                    round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else None
                ),
            },
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


async def collect(
    consumer: AIOKafkaConsumer,
    run: Run,
    expected: int,
    progress: Progress,
    timeout: float,
    sent_at: Callable[[object], int | None],
) -> None:
    """Read until ``expected`` records carrying a send time arrived (or the time is up)."""
    deadline = time.monotonic() + timeout
    while len(run.latencies_ms) < expected and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=200, max_records=1000)
        now_ns = time.time_ns()
        for records in batches.values():
            for record in records:
                sent = sent_at(record)
                if sent is None:
                    continue
                run.latencies_ms.append((now_ns - sent) / 1e6)
                run.last_received = now_ns / 1e9
                progress.advance()


def header_sent_at(record: object) -> int | None:
    for name, value in getattr(record, "headers", ()) or ():
        if name == SENT_AT:
            return int(value)
    return None
