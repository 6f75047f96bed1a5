"""The service as an operator runs it: its own process, configured by environment only."""

from __future__ import annotations

import httpx
import pytest
from vrac_contracts.events.intake import CaseOpened
from vrac_contracts.events.network import MemberAddedV2
from vrac_testing.polling import eventually

pytestmark = pytest.mark.integration

CASE = "case_networkprocess01"
OPENED = {
    "case_id": CASE,
    "pilot": "leiden",
    "occurred_at": "2025-03-14T09:30:00Z",
    "programme": "pit",
    "opened_at": "2025-03-14T09:00:00+01:00",
}
MEMBER = {
    "kind": "family",
    "role": "supporter",
    "display_name": "Oma Ria",
    "email": "ria@example.org",
    "channel": "email",
}


async def test_the_process_serves_http_consumes_and_publishes(run_service) -> None:
    async with run_service("network") as network:
        headers = network.auth()
        await network.publish(CaseOpened.model_validate(OPENED))
        async with httpx.AsyncClient(base_url=network.url, timeout=5) as http:
            assert (await http.get(f"/cases/{CASE}/members")).status_code == 401

            async def members_status() -> bool:
                response = await http.get(f"/cases/{CASE}/members", headers=headers)
                return response.status_code == 200

            assert await eventually(members_status, "the case opened, as its members answer")
            added = await http.post(f"/cases/{CASE}/members", json=MEMBER, headers=headers)
            assert added.status_code == 201
        published = await network.published(MemberAddedV2, expect=1)
        assert [r.key for r in published] == [CASE.encode()]
    # graceful: the lifespan ran to its end (uvicorn then re-raises SIGTERM as it exits)
    assert network.stopped_gracefully
    assert '"service stopped"' in network.log
