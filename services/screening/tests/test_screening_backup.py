"""Backing up and restoring screening's store, the service running as its own process.

The case for ``python -m vrac_runtime.backup``: events handled, a backup, more events
handled, the store lost, the backup restored, the service started again. What the store held
before the loss is back, with the effects of the events handled after the backup made again
by the consumers, and nothing is doubled: one diploma per screening, one ``diploma-issued``
id per diploma however often the relay publishes it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.envelope import decode
from vrac_contracts.events.screening import DiplomaIssued
from vrac_testing.polling import eventually
from vrac_testing.processes import OneService

from services.screening.tests.key_owner import IntakeKeys
from services.screening.tests.screening_events import consent, opened

pytestmark = pytest.mark.integration

SCORES = {"scores": [{"domain": "creativity", "kind": "percentile", "score": 93}]}
# outbox machinery: emptied by the relay once it published, whatever the store held before
_RELAY_FIELDS = ("outbox", "outbox_pending")


async def backup_command(screening: OneService, *args: str) -> tuple[int, str]:
    """``python -m vrac_runtime.backup`` with the service's own environment."""
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vrac_runtime.backup",
        *args,
        env=screening.platform.env("screening"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(command.communicate(), 120)
    assert command.returncode is not None
    return command.returncode, err.decode()


async def store_of(client: AsyncMongoClient[Any], database: str) -> dict[str, dict[Any, Any]]:
    """Every document of the database by collection and ``_id``, the outbox left aside."""
    db = client[database]
    held: dict[str, dict[Any, Any]] = {}
    for name in sorted(await db.list_collection_names()):
        docs = [doc async for doc in db[name].find({})]
        held[name] = {
            doc["_id"]: {k: v for k, v in doc.items() if k not in _RELAY_FIELDS} for doc in docs
        }
    return held


def without_issued_at(held: dict[str, dict[Any, Any]]) -> dict[str, dict[Any, Any]]:
    """The store with the time each diploma was made left aside: a diploma made again after
    the restore carries the time it was made again."""
    diplomas = {
        key: {k: v for k, v in doc.items() if k != "issued_at"}
        for key, doc in held.get("diplomas", {}).items()
    }
    return {**held, "diplomas": diplomas}


async def diplomas_of(client: AsyncMongoClient[Any], database: str) -> list[dict[str, Any]]:
    return [doc async for doc in client[database].diplomas.find({})]


async def screen(screening: OneService, case_id: str) -> None:
    """A coach records the case's screening, once screening knows the case."""
    async with httpx.AsyncClient(base_url=screening.url, timeout=10) as http:

        async def recorded() -> bool:
            response = await http.post(
                f"/cases/{case_id}/screenings", json=SCORES, headers=screening.auth()
            )
            return response.status_code == 201

        await eventually(recorded, f"the screening of {case_id}")


async def test_a_restored_store_catches_up_and_nothing_is_doubled(
    run_service, mongodb_url: str, test_prefix: str, tmp_path: Path
) -> None:
    first, second, third = (f"case_backup{n}{test_prefix[-6:]}" for n in "abc")
    archive = tmp_path / "screening.vrac.gz"
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url, tz_aware=True)
    async with run_service("screening") as screening:
        platform = screening.platform
        database = platform.env("screening")["VRAC_MONGODB_DATABASE"]
        intake = IntakeKeys(
            mongodb_url, f"{test_prefix}_intake_keys", port=platform.services["intake"].port
        )
        async with intake:
            # before the backup: a diploma for the first case; the second is screened, but
            # its parents have not agreed to a diploma yet
            await screening.publish(
                opened(first),
                consent(first, "screening"),
                consent(first, "diploma"),
                await intake.family(first, "Marijke"),
                opened(second),
                consent(second, "screening"),
                await intake.family(second, "Youssef"),
            )
            await screen(screening, first)
            await screen(screening, second)
            await eventually(lambda: diplomas_of(client, database), "the first diploma")
            code, said = await backup_command(
                screening, "dump", "--service", "screening", "--out", str(archive)
            )
            assert code == 0, said

            # after it: the diploma consent makes the second diploma; a third case opens
            await screening.publish(
                consent(second, "diploma", changed_at="2025-03-15T10:00:00Z"),
                opened(third),
            )

            async def both() -> bool:
                return len(await diplomas_of(client, database)) == 2

            await eventually(both, "the second diploma")
            await screening.published(DiplomaIssued, expect=2)
            await asyncio.to_thread(platform.stop, ("screening",))
            before = await store_of(client, database)

            # the store is lost and restored; the service starts again
            await client.drop_database(database)
            code, said = await backup_command(
                screening, "restore", "--service", "screening", "--from", str(archive)
            )
            assert code == 0, said
            await asyncio.to_thread(platform.start, ("screening",))

            async def caught_up() -> dict[str, dict[Any, Any]] | None:
                # every document as it was, not only the same ones: all can be there while
                # one still takes the events replayed after the restore
                held = await store_of(client, database)
                return held if without_issued_at(held) == without_issued_at(before) else None

            after = await eventually(caught_up, "the store caught up")
            records = await screening.published(DiplomaIssued, expect=3)
    await client.close()
    assert "Marijke" not in said and "Youssef" not in said  # no personal data printed
    # every document is back as it was (caught_up); the diploma made again after the
    # restore is not older than the first time it was made
    remade = {d["_id"] for d in before["diplomas"].values() if d["case_id"] == second}
    assert remade
    for key in remade:
        assert after["diplomas"][key]["issued_at"] >= before["diplomas"][key]["issued_at"]
    assert after["diplomas"].keys() == before["diplomas"].keys()
    assert len(after["diplomas"]) == 2  # one per screening
    issued = [decode(r.headers, r.value) for r in records]
    ids_per_diploma: dict[str, set[str]] = {}
    for envelope in issued:
        ids_per_diploma.setdefault(envelope.data.diploma_id, set()).add(envelope.id)
    # published again after the restore, with the id consumers have seen: dropped by them
    assert len(issued) >= 3
    assert ids_per_diploma.keys() == set(after["diplomas"])
    assert all(len(ids) == 1 for ids in ids_per_diploma.values())
