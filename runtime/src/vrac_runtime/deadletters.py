"""Dead letters back into the stream: list a service's dead letters and re-drive chosen ones.

    python -m vrac_runtime.deadletters list notifications
    python -m vrac_runtime.deadletters redrive notifications --id <ce_id> [--id ...]
    python -m vrac_runtime.deadletters redrive notifications --all

A dead letter keeps the original record's key, value and CloudEvents headers, plus headers
that say why it failed and where it came from (``vrac_dlq_*``). Re-driving publishes the
original record again to the topic it came from; that is safe because every consumer is
idempotent, and it reaches every group of that topic, which handle it at most once in
effect. Only dead letters of this service's consumer groups are listed and re-driven.
Nothing of the payload is printed: it may hold personal data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from vrac_contracts.catalogue import SERVICES, consumed_by, consumer_groups

from vrac_runtime.consumer import DLQ_ERROR, DLQ_REASON
from vrac_runtime.kafka import client_options, existing_partitions
from vrac_runtime.settings import ServiceSettings

_DLQ_PREFIX = "vrac_dlq_"


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered record: why it failed and where it belongs, never its payload."""

    event_id: str
    event_type: str
    reason: str
    error: str
    topic: str  # the physical topic it came from, where a re-drive sends it
    group: str
    attempts: str
    dead_letter_topic: str
    partition: int
    offset: int


async def read_dead_letters(settings: ServiceSettings) -> list[tuple[DeadLetter, Any]]:
    """Every dead letter of the service's groups, with the raw record to re-drive it."""
    service = settings.service_name
    topics = sorted({settings.topic(spec.dlq_topic) for spec in consumed_by(service)})
    groups = {settings.group(group) for group in consumer_groups(service)}
    # a record re-driven and dead-lettered again is listed once, as its latest failure
    found: dict[tuple[str, str], tuple[DeadLetter, Any]] = {}
    for record in await _read_topics(settings, topics):
        headers = {name: value.decode("utf-8", "replace") for name, value in record.headers}
        if headers.get("vrac_dlq_group") not in groups:
            continue
        letter = DeadLetter(
            event_id=headers.get("ce_id", ""),
            event_type=headers.get("ce_type", ""),
            reason=headers.get(DLQ_REASON, ""),
            error=headers.get(DLQ_ERROR, ""),
            topic=headers.get("vrac_dlq_topic", ""),
            group=headers.get("vrac_dlq_group", ""),
            attempts=headers.get("vrac_dlq_attempts", ""),
            dead_letter_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        found.pop((letter.event_id, letter.group), None)
        found[(letter.event_id, letter.group)] = (letter, record)
    return list(found.values())


async def redrive(settings: ServiceSettings, chosen: Sequence[tuple[DeadLetter, Any]]) -> int:
    """Publish each chosen dead letter's original record to its original topic."""
    producer = AIOKafkaProducer(
        **client_options(settings),
        client_id=f"{settings.service_name}-redrive",
        enable_idempotence=True,
        acks="all",
    )
    await producer.start()
    try:
        deliveries = []
        for letter, record in chosen:
            if not letter.topic:
                raise ValueError(f"dead letter {letter.event_id} names no original topic")
            headers = [(n, v) for n, v in record.headers if not n.startswith(_DLQ_PREFIX)]
            deliveries.append(
                await producer.send(
                    letter.topic, value=record.value, key=record.key, headers=headers
                )
            )
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    return len(chosen)


async def _read_topics(settings: ServiceSettings, topics: Sequence[str]) -> list[Any]:
    """Everything the topics hold now, from the earliest offset, without a consumer group."""
    partitions = await existing_partitions(client_options(settings), topics)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, part in batch.items():
                records.extend(part)
                if part and part[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            if not batch:
                remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return records
    finally:
        await consumer.stop()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vrac_runtime.deadletters",
        description="List a service's dead letters, or send chosen ones back to their topic.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="one line per dead letter, oldest first")
    listing.add_argument("service", choices=SERVICES)
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    again = commands.add_parser("redrive", help="re-publish dead letters to their topic")
    again.add_argument("service", choices=SERVICES)
    chosen = again.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--id", action="append", dest="ids", help="a dead letter's ce_id")
    chosen.add_argument("--all", action="store_true", help="every dead letter of the service")
    return parser


async def _main(args: argparse.Namespace) -> int:
    settings = ServiceSettings(service_name=args.service)
    letters = await read_dead_letters(settings)
    if args.command == "list":
        for letter, _ in letters:
            if args.json:
                print(json.dumps(asdict(letter)))
            else:
                print(
                    f"{letter.event_id}  {letter.event_type}  {letter.reason}  "
                    f"{letter.topic}  {letter.group}  {letter.error}"
                )
        print(f"{len(letters)} dead letter(s) of {args.service}", file=sys.stderr)
        return 0
    if args.all:
        chosen = letters
    else:
        wanted = set(args.ids)
        chosen = [(letter, record) for letter, record in letters if letter.event_id in wanted]
        missing = wanted - {letter.event_id for letter, _ in chosen}
        if missing:
            print(
                f"no dead letter of {args.service} with id {', '.join(sorted(missing))}",
                file=sys.stderr,
            )
            return 2
    count = await redrive(settings, chosen)
    print(f"re-drove {count} dead letter(s) of {args.service}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(_main(_parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
