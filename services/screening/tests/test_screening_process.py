"""The service as an operator runs it: its own process, configured by environment only."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import encode, new_envelope
from vrac_contracts.events.base import EventData
from vrac_contracts.events.intake import CaseOpened, ConsentChanged, FamilyRegistered
from vrac_contracts.events.screening import DiplomaIssued
from vrac_runtime.auth import issue_token
from vrac_testing.kafka import read_all, send_raw
from vrac_testing.processes import Platform

pytestmark = pytest.mark.integration

CASE = "case_screeningprocess1"
BASE = {"case_id": CASE, "pilot": "leiden", "occurred_at": "2025-03-14T09:30:00Z"}
NAME = "Marijke"


def intake_events() -> list[EventData]:
    opened = CaseOpened.model_validate(
        {**BASE, "programme": "pit", "opened_at": "2025-03-14T09:00:00+01:00"}
    )
    consents = [
        ConsentChanged.model_validate(
            {
                **BASE,
                "purpose": purpose,
                "granted": True,
                "changed_by": "guardian",
                "changed_at": "2025-03-14T09:40:00Z",
            }
        )
        for purpose in ("screening", "diploma")
    ]
    family = FamilyRegistered.model_validate(
        {
            **BASE,
            "child_first_name": NAME,
            "birth_year": 2016,
            "language": "nl",
            "programme": "pit",
            "guardians": [
                {
                    "guardian_id": "gdn_a1b2c3d4e5f6",
                    "name": "Fatima",
                    "email": "fatima@example.org",
                    "preferred_channel": "email",
                    "language": "nl",
                }
            ],
        }
    )
    return [opened, *consents, family]


async def test_the_process_consumes_serves_and_publishes(
    kafka_bootstrap: str, mongodb_url: str, test_prefix: str, tmp_path: Path
) -> None:
    platform = Platform(kafka_bootstrap, mongodb_url, f"{test_prefix}.", tmp_path)
    await asyncio.to_thread(platform.start, ("screening",))
    token = issue_token(platform.jwt_secret, subject="u-1", role="coach", pilot="leiden")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for event in intake_events():
            record = encode(new_envelope(event))
            topic = f"{test_prefix}.{record.topic}"
            await send_raw(kafka_bootstrap, topic, record.value, record.key, record.headers)
        body = {"scores": [{"domain": "creativity", "kind": "percentile", "score": 93}]}
        async with httpx.AsyncClient(base_url=platform.url("screening"), timeout=10) as http:
            assert (await http.get(f"/cases/{CASE}/diplomas")).status_code == 401
            status = 0
            for _ in range(200):
                response = await http.post(f"/cases/{CASE}/screenings", json=body, headers=headers)
                status = response.status_code
                if status == 201:
                    break
                await asyncio.sleep(0.1)  # until intake's events are in
            assert status == 201
            diplomas: list[dict[str, Any]] = []
            for _ in range(200):
                diplomas = (await http.get(f"/cases/{CASE}/diplomas", headers=headers)).json()
                if diplomas:
                    break
                await asyncio.sleep(0.1)
            assert [d["child_first_name"] for d in diplomas] == [NAME]
            pdf = await http.get(diplomas[0]["pdf_url"], headers=headers)
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        issued = await read_all(
            kafka_bootstrap, f"{test_prefix}.{spec_for(DiplomaIssued).topic}", expect=1
        )
        assert [r.key for r in issued] == [CASE.encode()]
    finally:
        process = platform.services["screening"].process
        await asyncio.to_thread(platform.stop, ("screening",))
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
        await client.drop_database(f"{test_prefix}_vrac_screening")
        await client.close()
    assert process is not None and process.returncode in (0, -signal.SIGTERM)
    log = platform.services["screening"].log.read_text()
    assert '"service stopped"' in log
    assert NAME not in log  # personal data never goes into the logs
