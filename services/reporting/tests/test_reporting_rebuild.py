"""Rebuilding the read models by replay, on the real Kafka and store."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import encode
from vrac_contracts.events.intake import CaseOpened
from vrac_reporting.adapters.read_models import MongoReadModels
from vrac_reporting.bootstrap import build
from vrac_reporting.domain.generations import Generation
from vrac_reporting.settings import ReportingSettings
from vrac_testing.kafka import publish as publish_events
from vrac_testing.kafka import send_raw
from vrac_testing.polling import eventually

from services.reporting.tests.reporting_testkit import (
    GRANT_MONTH,
    event,
    grants,
    running,
    token,
)

pytestmark = pytest.mark.integration


async def publish(settings: Any, *events: Any) -> None:
    """Publish events of the pilots' consenting cases, after the cases' reporting grants."""
    await publish_events(settings, *grants(), *events)


async def months(client, settings: ReportingSettings, pilot: str = "leiden") -> dict[str, Any]:
    response = await client.get(
        f"/reports/pilots/{pilot}", headers=token(settings, "pilot-lead", pilot)
    )
    assert response.status_code == 200, response.text
    # the month of the consenting cases' grants is not what these tests count
    body = response.json()
    return {**body, "months": [m for m in body["months"] if m["month"] != GRANT_MONTH]}


async def until(probe, check, what: str, timeout: float = 30) -> Any:
    """Call ``probe`` until ``check`` holds for its result; return the result."""

    async def checked() -> tuple[Any] | None:
        result = await probe()
        return (result,) if check(result) else None

    (result,) = await eventually(checked, what, timeout)
    return result


def opened_in(report: dict[str, Any], month: str) -> Any:
    return next((m["cases_opened"] for m in report["months"] if m["month"] == month), None)


async def rebuild_over_http(client, settings: ReportingSettings) -> dict[str, Any]:
    admin = token(settings, "admin", "*")
    started = await client.post("/admin/rebuild", headers=admin)
    assert started.status_code == 202, started.text
    url = started.json()["status_url"]

    async def status() -> dict[str, Any]:
        return (await client.get(url, headers=admin)).json()

    return await until(status, lambda s: s["status"] != "building", "the rebuild")


async def rebuild_command(settings: ReportingSettings) -> tuple[int | None, str, str]:
    """``python -m vrac_reporting.entrypoints.rebuild`` as its own process: exit code, out, err."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URL": settings.mongodb_url,
        "VRAC_TOPIC_PREFIX": settings.topic_prefix,
        "VRAC_MONGODB_DATABASE": settings.database,
    }
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vrac_reporting.entrypoints.rebuild",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(command.communicate(), 120)
    return command.returncode, out.decode(), err.decode()


async def test_a_rebuild_gives_the_same_numbers(reporting_settings) -> None:
    settings = reporting_settings()
    events = [
        *[event("opened") for _ in range(7)],
        # both parts at least 5, so the shares are published (and must be rebuilt alike)
        *[event("assigned", assignee_kind="informal") for _ in range(10)],
        *[event("assigned", assignee_kind="professional") for _ in range(5)],
        *[event("opened", at="2025-04-30T22:30:00-03:00") for _ in range(5)],  # May in UTC
        event("overdue"),
    ]
    bad = encode(events[0])
    async with running(build(settings)) as client:
        await publish(settings, *events, events[0], events[8])
        await send_raw(
            settings.kafka_bootstrap_servers,
            settings.topic(bad.topic),
            b"not json",
            bad.key,
            bad.headers,
        )
        before = await until(
            lambda: months(client, settings),
            lambda r: (
                opened_in(r, "2025-05") == 5
                and opened_in(r, "2025-03") == 7
                and r["months"][0]["tasks_assigned"] == 15
            ),
            "the live counts",
        )
        status = await rebuild_over_http(client, settings)
        after = await months(client, settings)
    assert status["status"] == "active", status
    granted = len(grants())
    assert (status["events_read"], status["events_counted"]) == (31 + granted, 28 + granted)
    assert (status["duplicates"], status["undecodable"]) == (2, 1)
    assert before["generation"] == "g0"
    assert after["generation"] == status["generation"] != "g0"
    assert after["months"] == before["months"]
    assert after["months"][0]["informal_network_share"] == 0.67


