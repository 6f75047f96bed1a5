"""The screening service under test: the real app, its lifespan, a client, Kafka helpers.

Test modules cannot import a conftest, so what they need hangs off the ``Screening`` object
the fixture yields.
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
from vrac_contracts.events.intake import CaseOpened, ConsentChanged, FamilyRegistered
from vrac_runtime.auth import issue_token
from vrac_runtime.testing.kafka import read_all, send_raw
from vrac_screening.bootstrap import build
from vrac_screening.settings import ScreeningSettings

OCCURRED_AT = "2025-03-14T09:30:00Z"

# working memory and moral reasoning are strengths; reading and emotion regulation grow
SCORES: list[dict[str, Any]] = [
    {"domain": "working-memory", "kind": "percentile", "score": 88},
    {"domain": "reading", "kind": "standard-score", "score": 82},
    {"domain": "moral-reasoning", "kind": "qualitative", "rating": "well-above"},
    {"domain": "emotion-regulation", "kind": "qualitative", "rating": "below"},
    {"domain": "maths", "kind": "percentile", "score": 50},
]


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20) -> None:
    """Poll an async condition until it holds; fail naming it when time is up."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def base(case_id: str, pilot: str = "leiden") -> dict[str, Any]:
    return {"case_id": case_id, "pilot": pilot, "occurred_at": OCCURRED_AT}


def opened(case_id: str, pilot: str = "leiden") -> CaseOpened:
    return CaseOpened.model_validate(
        {**base(case_id, pilot), "programme": "pit", "opened_at": "2025-03-14T09:00:00+01:00"}
    )


def consent(
    case_id: str,
    purpose: str,
    granted: bool = True,
    changed_at: str = "2025-03-14T10:00:00Z",
    pilot: str = "leiden",
) -> ConsentChanged:
    return ConsentChanged.model_validate(
        {
            **base(case_id, pilot),
            "purpose": purpose,
            "granted": granted,
            "changed_by": "guardian",
            "changed_at": changed_at,
        }
    )


def family(
    case_id: str, name: str = "Sam", language: str = "nl", pilot: str = "leiden"
) -> FamilyRegistered:
    return FamilyRegistered.model_validate(
        {
            **base(case_id, pilot),
            "child_first_name": name,
            "birth_year": 2016,
            "language": language,
            "programme": "pit",
            "guardians": [
                {
                    "guardian_id": "gdn_a1b2c3d4e5f6",
                    "name": "Fatima",
                    "email": "fatima@example.org",
                    "preferred_channel": "email",
                    "language": language,
                }
            ],
        }
    )


class Screening:
    """One running screening service: HTTP client, its settings, and Kafka at hand."""

    SCORES = SCORES
    eventually = staticmethod(eventually)
    opened = staticmethod(opened)
    consent = staticmethod(consent)
    family = staticmethod(family)

    def __init__(self, settings: ScreeningSettings, http: httpx.AsyncClient) -> None:
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

    async def published(self, model: type[BaseModel], expect: int, timeout: float = 20) -> list:
        """The raw records this service published of one event type."""
        return await self.read(spec_for(model).topic, expect, timeout)

    @staticmethod
    def decoded(records: list[Any]) -> list[Envelope[Any]]:
        return [decode(r.headers, r.value) for r in records]

    @staticmethod
    def bodies(records: list[Any]) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in records]

    async def open_case(
        self,
        case_id: str,
        pilot: str = "leiden",
        consents: tuple[str, ...] = ("screening", "diploma", "questionnaires"),
        name: str | None = "Sam",
        language: str = "nl",
    ) -> None:
        """Publish what intake would for a new case and wait until the service knows it."""
        await self.publish(opened(case_id, pilot))
        for purpose in consents:
            await self.publish(consent(case_id, purpose, pilot=pilot))
        if name is not None:
            await self.publish(family(case_id, name, language, pilot))

        async def known() -> bool:
            response = await self.http.get(
                f"/cases/{case_id}/screenings", headers=self.auth(pilot=pilot)
            )
            return response.status_code == 200

        await eventually(known, f"case {case_id} to be known")
        # the events of one case share a partition: once the last is in, all are
        await self.wait_for_case(case_id, consents, name)

    def mongo(self) -> AsyncMongoClient[Any]:
        return AsyncMongoClient(self.settings.mongodb_url, tz_aware=True)

    async def wait_for_case(self, case_id: str, consents: tuple[str, ...], name: str | None):
        client = self.mongo()
        cases = client[self.settings.database]["cases"]

        async def projected() -> bool:
            doc = await cases.find_one({"_id": case_id}) or {}
            given = doc.get("consents") or {}
            return all(p in given for p in consents) and (
                name is None or doc.get("child_first_name") == name
            )

        try:
            await eventually(projected, f"intake's events of {case_id} to be applied")
        finally:
            await client.close()

    async def screen(self, case_id: str, pilot: str = "leiden", **body: Any) -> dict:
        response = await self.http.post(
            f"/cases/{case_id}/screenings",
            json={"scores": SCORES, **body},
            headers=self.auth(pilot=pilot),
        )
        assert response.status_code == 201, response.text
        result: dict = response.json()
        return result

    async def diplomas(self, case_id: str, pilot: str = "leiden") -> list[dict]:
        response = await self.http.get(f"/cases/{case_id}/diplomas", headers=self.auth(pilot=pilot))
        assert response.status_code == 200, response.text
        result: list[dict] = response.json()
        return result

    async def wait_for_diplomas(
        self, case_id: str, count: int = 1, pilot: str = "leiden"
    ) -> list[dict]:
        found: list[dict] = []

        async def made() -> bool:
            found[:] = await self.diplomas(case_id, pilot)
            return len(found) >= count

        await eventually(made, f"{count} diploma(s) of {case_id}")
        return found


@asynccontextmanager
async def running(settings: ScreeningSettings) -> AsyncIterator[Screening]:
    app = build(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://screening") as http:
                yield Screening(settings, http)
    finally:
        client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url)
        await client.drop_database(settings.database)
        await client.close()


@pytest.fixture
def screening_settings(make_settings: Callable[..., Any]) -> Callable[..., ScreeningSettings]:
    def factory(**overrides: Any) -> ScreeningSettings:
        values = make_settings("screening").model_dump()
        values.update(overrides)
        return ScreeningSettings(**values)

    return factory


@pytest.fixture
def start_screening(
    screening_settings: Callable[..., ScreeningSettings],
) -> Callable[..., AbstractAsyncContextManager[Screening]]:
    """``async with start_screening(**overrides) as service``: a service with other settings."""
    return lambda **overrides: running(screening_settings(**overrides))


@pytest.fixture
async def screening(
    screening_settings: Callable[..., ScreeningSettings],
) -> AsyncIterator[Screening]:
    async with running(screening_settings()) as service:
        yield service
