"""The service as an operator runs it: its own process, configured by environment only."""

from __future__ import annotations

import httpx
import pytest
from vrac_contracts.events.intake import CaseOpened, FamilyRegistered

pytestmark = pytest.mark.integration

FAMILY = {
    "pilot": "leiden",
    "programme": "pit",
    "child_first_name": "Sam",
    "birth_year": 2016,
    "guardians": [{"name": "Fatima", "email": "fatima@example.org", "preferred_channel": "email"}],
}


async def test_the_process_registers_a_family_and_publishes_its_events(run_service) -> None:
    async with run_service("intake") as intake:
        async with httpx.AsyncClient(base_url=intake.url, timeout=10) as http:
            assert (await http.post("/cases", json=FAMILY)).status_code == 401
            response = await http.post("/cases", json=FAMILY, headers=intake.auth("coach-1"))
            assert response.status_code == 201, response.text
        case_id = response.json()["case_id"]
        for model in (CaseOpened, FamilyRegistered):
            (record,) = await intake.published(model, expect=1)
            assert record.key == case_id.encode()
    # a graceful stop: the lifespan ran to its end
    assert intake.stopped_gracefully
    assert '"service stopped"' in intake.log
    assert "Fatima" not in intake.log and "example.org" not in intake.log  # no personal data
