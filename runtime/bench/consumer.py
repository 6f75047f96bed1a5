"""The runtime's consumer alone: records per second through one consumer group whose handler
waits a fixed time per record (standing in for a handler's store round trips), at several
``VRAC_CONSUMER_MAX_IN_FLIGHT`` values. No store, no SMTP: it measures what the consumer
itself allows.

    uv run --frozen python runtime/bench/consumer.py [--records 2000] [--cases 500]
        [--wait-ms 20] [--in-flight 1,8,64]

Needs ``KAFKA_BOOTSTRAP_SERVERS``; each run's topics get a fresh prefix and are deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import Envelope, encode, new_envelope
from vrac_contracts.events.intake import CaseOpened
from vrac_runtime.consumer import EventConsumer
from vrac_runtime.kafka import ensure_topics, make_broker
from vrac_runtime.logging import configure_logging
from vrac_runtime.settings import ServiceSettings

OPENED = by_type("org.vrac.intake.case-opened.v1")


def events(records: int, cases: int) -> list[Envelope[Any]]:
    return [
        new_envelope(
            OPENED.model.model_validate({**OPENED.example, "case_id": f"case_b{n % cases:016d}"})
        )
        for n in range(records)
    ]


async def produce(settings: ServiceSettings, sent: list[Envelope[Any]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        for envelope in sent:
            record = encode(envelope)
            await producer.send(
                settings.topic(record.topic), record.value, record.key, headers=record.headers
            )
        await producer.flush()
    finally:
        await producer.stop()


async def one_run(kafka: str, records: int, cases: int, wait: float, in_flight: int) -> float:
    """Records per second from the first record handled to the last."""
    settings = ServiceSettings(
        service_name="bench",
        kafka_bootstrap_servers=kafka,
        topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
        topic_partitions=3,
        consumer_max_in_flight=in_flight,
    )
    broker = make_broker(settings)
    consumer = EventConsumer(broker, settings, "vrac.bench")
    handled: list[float] = []
    all_done = asyncio.Event()

    async def handler(_: Envelope[Any]) -> None:
        await asyncio.sleep(wait)
        handled.append(time.perf_counter())
        if len(handled) == records:
            all_done.set()

    consumer.on(CaseOpened, handler)
    consumer.register()
    topics = [*consumer.topics, *consumer.dlq_topics]
    await ensure_topics(settings, topics)
    await produce(settings, events(records, cases))  # a backlog, then the consumer starts
    await broker.start()
    try:
        async with asyncio.timeout(600):
            await all_done.wait()
    finally:
        await broker.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        await admin.start()
        try:
            await admin.delete_topics(topics)
        finally:
            await admin.close()
    return (records - 1) / (handled[-1] - handled[0])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--wait-ms", type=float, default=20.0)
    parser.add_argument("--in-flight", default="1,8,64")
    args = parser.parse_args()
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    configure_logging("bench", "WARNING")  # a line per handled record would be measured too
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.WARNING)
    print(f"{args.records} records over {args.cases} cases, handler waits {args.wait_ms:g} ms")
    for in_flight in (int(n) for n in args.in_flight.split(",")):
        records = args.records if in_flight > 1 else min(args.records, 200)
        rate = await one_run(kafka, records, args.cases, args.wait_ms / 1000, in_flight)
        print(f"in flight {in_flight:>4}: {rate:8.1f} records/s ({records} records)")


if __name__ == "__main__":
    asyncio.run(main())
