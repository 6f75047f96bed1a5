"""Back up a service's store with the Kafka offsets it goes with, and restore both.

    python -m vrac_runtime.backup dump --service screening --out screening.vrac.gz
    python -m vrac_runtime.backup show --from screening.vrac.gz
    python -m vrac_runtime.backup restore --service screening --from screening.vrac.gz [--drop]

A dump first reads the committed offsets of the service's consumer groups, then every
document and index of its database, into one gzip file of BSON documents: a header (service,
database, time, offsets, each collection's indexes), one record per document, and a trailer
with the counts, so a cut-off file is refused. Offsets before documents: whatever the dump
misses of an event handled meanwhile is handled again after a restore, never skipped.

A restore puts the documents and indexes back and sets the groups' offsets to what the dump
recorded (a partition without a committed offset back to its first record, as the group read
it then). Started again, the service's consumers handle everything that happened since the
dump (handlers are idempotent) and its relay publishes what the restored outboxes hold
(consumers drop duplicates by ``ce_id``). It refuses while a group has members (stop the
service first), when the database holds data (``--drop`` replaces it), and when the topics
no longer hold records the restore would need (``--accept-missing`` restores anyway).
Works with MongoDB and FerretDB alike: plain PyMongo, no ``mongodump`` needed.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import bson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from bson.codec_options import CodecOptions
from bson.errors import InvalidBSON
from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts.catalogue import SERVICES, consumed_by, consumer_groups

from vrac_runtime.kafka import client_options, existing_partitions
from vrac_runtime.settings import ServiceSettings

FORMAT = "vrac-store-backup"
VERSION = 1
_RAW = CodecOptions(document_class=RawBSONDocument, tz_aware=True)
_AWARE: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)
_BATCH = 1000
# index options that describe the index itself rather than how to create it
_NOT_OPTIONS = frozenset({"v", "key", "ns"})


class Refused(Exception):
    """A restore that would do harm; the message says what to do instead."""


@dataclass(frozen=True)
class GroupOffset:
    group: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Header:
    service: str
    database: str
    taken_at: datetime
    offsets: tuple[GroupOffset, ...]
    indexes: dict[str, list[dict[str, Any]]]  # collection -> index specs


# --- the groups and their offsets ----------------------------------------------------------


def group_topics(settings: ServiceSettings) -> dict[str, list[str]]:
    """Each consumer group of the service (physical name) -> the topics it reads."""
    service = settings.service_name
    topics: dict[str, list[str]] = {settings.group(g): [] for g in consumer_groups(service)}
    for spec in consumed_by(service):
        topics[settings.group(spec.group_for(service))].append(settings.topic(spec.topic))
    return topics


async def committed_offsets(settings: ServiceSettings) -> list[GroupOffset]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        found = []
        for group in group_topics(settings):
            committed = await admin.list_consumer_group_offsets(group)
            found += [
                GroupOffset(group, tp.topic, tp.partition, meta.offset)
                for tp, meta in sorted(committed.items())
                if meta.offset >= 0
            ]
        return found
    finally:
        await admin.close()


async def active_groups(settings: ServiceSettings) -> dict[str, int]:
    """The service's groups that have members right now -> how many."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        # one group per request: aiokafka 0.14 fails to decode some multi-group answers
        responses = [
            response
            for group in group_topics(settings)
            for response in await admin.describe_consumer_groups([group])
        ]
    finally:
        await admin.close()
    # each described group: (error_code, group_id, state, protocol_type, protocol, members, ...)
    described = [group for response in responses for group in response.groups]
    unknown = [group[1] for group in described if group[0]]
    if unknown:
        raise Refused(f"could not tell whether these groups have members: {', '.join(unknown)}")
    return {group[1]: len(group[5]) for group in described if group[5]}


async def wanted_offsets(
    settings: ServiceSettings, recorded: Sequence[GroupOffset]
) -> tuple[dict[str, dict[TopicPartition, int]], list[str]]:
    """Per group, the offset each partition restarts from, and the records that are gone
    from the topics since (one line per partition)."""
    given = {(o.group, o.topic, o.partition): o.offset for o in recorded}
    options = client_options(settings)
    consumer = AIOKafkaConsumer(**options, enable_auto_commit=False)
    await consumer.start()
    try:
        wanted: dict[str, dict[TopicPartition, int]] = {}
        missing: list[str] = []
        for group, topics in group_topics(settings).items():
            partitions = await existing_partitions(options, topics)
            firsts = await consumer.beginning_offsets(partitions) if partitions else {}
            offsets = wanted[group] = {}
            for tp in partitions:
                offset = given.get((group, tp.topic, tp.partition), 0)
                if offset < firsts[tp]:
                    missing.append(
                        f"{group}: {tp.topic} partition {tp.partition} "
                        f"offsets {offset}-{firsts[tp] - 1}"
                    )
                offsets[tp] = max(offset, firsts[tp])
        return wanted, missing
    finally:
        await consumer.stop()


