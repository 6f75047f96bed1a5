"""The screening service under test: the real app, its lifespan, a client, Kafka helpers.

Test modules cannot import a conftest, so what they need hangs off the ``Screening`` object
the fixture yields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.events.intake import FamilyRegisteredV2
from vrac_screening.bootstrap import build
from vrac_screening.settings import ScreeningSettings
from vrac_testing.service import RunningService, running_app, settings_factory

from services.screening.tests.key_owner import IntakeKeys
from services.screening.tests.screening_events import closed, consent, opened

# working memory and moral reasoning are strengths; reading and emotion regulation grow
SCORES: list[dict[str, Any]] = [
    {"domain": "working-memory", "kind": "percentile", "score": 88},
    {"domain": "reading", "kind": "standard-score", "score": 82},
    {"domain": "moral-reasoning", "kind": "qualitative", "rating": "well-above"},
    {"domain": "emotion-regulation", "kind": "qualitative", "rating": "below"},
    {"domain": "maths", "kind": "percentile", "score": 50},
]


class Screening(RunningService):
    """One running screening service: HTTP client, its settings, Kafka and intake's data
    keys at hand."""

    settings: ScreeningSettings
    SCORES = SCORES
    opened = staticmethod(opened)
    consent = staticmethod(consent)
    closed = staticmethod(closed)

    def __init__(
        self, settings: ScreeningSettings, http: httpx.AsyncClient, intake: IntakeKeys
    ) -> None:
        super().__init__(settings, http)
        self.intake = intake

    async def family(
        self, case_id: str, name: str = "Sam", language: str = "nl", pilot: str = "leiden"
    ) -> FamilyRegisteredV2:
        return await self.intake.family(case_id, name, language, pilot)

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
            await self.publish(await self.family(case_id, name, language, pilot))

        async def known() -> bool:
            response = await self.http.get(
                f"/cases/{case_id}/screenings", headers=self.auth(pilot=pilot)
            )
            return response.status_code == 200

        await self.eventually(known, f"case {case_id} to be known")
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
            await self.eventually(projected, f"intake's events of {case_id} to be applied")
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

        await self.eventually(made, f"{count} diploma(s) of {case_id}")
        return found


@asynccontextmanager
async def running(
    settings: ScreeningSettings, deps: dict[str, Any] | None = None
) -> AsyncIterator[Screening]:
    """The service (``deps`` replacing some of its ports), with intake's key route served
    beside it on a real HTTP server."""
    async with IntakeKeys(settings.mongodb_url, f"{settings.database}_keys") as intake:
        settings = settings.model_copy(update={"key_owner_urls": {"intake": intake.url}})
        async with running_app(
            lambda s: build(s, **(deps or {})), settings, lambda s, http: Screening(s, http, intake)
        ) as service:
            yield service


@pytest.fixture
def screening_settings(make_settings: Callable[..., Any]) -> Callable[..., ScreeningSettings]:
    return settings_factory(make_settings, "screening", ScreeningSettings)


@pytest.fixture
def start_screening(
    screening_settings: Callable[..., ScreeningSettings],
) -> Callable[..., AbstractAsyncContextManager[Screening]]:
    """``async with start_screening(deps={...}, **overrides) as service``: a service with
    other settings, or other ports."""

    def start(deps: dict[str, Any] | None = None, **overrides: Any) -> Any:
        return running(screening_settings(**overrides), deps)

    return start


@pytest.fixture
async def screening(
    screening_settings: Callable[..., ScreeningSettings],
) -> AsyncIterator[Screening]:
    async with running(screening_settings()) as service:
        yield service
