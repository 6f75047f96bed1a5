"""Delete what a test session (or a benchmark) left on the shared Kafka and store: its
prefixed topics and databases. Best effort: a failure is reported, never raised."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Collection
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

_CHUNK = 200  # topics per DeleteTopics request
_CLEANUP_SECONDS = 120


def _ours(name: str, prefixes: Collection[str], separator: str) -> bool:
    head, sep, _ = name.partition(separator)
    return bool(sep) and head in prefixes


async def forget_prefixes(kafka: str, mongodb_url: str, prefixes: Collection[str]) -> None:
    """Delete the topics ``<prefix>.*`` and the databases ``<prefix>_*``, for at most
    :data:`_CLEANUP_SECONDS` (a busy local store can hold a drop for minutes)."""
    try:
        async with asyncio.timeout(_CLEANUP_SECONDS):
            await _delete_topics(kafka, prefixes)
            await _drop_databases(mongodb_url, prefixes)
    except Exception as err:  # cleanup must not turn a green run red
        print(f"could not clean up test topics and databases: {err!r}", file=sys.stderr)


async def _delete_topics(bootstrap: str, prefixes: Collection[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if _ours(t, prefixes, ".")]
        for start in range(0, len(topics), _CHUNK):
            await admin.delete_topics(topics[start : start + _CHUNK])
    finally:
        await admin.close()


async def _drop_databases(url: str, prefixes: Collection[str]) -> None:
    client: AsyncMongoClient[Any] = AsyncMongoClient(url)
    try:
        for name in await client.list_database_names():
            if _ours(name, prefixes, "_"):
                await client.drop_database(name)
    finally:
        await client.close()
