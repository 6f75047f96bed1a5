"""The intake service under test: the real app and lifespan on the real Kafka and store.

Test modules cannot import a conftest, so what they need hangs off the ``Intake`` object
that the fixture yields.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from vrac_intake.bootstrap import build
from vrac_intake.settings import IntakeSettings
from vrac_testing.builders import family_registration
from vrac_testing.service import RunningService, running_app, settings_factory

FAMILY: dict[str, Any] = family_registration(
    {
        "name": "Fatima",
        "email": "fatima@example.org",
        "phone": "+31612345678",
        "preferred_channel": "email",
    },
    {"name": "Karim", "phone": "+31687654321", "preferred_channel": "sms", "language": "fr"},
)
# every piece of the family's personal data above, as it would appear in a message
PERSONAL = ("Sam", "2016", "Regenboog", "Fatima", "Karim", "example.org", "+3161", "+3168")


class Intake(RunningService):
    """One running intake service: an HTTP client, its settings, its store, and Kafka."""

    settings: IntakeSettings
    FAMILY = FAMILY
    PERSONAL = PERSONAL

    def auth(self, role: str = "coach", pilot: str = "leiden", subject: str = "coach-1") -> dict:
        return super().auth(role, pilot, subject)

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


def running(settings: IntakeSettings, **overrides: Any) -> AbstractAsyncContextManager[Intake]:
    """The service on ``settings``; ``overrides`` replace its ``Deps`` (a clock, the cases)."""
    return running_app(lambda s: build(s, **overrides), settings, Intake)


@pytest.fixture
def intake_settings(make_settings: Callable[..., Any]) -> Callable[..., IntakeSettings]:
    return settings_factory(make_settings, "intake", IntakeSettings)


@pytest.fixture
async def intake(intake_settings: Callable[..., IntakeSettings]) -> AsyncIterator[Intake]:
    async with running(intake_settings()) as service:
        yield service


@pytest.fixture
def start_intake(
    intake_settings: Callable[..., IntakeSettings],
) -> Callable[..., AbstractAsyncContextManager[Intake]]:
    """``async with start_intake(settings, **overrides) as intake``: a service on given
    settings, with ``Deps`` fields swapped by ``overrides``."""
    return running
