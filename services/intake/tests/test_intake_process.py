"""The service as an operator runs it: its own process, configured by environment only."""

from __future__ import annotations

import httpx
import pytest
from vrac_contracts.envelope import decode
from vrac_contracts.events.intake import CaseOpened, FamilyRegisteredV2
from vrac_contracts.events.sealed import ChildDetails
from vrac_runtime.sealing import KeyClient, KeyUnavailable, Opener
from vrac_testing.processes import OneService
from vrac_testing.tokens import token

pytestmark = pytest.mark.integration

FAMILY = {
    "pilot": "leiden",
    "programme": "pit",
    "child_first_name": "Sam",
    "birth_year": 2016,
    "guardians": [{"name": "Fatima", "email": "fatima@example.org", "preferred_channel": "email"}],
}


def opener_for(intake: OneService, service: str) -> Opener:
    """How ``service`` opens intake's sealed values: keys fetched over HTTP with its token."""
    return Opener(KeyClient({"intake": intake.url}, lambda _: token("service", "*", service)))


async def test_the_process_registers_a_family_and_publishes_its_events(run_service) -> None:
    async with run_service("intake") as intake:
        async with httpx.AsyncClient(base_url=intake.url, timeout=10) as http:
            assert (await http.post("/cases", json=FAMILY)).status_code == 401
            response = await http.post("/cases", json=FAMILY, headers=intake.auth("coach-1"))
            assert response.status_code == 201, response.text
        case_id = response.json()["case_id"]
        for model in (CaseOpened, FamilyRegisteredV2):
            (record,) = await intake.published(model, expect=1)
            assert record.key == case_id.encode()
        assert b"Sam" not in record.value and b"Fatima" not in record.value
        # a reader of family-registered opens the child's details with the key intake serves
        child = decode(record.headers, record.value).data.child
        screening, reporting = opener_for(intake, "screening"), opener_for(intake, "reporting")
        try:
            opened = await screening.open("intake", case_id, child, ChildDetails)
            assert opened is not None and opened.child_first_name == "Sam"
            with pytest.raises(KeyUnavailable):  # not a reader of intake's sealed data
                await reporting.open("intake", case_id, child, ChildDetails)
        finally:
            await screening.aclose()
            await reporting.aclose()
    # a graceful stop: the lifespan ran to its end
    assert intake.stopped_gracefully
    assert '"service stopped"' in intake.log
    assert "Fatima" not in intake.log and "example.org" not in intake.log  # no personal data
