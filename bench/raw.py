"""The raw run: aiokafka over three hops, on the same broker, in the same run (Kafka's limit
on this machine)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from vrac_runtime.kafka import ensure_topics
from vrac_runtime.settings import ServiceSettings

from bench.measure import SENT_AT, Path, Run, timed_run
from bench.memory import peak_mib


async def run_raw(bootstrap: str, events: int, rate: float | None) -> Run:
    """Relay ``events`` records over the two hop processes at ``rate`` (None: at once); the
    run's topics are deleted afterwards."""
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
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5
    )
    await producer.start()
    keys = [f"case_bench{i:08d}".encode() for i in range(events)]

    async def send(i: int) -> object:
        return await producer.send(
            topics[0],
            value=b'{"n": %d}' % i,
            key=keys[i],
            headers=[(SENT_AT, str(time.time_ns()).encode())],
        )

    label = f"raw {'saturation' if rate is None else f'{rate:.0f}/s'}"
    path = Path(topics[1:], ["hop1", "hop2"])
    try:
        run = await timed_run(label, bootstrap, path, keys, rate, send, 600)
    finally:
        memory = {f"hop{i + 1}": peak_mib(hop.pid) for i, hop in enumerate(hops)}
        for hop in hops:
            hop.terminate()
        for hop in hops:
            hop.wait(timeout=30)
        await producer.stop()
        await _delete(bootstrap, topics)
    run.peak_memory_mib = memory | {"driver": peak_mib()}
    return run


async def _delete(bootstrap: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()
