"""The service as an operator runs it: its own process, configured by environment only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from vrac_contracts.events.screening import DiplomaIssued
from vrac_testing.polling import eventually

from services.screening.tests.key_owner import IntakeKeys
from services.screening.tests.screening_events import consent, opened

pytestmark = pytest.mark.integration

CASE = "case_screeningprocess1"
NAME = "Marijke"
INTAKE_EVENTS = [
    opened(CASE),
    *(consent(CASE, p, changed_at="2025-03-14T09:40:00Z") for p in ("screening", "diploma")),
]


async def test_the_process_consumes_serves_and_publishes(
    run_service, mongodb_url: str, test_prefix: str
) -> None:
    async with run_service("screening") as screening:
        # intake's key route, where the process was told to find it
        platform = screening.platform
        port = platform.services["intake"].port
        database = f"{test_prefix}_intake_keys"
        intake = IntakeKeys(mongodb_url, database, port=port)
        async with intake:
            headers = screening.auth()
            await screening.publish(*INTAKE_EVENTS, await intake.family(CASE, NAME))
            body = {"scores": [{"domain": "creativity", "kind": "percentile", "score": 93}]}
            async with httpx.AsyncClient(base_url=screening.url, timeout=10) as http:
                assert (await http.get(f"/cases/{CASE}/diplomas")).status_code == 401

                async def screened() -> bool:  # refused until intake's events are in
                    response = await http.post(
                        f"/cases/{CASE}/screenings", json=body, headers=headers
                    )
                    return response.status_code == 201

                assert await eventually(screened, "the screening recorded")

                async def diplomas() -> list[dict[str, Any]]:
                    return (await http.get(f"/cases/{CASE}/diplomas", headers=headers)).json()

                issued = await eventually(diplomas, "the diploma")
                assert [d["child_first_name"] for d in issued] == [NAME]
                pdf = await http.get(issued[0]["pdf_url"], headers=headers)
                assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
            records = await screening.published(DiplomaIssued, expect=1)
            assert [r.key for r in records] == [CASE.encode()]
    assert screening.stopped_gracefully
    log = screening.log
    assert '"service stopped"' in log
    assert NAME not in log  # personal data never goes into the logs
