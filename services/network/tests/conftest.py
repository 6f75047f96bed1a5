"""The network service under test: the real app, its lifespan, a client, and Kafka helpers.

Test modules cannot import a conftest, so the helpers they need hang off the ``Network``
object the fixture yields.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import Envelope, decode, encode, new_envelope
from vrac_contracts.events.base import EventData
from vrac_contracts.events.intake import CaseOpened
from vrac_network.bootstrap import build
from vrac_network.settings import NetworkSettings
from vrac_runtime.auth import issue_token
from vrac_runtime.testing.kafka import read_all, send_raw

OPENED_AT = "2025-03-14T09:00:00+01:00"
OCCURRED_AT = "2025-03-14T09:30:00Z"

GRANDMOTHER: dict[str, Any] = {
    "kind": "family",
    "role": "supporter",
    "display_name": "Oma Ria",
    "relationship": "grandmother",
    "email": "ria@example.org",
    "channel": "email",
    "language": "nl",
}
YOUTH_TEAM: dict[str, Any] = {
    "kind": "agency",
    "role": "spider-in-the-web",
    "display_name": "Jeugdteam Leiden",
    "relationship": "youth team",
    "agency_id": "agy_youthteam0001",
    "channel": "webhook",
}


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20) -> None:
    """Poll an async condition until it holds; fail naming it when time is up."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def opened(case_id: str, pilot: str = "leiden") -> CaseOpened:
    return CaseOpened.model_validate(
        {
            "case_id": case_id,
            "pilot": pilot,
            "occurred_at": OCCURRED_AT,
            "programme": "pit",
            "opened_at": OPENED_AT,
        }
    )


class Network:
    """One running network service: HTTP client, its settings, and Kafka at hand."""

    GRANDMOTHER = GRANDMOTHER
    YOUTH_TEAM = YOUTH_TEAM
    eventually = staticmethod(eventually)
    opened = staticmethod(opened)

    def __init__(self, settings: NetworkSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    def auth(self, role: str = "coach", pilot: str = "leiden", subject: str = "u-1") -> dict:
        secret = self.settings.jwt_secret.get_secret_value()
        token = issue_token(secret, subject=subject, role=role, pilot=pilot)
        return {"Authorization": f"Bearer {token}"}

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

    async def published(self, model: type[BaseModel], expect: int) -> list[Any]:
        """The raw records this service published of one event type."""
        return await self.read(spec_for(model).topic, expect)

    @staticmethod
    def decoded(records: list[Any]) -> list[Envelope[Any]]:
        return [decode(r.headers, r.value) for r in records]

    @staticmethod
    def bodies(records: list[Any]) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in records]

    async def open_case(self, case_id: str, pilot: str = "leiden") -> None:
        """Publish case-opened and wait until the service knows the case."""
        await self.publish(opened(case_id, pilot))

        async def known() -> bool:
            response = await self.http.get(
                f"/cases/{case_id}/members", headers=self.auth(pilot=pilot)
            )
            return response.status_code == 200

        await eventually(known, f"case {case_id} to be known")

    async def add_member(self, case_id: str, pilot: str = "leiden", **fields: Any) -> dict:
        response = await self.http.post(
            f"/cases/{case_id}/members",
            json={**GRANDMOTHER, **fields},
            headers=self.auth(pilot=pilot),
        )
        assert response.status_code == 201, response.text
        result: dict = response.json()
        return result

    async def assign(
        self, case_id: str, assignee_id: str, pilot: str = "leiden", **fields: Any
    ) -> dict:
        body = {"category": "homework-support", "assignee_id": assignee_id, **fields}
        response = await self.http.post(
            f"/cases/{case_id}/tasks", json=body, headers=self.auth(pilot=pilot)
        )
        assert response.status_code == 201, response.text
        result: dict = response.json()
        return result

    async def act(self, task_id: str, action: str, **body: Any) -> httpx.Response:
        return await self.http.post(
            f"/tasks/{task_id}/{action}", json=body or None, headers=self.auth()
        )


@asynccontextmanager
async def running(settings: NetworkSettings) -> AsyncIterator[Network]:
    app = build(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://network") as http:
                yield Network(settings, http)
    finally:
        client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url)
        await client.drop_database(settings.database)
        await client.close()


@pytest.fixture
def network_settings(make_settings: Callable[..., Any]) -> Callable[..., NetworkSettings]:
    """Settings of a network service wired to this test's topics and database; the
    periodic sweep is off unless a test turns it on."""

    def factory(**overrides: Any) -> NetworkSettings:
        values = make_settings("network").model_dump()
        values.update({"overdue_sweep_seconds": 0, **overrides})
        return NetworkSettings(**values)

    return factory


@pytest.fixture
def start_network(
    network_settings: Callable[..., NetworkSettings],
) -> Callable[..., AbstractAsyncContextManager[Network]]:
    """``async with start_network(**overrides) as network``: a service with other settings."""
    return lambda **overrides: running(network_settings(**overrides))


@pytest.fixture
async def network(network_settings: Callable[..., NetworkSettings]) -> AsyncIterator[Network]:
    async with running(network_settings()) as service:
        yield service
