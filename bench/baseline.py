"""The physical baseline: raw aiokafka over three hops, on the same broker, in the same run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from vrac_runtime.kafka import ensure_topics
from vrac_runtime.settings import ServiceSettings

from bench.measure import SENT_AT, Progress, Run, collect, header_sent_at, offer
from bench.memory import peak_mib


async def run_baseline(bootstrap: str, events: int, rate: float | None) -> Run:
    tag = uuid.uuid4().hex[:8]
    topics = [f"bench{tag}.raw.{hop}" for hop in ("a", "b", "c")]
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap)
    await ensure_topics(settings, topics)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    hops = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.hop", topics[i], topics[i + 1], f"bench{tag}.hop{i}"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for hop in hops:
        assert hop.stdout is not None
        hop.stdout.readline()  # "ready"
    sink = AIOKafkaConsumer(
        topics[2],
        bootstrap_servers=bootstrap,
        group_id=f"bench{tag}.sink",
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5
    )
    await sink.start()
    await producer.start()
    label = f"baseline {'saturation' if rate is None else f'{rate:.0f}/s'}"
    run = Run(label, events, rate)
    progress = Progress(label, events)
    pending: list[asyncio.Future[object]] = []

    # The send time goes in at the moment of sending, so pacing is measured honestly.
    async def send_timed(i: int) -> None:
        key = f"case_bench{i:08d}".encode()
        pending.append(
            await producer.send(
                topics[0],
                value=b'{"n": %d}' % i,
                key=key,
                headers=[(SENT_AT, str(time.time_ns()).encode())],
            )
        )

    try:
        collector = asyncio.create_task(collect(sink, run, events, progress, 600, header_sent_at))
        run.first_sent = await offer(events, rate, send_timed)
        await asyncio.gather(*pending)
        await collector
    finally:
        for i, hop in enumerate(hops):
            run.peak_memory_mib[f"hop{i + 1}"] = peak_mib(hop.pid)
            hop.terminate()
        run.peak_memory_mib["driver"] = peak_mib()
        for hop in hops:
            hop.wait(timeout=30)
        await producer.stop()
        await sink.stop()
    return run
