"""Where personal data still stands in clear: every database of a platform, every record of
every topic under its prefix (dead letters included).

Erasure tests list what they look for (names, addresses, free text) and expect nothing back.
A found text is reported by place (database and collection, or topic, partition and offset),
never with the document around it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from bson import json_util
from pymongo import AsyncMongoClient

# base64 and base64url characters: a short name found between them is ciphertext by chance
_CIPHER_CHARS = r"A-Za-z0-9+/=_-"


def _pattern(texts: Iterable[str]) -> re.Pattern[str]:
    words = "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True))
    return re.compile(rf"(?<![{_CIPHER_CHARS}])(?:{words})(?![{_CIPHER_CHARS}])")


def found_in(text: str, pattern: re.Pattern[str]) -> set[str]:
    return set(pattern.findall(text))


async def scan_databases(
    mongodb_url: str, databases: Iterable[str], texts: Iterable[str]
) -> list[str]:
    """``database.collection: text`` for each text found in any document."""
    pattern = _pattern(texts)
    hits: list[str] = []
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
    try:
        for name in databases:
            db = client[name]
            for collection in await db.list_collection_names():
                async for doc in db[collection].find({}):
                    dumped = json_util.dumps(doc, ensure_ascii=False)
                    hits += [f"{name}.{collection}: {t}" for t in found_in(dumped, pattern)]
    finally:
        await client.close()
    return sorted(set(hits))


async def scan_topics(
    bootstrap: str, prefix: str, texts: Iterable[str], timeout: float = 60.0
) -> tuple[list[str], int]:
    """``topic[partition]@offset: text`` for each text found in a record's key, value or
    headers, on every topic whose name starts with ``prefix``; and how many records were read."""
    pattern = _pattern(texts)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    hits: list[str] = []
    read = 0
    try:
        topics = sorted(t for t in await consumer.topics() if t.startswith(prefix))
        partitions = await _partitions(bootstrap, topics)
        if not partitions:
            return [], 0
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        left = {tp: end for tp, end in ends.items() if end > 0}
        deadline = asyncio.get_running_loop().time() + timeout
        while left:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"could not read {sorted(map(str, left))} to the end")
            batch = await consumer.getmany(*left, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    read += 1
                    parts = [record.key or b"", record.value or b""]
                    parts += [value for _, value in record.headers]
                    text = b"\n".join(parts).decode("utf-8", errors="replace")
                    where = f"{tp.topic}[{tp.partition}]@{record.offset}"
                    hits += [f"{where}: {t}" for t in found_in(text, pattern)]
                    if record.offset + 1 >= left.get(tp, 0):
                        left.pop(tp, None)
    finally:
        await consumer.stop()
    return sorted(set(hits)), read


async def _partitions(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` (a consumer knows those of its subscriptions only)."""
    if not topics:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], part["partition"])
        for topic in described
        for part in topic["partitions"]
    ]
