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
from vrac_contracts.events.intake import CaseOpened
from vrac_contracts.events.network import MemberAdded
from vrac_runtime.auth import issue_token
from vrac_testing.kafka import read_all, send_raw
from vrac_testing.processes import Platform

pytestmark = pytest.mark.integration

CASE = "case_networkprocess01"


async def test_the_process_serves_http_consumes_and_publishes(
    kafka_bootstrap: str, mongodb_url: str, test_prefix: str, tmp_path: Path
) -> None:
    platform = Platform(kafka_bootstrap, mongodb_url, f"{test_prefix}.", tmp_path)
    await asyncio.to_thread(platform.start, ("network",))
    url = platform.url("network")
    token = issue_token(platform.jwt_secret, subject="u-1", role="coach", pilot="leiden")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        record = encode(
            new_envelope(
                CaseOpened.model_validate(
                    {
                        "case_id": CASE,
                        "pilot": "leiden",
                        "occurred_at": "2025-03-14T09:30:00Z",
                        "programme": "pit",
                        "opened_at": "2025-03-14T09:00:00+01:00",
                    }
                )
            )
        )
        topic = f"{test_prefix}.{record.topic}"
        await send_raw(kafka_bootstrap, topic, record.value, record.key, record.headers)
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            assert (await http.get(f"/cases/{CASE}/members")).status_code == 401
            status = 0
            for _ in range(200):
                status = (await http.get(f"/cases/{CASE}/members", headers=headers)).status_code
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            assert status == 200
            member = {
                "kind": "family",
                "role": "supporter",
                "display_name": "Oma Ria",
                "email": "ria@example.org",
                "channel": "email",
            }
            added = await http.post(f"/cases/{CASE}/members", json=member, headers=headers)
            assert added.status_code == 201
        member_topic = f"{test_prefix}.{spec_for(MemberAdded).topic}"
        published = await read_all(kafka_bootstrap, member_topic, expect=1)
        assert [r.key for r in published] == [CASE.encode()]
    finally:
        process = platform.services["network"].process
        await asyncio.to_thread(platform.stop, ("network",))
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
        await client.drop_database(f"{test_prefix}_vrac_network")
        await client.close()
    # graceful: the lifespan ran to its end (uvicorn then re-raises SIGTERM as it exits)
    assert process is not None and process.returncode in (0, -signal.SIGTERM)
    assert '"service stopped"' in platform.services["network"].log.read_text()
