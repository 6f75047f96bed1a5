"""The network service under test: the real app, its lifespan, a client, and Kafka helpers;
and ``deps``, the handlers' dependencies over the in-memory fakes (``fakes.py``).

Test modules cannot import a conftest, so the helpers they need hang off the ``Network``
object the fixture yields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from vrac_contracts.envelope import Envelope
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded
from vrac_contracts.events.network import MemberAddedV2
from vrac_contracts.events.sealed import MemberDetails
from vrac_network.bootstrap import build
from vrac_network.handlers import Deps
from vrac_network.settings import NetworkSettings
from vrac_runtime.keks import unb64
from vrac_runtime.sealing import open_with
from vrac_testing.service import RunningService, running_app, settings_factory

from services.network.tests.fakes import fake_deps

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


class Network(RunningService):
    """One running network service: HTTP client, its settings, and Kafka at hand."""

    settings: NetworkSettings
    GRANDMOTHER = GRANDMOTHER
    YOUTH_TEAM = YOUTH_TEAM
    opened = staticmethod(opened)

    async def open_case(self, case_id: str, pilot: str = "leiden") -> None:
        """Publish case-opened and wait until the service knows the case."""
        await self.publish(opened(case_id, pilot))

        async def known() -> bool:
            response = await self.http.get(
                f"/cases/{case_id}/members", headers=self.auth(pilot=pilot)
            )
            return response.status_code == 200

        await self.eventually(known, f"case {case_id} to be known")

    async def share_with_agency(
        self, case_id: str, agency_id: str, granted: bool = True, changed_at: str = OCCURRED_AT
    ) -> None:
        """Publish the parents' share-with-agency decision and wait until the service has it."""
        decision = ConsentRecorded.model_validate(
            {
                "case_id": case_id,
                "pilot": "leiden",
                "occurred_at": changed_at,
                "purpose": "share-with-agency",
                "agency_id": agency_id,
                "granted": granted,
                "changed_by": "guardian",
                "changed_at": changed_at,
            }
        )
        await self.publish(decision)

        async def recorded() -> bool:
            response = await self.http.get(f"/cases/{case_id}/plan", headers=self.auth())
            members = response.json().get("members", []) if response.status_code == 200 else []
            return any(m.get("agency_consent") is granted for m in members)

        await self.eventually(recorded, f"the {agency_id} decision of {case_id} to arrive")

    async def close_case(self, case_id: str, reason: str = "erasure-requested") -> None:
        """Publish intake's case-closed; the caller waits for what it expects of it."""
        await self.publish(
            CaseClosed.model_validate(
                {
                    "case_id": case_id,
                    "pilot": "leiden",
                    "occurred_at": "2025-06-01T10:00:00Z",
                    "reason": reason,
                }
            )
        )

    async def data_key(self, key_id: str, service: str = "notifications") -> httpx.Response:
        """Ask the key route for a data key as another service would."""
        headers = self.auth(role="service", pilot="*", subject=service)
        return await self.http.get(f"/internal/data-keys/{key_id}", headers=headers)

    async def open_details(self, envelope: Envelope[MemberAddedV2]) -> MemberDetails:
        """Open a member-added record's sealed details with the key notifications is served."""
        answer = await self.data_key(envelope.data.details.key_id)
        assert answer.status_code == 200, answer.text
        key = unb64(answer.json()["key"])
        return open_with(key, envelope.data.case_id, envelope.data.details, MemberDetails)

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


def running(
    settings: NetworkSettings, deps: dict[str, Any] | None = None
) -> AbstractAsyncContextManager[Network]:
    """The service; ``deps`` replace fields of its handlers' ``Deps`` (see ``build``)."""
    return running_app(lambda s: build(s, **(deps or {})), settings, Network)


@pytest.fixture
def network_settings(make_settings: Callable[..., Any]) -> Callable[..., NetworkSettings]:
    """Settings of a network service wired to this test's topics and database; the
    periodic sweep is off unless a test turns it on."""

    return settings_factory(make_settings, "network", NetworkSettings, overdue_sweep_seconds=0)


@pytest.fixture
def start_network(
    network_settings: Callable[..., NetworkSettings],
) -> Callable[..., AbstractAsyncContextManager[Network]]:
    """``async with start_network(**overrides) as network``: a service with other settings
    (and, with ``deps={...}``, other fields of its ``Deps``)."""
    return lambda deps=None, **overrides: running(network_settings(**overrides), deps)


@pytest.fixture
async def network(network_settings: Callable[..., NetworkSettings]) -> AsyncIterator[Network]:
    async with running(network_settings()) as service:
        yield service


@pytest.fixture
def deps() -> Deps:
    return fake_deps()[0]
