"""One service's app running inside the test: its real lifespan on the real Kafka and store,
an HTTP client to it, and Kafka at hand. Each service's conftest subclasses
``RunningService`` with its own helpers (test modules cannot import a conftest, so what they
need hangs off the object the fixture yields)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import Envelope, decode, encode, new_envelope
from vrac_contracts.events.base import EventData
from vrac_runtime.settings import ServiceSettings

from vrac_testing.kafka import read_all, send_raw
from vrac_testing.polling import eventually
from vrac_testing.tokens import bearer


class RunningService:
    """A running service: its settings, an HTTP client to it, and its topics."""

    eventually = staticmethod(eventually)

    def __init__(self, settings: ServiceSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    def auth(self, role: str = "coach", pilot: str = "leiden", subject: str = "u-1") -> dict:
        return bearer(role, pilot, subject)

    async def send(self, topic: str, value: bytes, key: bytes, headers: list) -> None:
        """Send raw bytes to a catalogue topic of this test."""
        await send_raw(
            self.settings.kafka_bootstrap_servers, self.settings.topic(topic), value, key, headers
        )

    async def publish(self, data: EventData, *, envelope: Envelope[Any] | None = None) -> Any:
        """Send an event exactly as its producer would; returns the envelope sent."""
        envelope = envelope or new_envelope(data)
        record = encode(envelope)
        await self.send(record.topic, record.value, record.key, record.headers)
        return envelope

    async def read(self, topic: str, expect: int, timeout: float = 20) -> list[Any]:
        return await read_all(
            self.settings.kafka_bootstrap_servers,
            self.settings.topic(topic),
            expect=expect,
            timeout=timeout,
        )

    async def published(self, model: type[BaseModel], expect: int, timeout: float = 20) -> list:
        """The raw records on one event type's topic (waits for ``expect`` of them, then a
        little longer so an extra one is seen too)."""
        return await self.read(spec_for(model).topic, expect, timeout)

    @staticmethod
    def decoded(records: list[Any]) -> list[Envelope[Any]]:
        return [decode(r.headers, r.value) for r in records]

    @staticmethod
    def bodies(records: list[Any]) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in records]


Settings = TypeVar("Settings", bound=ServiceSettings)
Service = TypeVar("Service", bound=RunningService)


@asynccontextmanager
async def running_app(
    build: Callable[[Settings], FastAPI],
    settings: Settings,
    wrap: Callable[[Settings, httpx.AsyncClient], Service],
) -> AsyncIterator[Service]:
    """Build the app, run its lifespan, yield ``wrap(settings, client)``; afterwards drop
    the service's database."""
    app = build(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            base_url = f"http://{settings.service_name}"
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
                yield wrap(settings, http)
    finally:
        client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url)
        await client.drop_database(settings.database)
        await client.close()


def settings_factory(
    make_settings: Callable[..., ServiceSettings],
    service: str,
    kind: type[Settings],
    **defaults: Any,
) -> Callable[..., Settings]:
    """``factory(**overrides)``: ``kind`` settings of ``service`` on this test's topics and
    database, with ``defaults`` and then ``overrides`` applied."""

    def factory(**overrides: Any) -> Settings:
        values = make_settings(service).model_dump()
        values.update({**defaults, **overrides})
        return kind(**values)

    return factory
