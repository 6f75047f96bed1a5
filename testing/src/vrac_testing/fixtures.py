"""Pytest fixtures: real Kafka and MongoDB, and a unique prefix per test.

Every test gets its own topic prefix, consumer-group prefix and database names, so tests never
see each other's data and run in any order. At the end of the session the topics and
databases of those prefixes are deleted, so a local stack kept between runs does not fill up
with thousands of partitions (the broker's heap holds every partition's metadata).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from vrac_runtime.settings import ServiceSettings
from vrac_runtime.store import is_ferretdb, service_database

from vrac_testing.cleanup import forget_prefixes
from vrac_testing.infrastructure import Infrastructure, provide
from vrac_testing.processes import OneService, service_process


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    infra = provide()
    try:
        yield infra
    finally:
        infra.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(infrastructure: Infrastructure) -> str:
    return infrastructure.kafka_bootstrap


@pytest.fixture(scope="session")
def mongodb_url(infrastructure: Infrastructure) -> str:
    return infrastructure.mongodb_url


@pytest.fixture(scope="session")
def used_prefixes(infrastructure: Infrastructure) -> Iterator[set[str]]:
    """The test prefixes of this session; their topics and databases go at its end."""
    prefixes: set[str] = set()
    yield prefixes
    if prefixes:
        asyncio.run(
            forget_prefixes(infrastructure.kafka_bootstrap, infrastructure.mongodb_url, prefixes)
        )


@pytest.fixture
def test_prefix(used_prefixes: set[str]) -> str:
    """A prefix unique to this test, valid in topic, group and database names."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    used_prefixes.add(prefix)
    return prefix


@pytest.fixture
def topic(test_prefix: str) -> Callable[[str], str]:
    """``topic("orders")`` is this test's own physical name for a topic."""
    return lambda name: f"{test_prefix}.{name}"


@pytest.fixture
def make_settings(
    kafka_bootstrap: str, mongodb_url: str, test_prefix: str
) -> Callable[..., ServiceSettings]:
    """Settings of a service wired to this test's Kafka, store and prefix."""

    def factory(service: str, **overrides: Any) -> ServiceSettings:
        values: dict[str, Any] = {
            "service_name": service,
            "kafka_bootstrap_servers": kafka_bootstrap,
            "mongodb_url": mongodb_url,
            "mongodb_database": f"{test_prefix}_vrac_{service}",
            "topic_prefix": f"{test_prefix}.",
            "handler_backoff_seconds": 0.05,
            "relay_interval_seconds": 0.1,
            "topic_partitions": 1,
            "development": True,  # development keys and issuer, as the test kit mints tokens
        }
        values.update(overrides)
        return ServiceSettings(**values)

    return factory


@pytest.fixture
def run_service(
    kafka_bootstrap: str, mongodb_url: str, test_prefix: str, tmp_path: Path
) -> Callable[[str], AbstractAsyncContextManager[OneService]]:
    """``async with run_service("intake") as intake``: the service as its own process,
    configured by environment only, on this test's Kafka, store and prefix."""
    return functools.partial(
        service_process,
        kafka_bootstrap=kafka_bootstrap,
        mongodb_url=mongodb_url,
        test_prefix=test_prefix,
        logs=tmp_path,
    )


@pytest.fixture(scope="session")
def store_is_ferretdb(mongodb_url: str) -> bool:
    """Whether the test store is FerretDB, by its own answer (as a service's start-up asks)."""

    async def ask() -> bool:
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
        try:
            return await is_ferretdb(client)
        finally:
            await client.close()

    return asyncio.run(ask())


@pytest.fixture
async def mongo_db(
    mongodb_url: str, test_prefix: str, store_is_ferretdb: bool
) -> AsyncIterator[AsyncDatabase[Any]]:
    """A database of this test's own, as services get theirs (serialised on FerretDB, plain
    PyMongo on MongoDB), dropped afterwards."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url, tz_aware=True)
    name = f"{test_prefix}_db"
    try:
        yield service_database(client, name, ferretdb=store_is_ferretdb)
    finally:
        await client.drop_database(name)
        await client.close()
