"""One raw-Kafka relay hop for the baseline: consume a topic, produce each record to the next.

``python -m bench.hop <in-topic> <out-topic> <group>``; stops on SIGTERM. Same client
settings as the platform: idempotent producer, ``acks=all``, offsets committed after the
record was produced.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from bench.clients import kafka_clients


async def relay(source: str, target: str, group: str) -> None:
    consumer, producer = kafka_clients([source], group)
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            pending = [
                await producer.send(target, value=r.value, key=r.key, headers=list(r.headers))
                for records in batches.values()
                for r in records
            ]
            if pending:
                await asyncio.gather(*pending)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


def main() -> None:
    source, target, group = sys.argv[1:4]
    asyncio.run(relay(source, target, group))


if __name__ == "__main__":
    main()
