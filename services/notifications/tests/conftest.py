"""The handlers' world over in-memory fakes (``fakes.py``), and real envelopes to feed it."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from vrac_contracts.events.base import EventData
from vrac_notifications.adapters.webhook import DestinationGuard
from vrac_notifications.domain.delivery import RetrySchedule
from vrac_notifications.domain.destinations import DestinationRules
from vrac_notifications.handlers import Deps
from vrac_runtime.auth import Principal, SigningKeys, requires, tokens_of
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
    TaskLinkDesk,
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
    task_links: TaskLinkDesk


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
    keys, audit, task_links = MemoryKeys(), MemoryAudit(), TaskLinkDesk()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def diploma_link(diploma_id: str) -> str:
        return f"https://screening.vrac.example.org/diplomas/{diploma_id}.pdf?link=signed"

    deps = Deps(
        case_files=case_files,
        deliveries=deliveries,
        webhooks=webhooks,
        mailer=mailer,
        poster=poster,
        diploma_link=diploma_link,
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
        task_link=task_links,
    )
    return World(
        *(deps, case_files, deliveries, webhooks, mailer, poster, waits, clock, observed),
        *(keys, audit, task_links),
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
    """Real owners of data keys over HTTP, standing in for intake and network: they seal what
    the tests publish and serve the keys to notifications only, as they do. Beside them
    screening's link route, which signs the family's diploma links with screening's key."""

    keys: DataKeys
    urls: dict[str, str]
    # statuses network's link route answers first, one per call (then 201 again)
    task_link_refusals: list[int]

    @property
    def owner_urls(self) -> dict[str, str]:
        return {"intake": self.urls["intake"], "network": self.urls["network"]}

    @property
    def network_url(self) -> str:
        return self.urls["network"]

    @property
    def screening_url(self) -> str:
        return self.urls["screening"]

    @property
    def issuer_jwks_url(self) -> str:
        """The development issuer's public keys over HTTP, for a service started outside
        development that must still accept the test kit's tokens."""
        return self.urls["screening"] + "/issuer/jwks.json"


def _asked_by_notifications(who: Principal = Depends(requires("service"))) -> Principal:
    """Only notifications asks for links, with its own service token."""
    if who.subject != "notifications":
        raise HTTPException(403, "this service asks for no links")
    return who


def _link_route() -> APIRouter:
    """Screening's ``POST /internal/diploma-links``, reduced to its signature: notifications'
    own call in, a link signed by screening's (development) key out."""
    router = APIRouter()

    @router.post("/internal/diploma-links", status_code=201)
    async def issue(
        request: Request, body: dict[str, str], _: Principal = Depends(_asked_by_notifications)
    ) -> dict[str, Any]:
        path = f"/diplomas/{body['diploma_id']}.pdf"
        grant, token = tokens_of(request.app).issue_link(path, 600)
        return {"link_id": grant.link_id, "path": path, "token": token}

    @router.get("/issuer/jwks.json")
    async def issuer_keys() -> dict[str, Any]:
        return SigningKeys.development("issuer").public_jwks()

    return router


def _task_link_route(refusals: list[int]) -> APIRouter:
    """Network's ``POST /internal/task-links``, reduced to its signature: notifications' own
    call in, an answer link signed by network's (development) key out."""
    router = APIRouter()

    @router.post("/internal/task-links", status_code=201)
    async def issue(
        request: Request, body: dict[str, str], _: Principal = Depends(_asked_by_notifications)
    ) -> dict[str, Any]:
        if refusals:
            raise HTTPException(refusals.pop(0), "not now")
        path = f"/cases/{body['case_id']}/tasks/{body['task_id']}/answer"
        grant, token = tokens_of(request.app).issue_link(path, 7 * 24 * 3600)
        expires = dt.datetime.fromtimestamp(grant.expires_at, dt.UTC).isoformat()
        url = f"https://network.vrac.example.org{path}?member={body['member_id']}&link={token}"
        return {"url": url, "expires_at": expires}

    return router


@asynccontextmanager
async def _served(app: FastAPI) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started, "the stand-in serving", timeout=10)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving
        sock.close()


@pytest.fixture
async def key_owner(mongo_db: Any) -> AsyncIterator[KeyOwner]:
    keys = DataKeys(mongo_db, ServiceSettings().keks)  # the development KEK, as the services'
    await keys.ensure_indexes()
    urls: dict[str, str] = {}
    refusals: list[int] = []
    async with AsyncExitStack() as stack:
        for service in ("intake", "network", "screening"):
            app = FastAPI()
            # development keys: notifications' calls are checked with its development key
            app.state.settings = ServiceSettings(service_name=service, development=True)
            if service == "screening":
                app.include_router(_link_route())
            else:
                app.include_router(key_routes(keys, frozenset({"notifications"})))
            if service == "network":
                app.include_router(_task_link_route(refusals))
            urls[service] = await stack.enter_async_context(_served(app))
        yield KeyOwner(keys, urls, refusals)