async def reset_offsets(
    settings: ServiceSettings, wanted: dict[str, dict[TopicPartition, int]]
) -> None:
    """Commit the offsets for each group, as a member-less client may while it is empty."""
    for group, offsets in wanted.items():
        if not offsets:
            continue
        consumer = AIOKafkaConsumer(
            **client_options(settings), group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(list(offsets))
            await consumer.commit(offsets)
        finally:
            await consumer.stop()


# --- the archive ---------------------------------------------------------------------------


async def dump(settings: ServiceSettings, out: Path) -> Counter[str]:
    """Write the backup of the service's store to ``out``; returns documents per collection."""
    offsets = await committed_offsets(settings)  # first: see the module's docstring
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    counts: Counter[str] = Counter()
    partial = out.with_name(out.name + ".partial")
    try:
        db = client.get_database(settings.database, codec_options=_RAW)
        names = sorted(n for n in await db.list_collection_names() if not n.startswith("system."))
        indexes = {name: await _indexes(db, name) for name in names}
        with gzip.open(partial, "wb") as file:
            file.write(bson.encode(_header_doc(settings, offsets, indexes)))
            for name in names:
                async for raw in db[name].find({}):
                    file.write(bson.encode({"c": name, "d": raw}))
                    counts[name] += 1
            file.write(bson.encode({"end": True, "counts": dict(counts)}))
        partial.replace(out)  # a backup that exists is a whole one
    finally:
        partial.unlink(missing_ok=True)
        await client.close()
    return counts


async def _indexes(db: AsyncDatabase[Any], name: str) -> list[dict[str, Any]]:
    cursor = await db[name].list_indexes()
    return [dict(spec) async for spec in cursor]


def _header_doc(
    settings: ServiceSettings,
    offsets: Sequence[GroupOffset],
    indexes: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "service": settings.service_name,
        "database": settings.database,
        "taken_at": datetime.now(UTC),
        "offsets": [
            {"group": o.group, "topic": o.topic, "partition": o.partition, "offset": o.offset}
            for o in offsets
        ],
        "collections": [{"name": name, "indexes": specs} for name, specs in indexes.items()],
    }


def read_header(path: Path) -> tuple[Header, Counter[str]]:
    """The archive's header and its document counts, after checking it is whole."""
    try:
        return _read_header(path)
    except (InvalidBSON, EOFError, gzip.BadGzipFile) as err:
        raise Refused(f"{path} is cut off or damaged: {type(err).__name__}") from None


def _read_header(path: Path) -> tuple[Header, Counter[str]]:
    counts: Counter[str] = Counter()
    with gzip.open(path, "rb") as file:
        records = _records(file)
        first = next(records, None)
        if first is None or first.get("format") != FORMAT or first.get("version") != VERSION:
            raise Refused(f"{path} is not a backup of this tool (format {FORMAT} {VERSION})")
        trailer = None
        for record in records:
            if "end" in record:
                trailer = bson.decode(record.raw)
                break
            counts[record["c"]] += 1
    if trailer is None or Counter(trailer["counts"]) != counts:
        raise Refused(f"{path} is cut off or damaged: its documents do not match its trailer")
    return _header(bson.decode(first.raw, codec_options=_AWARE)), counts


def _records(file: gzip.GzipFile) -> Iterator[RawBSONDocument]:
    yield from bson.decode_file_iter(cast(BinaryIO, file), codec_options=_RAW)


def _header(doc: dict[str, Any]) -> Header:
    offsets = tuple(
        GroupOffset(o["group"], o["topic"], int(o["partition"]), int(o["offset"]))
        for o in doc["offsets"]
    )
    indexes = {c["name"]: list(c["indexes"]) for c in doc["collections"]}
    return Header(doc["service"], doc["database"], doc["taken_at"], offsets, indexes)


async def restore(
    settings: ServiceSettings, path: Path, *, drop: bool = False, accept_missing: bool = False
) -> Counter[str]:
    """Put a backup back: documents, indexes, then the groups' offsets (see the docstring)."""
    header, counts = read_header(path)
    if header.service != settings.service_name:
        raise Refused(f"{path} is a backup of {header.service}, not {settings.service_name}")
    members = await active_groups(settings)
    if members:
        running = ", ".join(f"{group} ({n} members)" for group, n in sorted(members.items()))
        raise Refused(f"stop {settings.service_name} first: its groups have members: {running}")
    wanted, missing = await wanted_offsets(settings, header.offsets)
    if missing and not accept_missing:
        raise Refused(
            "the topics no longer hold records handled after this backup, so their effects "
            f"would be lost: {'; '.join(missing)} (--accept-missing restores anyway)"
        )
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        await _empty_database(client, settings.database, drop)
        db = client.get_database(settings.database, codec_options=_RAW)
        await _create_indexes(db, header.indexes)
        await _insert_documents(db, path)
    finally:
        await client.close()
    await reset_offsets(settings, wanted)
    return counts


async def _empty_database(client: AsyncMongoClient[Any], name: str, drop: bool) -> None:
    held = [n for n in await client[name].list_collection_names() if not n.startswith("system.")]
    if held and not drop:
        raise Refused(f"database {name} holds {len(held)} collections (--drop replaces them)")
    if held:
        await client.drop_database(name)


async def _create_indexes(db: AsyncDatabase[Any], indexes: dict[str, list[dict[str, Any]]]) -> None:
    for name, specs in indexes.items():
        await db.create_collection(name)
        models = [
            IndexModel(
                list(spec["key"].items()),
                **{k: v for k, v in spec.items() if k not in _NOT_OPTIONS},
            )
            for spec in specs
            if spec["name"] != "_id_"
        ]
        if models:
            await db[name].create_indexes(models)


async def _insert_documents(db: AsyncDatabase[Any], path: Path) -> None:
    async for name, batch in _batches(path):
        await db[name].insert_many(batch, ordered=True)


async def _batches(path: Path) -> AsyncIterator[tuple[str, list[RawBSONDocument]]]:
    with gzip.open(path, "rb") as file:
        records = _records(file)
        next(records)  # the header
        name, batch = "", list[RawBSONDocument]()
        for record in records:
            if "end" in record or (batch and record["c"] != name) or len(batch) >= _BATCH:
                if batch:
                    yield name, batch
                batch = []
            if "end" in record:
                return
            name = record["c"]
            batch.append(record["d"])


# --- the command ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vrac_runtime.backup",
        description="Back up a service's store with its consumer groups' offsets; restore both.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    dumping = commands.add_parser("dump", help="write a backup of the service's store")
    dumping.add_argument("--service", required=True, choices=SERVICES)
    dumping.add_argument("--out", required=True, type=Path, help="the file to write (gzip)")
    showing = commands.add_parser("show", help="what a backup holds")
    showing.add_argument("--from", dest="source", required=True, type=Path)
    restoring = commands.add_parser("restore", help="put a backup back (service stopped)")
    restoring.add_argument("--service", required=True, choices=SERVICES)
    restoring.add_argument("--from", dest="source", required=True, type=Path)
    restoring.add_argument("--drop", action="store_true", help="replace what the database holds")
    restoring.add_argument(
        "--accept-missing",
        action="store_true",
        help="restore although the topics lost records handled after the backup",
    )
    return parser


def _summary(counts: Counter[str]) -> str:
    total = sum(counts.values())
    return f"{total} documents in {len(counts)} collections"


async def _main(args: argparse.Namespace) -> int:
    if args.command == "show":
        header, counts = read_header(args.source)
        print(f"{header.service} ({header.database}) at {header.taken_at:%Y-%m-%dT%H:%M:%SZ}")
        for name in sorted(header.indexes):
            print(f"  {name}: {counts[name]} documents, {len(header.indexes[name])} indexes")
        for o in header.offsets:
            print(f"  {o.group} {o.topic} partition {o.partition} offset {o.offset}")
        return 0
    settings = ServiceSettings(service_name=args.service)
    if args.command == "dump":
        counts = await dump(settings, args.out)
        print(f"backed up {args.service}: {_summary(counts)} to {args.out}", file=sys.stderr)
        return 0
    counts = await restore(
        settings, args.source, drop=args.drop, accept_missing=args.accept_missing
    )
    print(f"restored {args.service}: {_summary(counts)}; offsets reset", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return asyncio.run(_main(_parser().parse_args(argv)))
    except Refused as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
