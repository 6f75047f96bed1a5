"""The handlers' world over in-memory fakes (``fakes.py``), and real envelopes to feed it."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from vrac_contracts.events.base import EventData
from vrac_notifications.adapters.webhook import DestinationGuard
from vrac_notifications.domain.delivery import RetrySchedule
from vrac_notifications.domain.destinations import DestinationRules
from vrac_notifications.handlers import Deps
from vrac_runtime.sealing import DataKeys, key_routes
from vrac_runtime.settings import ServiceSettings
from vrac_testing.keys import MemoryKeys
from vrac_testing.polling import eventually

from services.notifications.tests.fakes import (
    Clock,
    FlakyChannel,
    MemoryAudit,
    MemoryCaseFiles,
    MemoryDeliveries,
    MemoryWebhooks,
)

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)


@dataclass
class World:
    deps: Deps
    case_files: MemoryCaseFiles
    deliveries: MemoryDeliveries
    webhooks: MemoryWebhooks
    mailer: FlakyChannel
    poster: FlakyChannel
    waits: list[float]
    clock: Clock
    observed: list[tuple[str, str]]
    keys: MemoryKeys
    audit: MemoryAudit


async def public_dns(host: str, port: int) -> list[str]:
    """Every name resolves to one public address (a documentation-free, routable one)."""
    return ["93.184.215.14"]


@pytest.fixture
def world() -> World:
    case_files, deliveries, webhooks = MemoryCaseFiles(), MemoryDeliveries(), MemoryWebhooks()
    mailer, poster = FlakyChannel(), FlakyChannel()
    waits: list[float] = []
    clock = Clock(NOW)
    observed: list[tuple[str, str]] = []
    keys, audit = MemoryKeys(), MemoryAudit()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    deps = Deps(
        case_files=case_files,
        deliveries=deliveries,
        webhooks=webhooks,
        mailer=mailer,
        poster=poster,
        diploma_link=lambda d: f"https://screening.vrac.example.org/diplomas/{d}.pdf?link=signed",
        opener=keys,
        audit=audit,
        schedule=RetrySchedule(
            retry_for=dt.timedelta(hours=24),
            first_wait=dt.timedelta(seconds=10),
            max_wait=dt.timedelta(seconds=900),
        ),
        claim_seconds=120,
        owner="replica-a",
        clock=clock,
        sleep=sleep,
        observe=lambda channel, outcome: observed.append((str(channel), outcome)),
        destinations=DestinationGuard(DestinationRules(), resolve=public_dns),
    )
    return World(
        deps, case_files, deliveries, webhooks, mailer, poster, waits, clock, observed, keys, audit
    )


@pytest.fixture
def envelope():
    """``envelope(TaskAssigned, assignee_id=...)``: a real envelope from the catalogue example."""
    from vrac_contracts.catalogue import spec_for
    from vrac_contracts.envelope import new_envelope

    def make(model: type[EventData], *, ce_id: str | None = None, **overrides: object):
        spec = spec_for(model)
        data = model.model_validate({**spec.example, **overrides})
        return new_envelope(data, id=ce_id)

    return make


@dataclass
class KeyOwner:
    """A real owner of data keys over HTTP, standing in for intake and network: it seals what
    the tests publish and serves the keys to notifications only, as they do."""

    keys: DataKeys
    url: str

    @property
    def owner_urls(self) -> dict[str, str]:
        return {"intake": self.url, "network": self.url}


@pytest.fixture
async def key_owner(mongo_db: Any) -> AsyncIterator[KeyOwner]:
    settings = ServiceSettings()  # the development JWT secret and KEK, as the tests' services
    keys = DataKeys(mongo_db, settings.keks)
    await keys.ensure_indexes()
    app = FastAPI()
    app.state.settings = settings
    app.include_router(key_routes(keys, frozenset({"notifications"})))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started, "the key owner serving", timeout=10)
    try:
        yield KeyOwner(keys, f"http://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        await serving
        sock.close()