async def test_events_published_during_and_after_a_rebuild_count_once(
    reporting_settings,
) -> None:
    settings = reporting_settings()
    async with running(build(settings)) as client:
        await publish(settings, *[event("opened") for _ in range(20)])
        await until(
            lambda: months(client, settings), lambda r: opened_in(r, "2025-03") == 20, "first"
        )
        _, status = await asyncio.gather(
            publish(settings, *[event("opened") for _ in range(15)]),
            rebuild_over_http(client, settings),
        )
        await publish(settings, *[event("opened") for _ in range(10)])
        report = await until(
            lambda: months(client, settings),
            lambda r: opened_in(r, "2025-03") == 45,
            "every event once",
        )
        await publish(settings, *[event("opened", at="2025-06-01T10:00:00Z") for _ in range(5)])
        report = await until(
            lambda: months(client, settings), lambda r: opened_in(r, "2025-06") == 5, "the last"
        )
    assert status["status"] == "active"
    assert report["generation"] == status["generation"]
    assert opened_in(report, "2025-03") == 45


async def test_the_rebuild_command_prints_what_it_did_and_the_service_goes_on_from_there(
    reporting_settings,
) -> None:
    settings = reporting_settings()
    await publish(settings, *[event("closed") for _ in range(6)])
    code, out, err = await rebuild_command(settings)
    assert code == 0, err
    line = out.strip()
    assert "read 12 events (12 counted, 0 duplicates, 0 undecodable)" in line  # 6 grants
    assert line.endswith(" s")
    # The service has never run: its consumer starts at the earliest offset and must skip
    # what the replay counted, then count what comes after.
    async with running(build(settings)) as client:
        await publish(settings, *[event("closed") for _ in range(4)])

        async def closed() -> Any:
            report = await months(client, settings)
            return report["months"][0]["cases_closed"] if report["months"] else None

        assert await until(closed, lambda n: n == 10, "the new closings") == 10
        await publish(settings, event("closed", at="2025-07-01T10:00:00Z"))
        await until(
            lambda: months(client, settings), lambda r: len(r["months"]) == 2, "a later event"
        )
        assert await closed() == 10


async def test_a_rebuild_while_another_one_runs_is_refused_unless_forced(
    reporting_settings,
) -> None:
    settings = reporting_settings()
    admin = token(settings, "admin", "*")
    async with running(build(settings)) as client:
        # another process (the rebuild command, say) is filling a generation right now
        store: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
        other = MongoReadModels(store[settings.database])
        now = datetime.now(UTC)
        await other.begin_build(Generation("g20250101000000beef"), now, now, False)
        refused = await client.post("/admin/rebuild", headers=admin)
        forced = await client.post("/admin/rebuild", params={"force": "true"}, headers=admin)
        status = await until(
            lambda: client.get(forced.json()["status_url"], headers=admin),
            lambda r: r.json()["status"] != "building",
            "the forced rebuild",
        )
        replaced = await other.rebuild_status("g20250101000000beef")
        await store.close()
    assert refused.status_code == 409
    assert "g20250101000000beef" in refused.json()["detail"]
    assert forced.status_code == 202
    assert status.json()["status"] == "active"
    assert replaced is not None and replaced["status"] == "superseded"


async def test_a_rebuild_after_retention_removed_records_refuses_and_says_where(
    reporting_settings, capsys
) -> None:
    settings = reporting_settings()
    admin = token(settings, "admin", "*")
    topic = settings.topic(spec_for(CaseOpened).topic)
    async with running(build(settings)) as client:
        await publish(settings, *[event("opened") for _ in range(8)])
        before = await until(
            lambda: months(client, settings), lambda r: opened_in(r, "2025-03") == 8, "counted"
        )
        # what a 30-day retention does to the oldest segment, on the real broker
        kafka = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        await kafka.start()
        try:
            await kafka.delete_records({TopicPartition(topic, 0): RecordsToDelete(3)})
        finally:
            await kafka.close()
        refused = await client.post("/admin/rebuild", headers=admin)
        code, _, err = await rebuild_command(settings)
        after = await months(client, settings)
        generation = refused.json()["detail"].split()[1]
        status = (await client.get(f"/admin/rebuild/{generation}", headers=admin)).json()
    assert refused.status_code == 409, refused.text
    assert f"{topic} partition 0 offsets 0-2" in refused.json()["detail"]
    assert status["status"] == "refused"
    assert status["missing_records"] == 3
    assert status["missing"] == [
        {"topic": topic, "partition": 0, "first_offset": 0, "end_offset": 3, "records": 3}
    ]
    assert code == 3
    assert f"{topic} partition 0 offsets 0-2" in err
    logged = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    refusals = [
        line for line in logged if line["event"] == "rebuild refused: history missing on the topics"
    ]
    assert [r["missing"] for r in refusals] == [[f"{topic} partition 0 offsets 0-2"]]
    # the reports keep the full history they had
    assert after == before and after["generation"] == "g0"
