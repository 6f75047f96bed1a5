"""The intake service under test: the real app and lifespan on the real Kafka and store.

Test modules cannot import a conftest, so what they need hangs off the ``Intake`` object
that the fixture yields.
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
from vrac_intake.bootstrap import build
from vrac_intake.settings import IntakeSettings
from vrac_runtime.auth import issue_token
from vrac_runtime.testing.kafka import read_all

FAMILY: dict[str, Any] = {
    "pilot": "leiden",
    "programme": "pit",
    "child_first_name": "Sam",
    "birth_year": 2016,
    "school_name": "De Regenboog",
    "language": "nl",
    "guardians": [
        {
            "name": "Fatima",
            "email": "fatima@example.org",
            "phone": "+31612345678",
            "preferred_channel": "email",
        },
        {"name": "Karim", "phone": "+31687654321", "preferred_channel": "sms", "language": "fr"},
    ],
}
# every piece of the family's personal data above, as it would appear in a message
PERSONAL = ("Sam", "2016", "Regenboog", "Fatima", "Karim", "example.org", "+3161", "+3168")


class Intake:
    """One running intake service: an HTTP client, its settings, its store, and Kafka."""

    FAMILY = FAMILY
    PERSONAL = PERSONAL

    def __init__(self, settings: IntakeSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    def auth(self, role: str = "coach", pilot: str = "leiden", subject: str = "coach-1") -> dict:
        token = issue_token(
            self.settings.jwt_secret.get_secret_value(), subject=subject, role=role, pilot=pilot
        )
        return {"Authorization": f"Bearer {token}"}

    async def register(self, pilot: str = "leiden", **fields: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/cases", json={**FAMILY, "pilot": pilot, **fields}, headers=self.auth(pilot=pilot)
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def consent(
        self, case_id: str, purpose: str, granted: bool = True, **fields: Any
    ) -> httpx.Response:
        body = {"purpose": purpose, "granted": granted, "recorded_by": {"role": "coach"}}
        return await self.http.post(
            f"/cases/{case_id}/consents", json={**body, **fields}, headers=self.auth()
        )

    async def close(self, case_id: str, reason: str = "completed") -> httpx.Response:
        return await self.http.post(
            f"/cases/{case_id}/close", json={"reason": reason}, headers=self.auth()
        )

    async def published(self, model: type[BaseModel], expect: int) -> list[Any]:
        """The records intake published of one event type (waits for ``expect`` of them,
        then a little longer so an extra one is seen too)."""
        return await read_all(
            self.settings.kafka_bootstrap_servers,
            self.settings.topic(spec_for(model).topic),
            expect=expect,
        )

    @staticmethod
    async def eventually(
        check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20
    ) -> None:
        """Poll an async condition until it holds; fail naming it when time is up."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not await check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    @staticmethod
    def headers(record: Any) -> dict[str, str]:
        return {name: value.decode() for name, value in record.headers}

    @staticmethod
    def body(record: Any) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(record.value)
        return result

    async def stored(self, case_id: str) -> dict[str, Any] | None:
        """The case document as the store holds it."""
        client: AsyncMongoClient[Any] = AsyncMongoClient(self.settings.mongodb_url)
        try:
            doc: dict[str, Any] | None = await client[self.settings.database]["cases"].find_one(
                {"_id": case_id}
            )
            return doc
        finally:
            await client.close()


@asynccontextmanager
async def running(settings: IntakeSettings) -> AsyncIterator[Intake]:
    app = build(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
                yield Intake(settings, http)
    finally:
        client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url)
        await client.drop_database(settings.database)
        await client.close()


@pytest.fixture
def intake_settings(make_settings: Callable[..., Any]) -> Callable[..., IntakeSettings]:
    def factory(**overrides: Any) -> IntakeSettings:
        return IntakeSettings(**{**make_settings("intake").model_dump(), **overrides})

    return factory


@pytest.fixture
async def intake(intake_settings: Callable[..., IntakeSettings]) -> AsyncIterator[Intake]:
    async with running(intake_settings()) as service:
        yield service


@pytest.fixture
def start_intake(
    intake_settings: Callable[..., IntakeSettings],
) -> Callable[[IntakeSettings], AbstractAsyncContextManager[Intake]]:
    """``async with start_intake(settings) as intake``: a service on given settings."""
    return running
