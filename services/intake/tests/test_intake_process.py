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
from vrac_contracts.events.intake import CaseOpened, FamilyRegistered
from vrac_runtime.auth import issue_token
from vrac_testing.kafka import read_all
from vrac_testing.processes import Platform

pytestmark = pytest.mark.integration

FAMILY = {
    "pilot": "leiden",
    "programme": "pit",
    "child_first_name": "Sam",
    "birth_year": 2016,
    "guardians": [{"name": "Fatima", "email": "fatima@example.org", "preferred_channel": "email"}],
}


async def test_the_process_registers_a_family_and_publishes_its_events(
    kafka_bootstrap: str, mongodb_url: str, test_prefix: str, tmp_path: Path
) -> None:
    platform = Platform(kafka_bootstrap, mongodb_url, f"{test_prefix}.", tmp_path)
    await asyncio.to_thread(platform.start, ("intake",))
    token = issue_token(platform.jwt_secret, subject="coach-1", role="coach", pilot="leiden")
    try:
        async with httpx.AsyncClient(base_url=platform.url("intake"), timeout=10) as http:
            assert (await http.post("/cases", json=FAMILY)).status_code == 401
            response = await http.post(
                "/cases", json=FAMILY, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 201, response.text
        case_id = response.json()["case_id"]
        for model in (CaseOpened, FamilyRegistered):
            topic = f"{test_prefix}.{spec_for(model).topic}"
            (record,) = await read_all(kafka_bootstrap, topic, expect=1)
            assert record.key == case_id.encode()
    finally:
        process = platform.services["intake"].process
        await asyncio.to_thread(platform.stop, ("intake",))
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
        await client.drop_database(f"{test_prefix}_vrac_intake")
        await client.close()
    # a graceful stop: the lifespan ran to its end
    assert process is not None and process.returncode in (0, -signal.SIGTERM)
    log = platform.services["intake"].log.read_text()
    assert '"service stopped"' in log
    assert "Fatima" not in log and "example.org" not in log  # no personal data in logs
