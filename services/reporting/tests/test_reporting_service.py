"""The reporting service on the real Kafka and store: counting, reports, auth, dead letters."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from vrac_contracts.catalogue import by_topic
from vrac_contracts.envelope import encode
from vrac_contracts.ids import new_id
from vrac_reporting.bootstrap import build
from vrac_runtime.consumer import DLQ_ERROR, DLQ_REASON
from vrac_testing.kafka import publish as publish_events
from vrac_testing.kafka import read_all, send_raw
from vrac_testing.polling import eventually

from services.reporting.tests.reporting_testkit import (
    GRANT_MONTH,
    event,
    grants,
    reporting_consent,
    running,
    token,
)

pytestmark = pytest.mark.integration


async def publish(settings: Any, *events: Any) -> None:
    """Publish events of the pilots' consenting cases, after the cases' reporting grants."""
    await publish_events(settings, *grants(), *events)


Months = dict[str, dict[str, Any]]
# the first month the tests count in, after the month of the consenting cases' grants
FIRST_MONTH = "2025-01"


async def pilot_months(client, settings, pilot: str = "leiden") -> Months:
    headers = token(settings, "pilot-lead", pilot)
    response = await client.get(f"/reports/pilots/{pilot}", headers=headers)
    assert response.status_code == 200, response.text
    # the month of the consenting cases' grants is not what these tests count
    return {m["month"]: m for m in response.json()["months"] if m["month"] != GRANT_MONTH}


async def months_when(
    client, settings, check: Callable[[Months], bool], pilot: str = "leiden"
) -> Months:
    """The pilot report's months once ``check`` holds for them."""

    async def probe() -> Months | None:
        months = await pilot_months(client, settings, pilot)
        return months if check(months) else None

    return await eventually(probe, f"the {pilot} report to reach the expected months")


def cell(months: Months, month: str, column: str) -> Any:
    return months.get(month, {}).get(column)


async def test_events_are_counted_per_pilot_and_utc_month(reporting_settings) -> None:
    settings = reporting_settings()
    march = [event("opened") for _ in range(6)]
    # 00:30 on 1 April at +02:00 is still March in UTC; 23:30 on 31 March at -01:00 is April
    late_march = event("opened", at="2025-04-01T00:30:00+02:00")
    april = [event("opened", at="2025-03-31T23:30:00-01:00") for _ in range(5)]
    mechelen = [event("opened", pilot="mechelen") for _ in range(7)]
    async with running(build(settings)) as client:
        await publish(settings, *mechelen, *march, late_march, *april)
        months = await months_when(
            client,
            settings,
            lambda m: (
                cell(m, "2025-03", "cases_opened") == 7 and cell(m, "2025-04", "cases_opened") == 5
            ),
        )
        assert sorted(months) == ["2025-03", "2025-04"]
        other = await months_when(
            client, settings, lambda m: cell(m, "2025-03", "cases_opened") == 7, "mechelen"
        )
        assert sorted(other) == ["2025-03"]


EXPECTED_JOURNEY = {
    "month": "2025-03",
    "cases_opened": 5,
    "cases_closed": "suppressed",
    "screenings_completed": 5,
    "diplomas_issued": "suppressed",
    "questionnaires_submitted": 5,
    "tasks_assigned": 8,
    "tasks_accepted": 5,
    "tasks_declined": "suppressed",
    "tasks_completed": 6,
    "tasks_overdue": "suppressed",
    # 6 informal and 2 professional: the 6 is hidden too, or 8 - 6 would give the 2 away
    "tasks_informal_network": "suppressed",
    "tasks_professional": "suppressed",
    "informal_network_share": None,
    "professional_share": None,
    "consents_granted": 5,
    "consents_withdrawn": "suppressed",
    # no questionnaire was answered item by item
    **dict.fromkeys(
        (
            "wellbeing_banded",
            "wellbeing_low",
            "wellbeing_moderate",
            "wellbeing_high",
            "wellbeing_change_assessed",
            "wellbeing_improved",
            "wellbeing_no_reliable_change",
            "wellbeing_worsened",
        ),
        "suppressed",
    ),
    # no network measured this month
    "network_cases_measured": "suppressed",
    "network_mean_size": None,
    "network_informal_share": None,
    "network_cases_three_sectors_or_more": "suppressed",
}


async def test_every_figure_of_the_journey_with_small_cells_suppressed(
    reporting_settings,
) -> None:
    settings = reporting_settings()
    family = [event("assigned", assignee_kind=k) for k in ["family"] * 3 + ["informal"] * 3]
    professional = [event("assigned", assignee_kind=k) for k in ("professional", "agency")]
    events = [
        *[event("opened") for _ in range(5)],
        event("closed"),
        *[event("screening") for _ in range(5)],
        *[event("diploma") for _ in range(2)],
        *[event("questionnaire") for _ in range(5)],
        *family,
        *professional,
        *[event("accepted") for _ in range(5)],
        event("declined"),
        *[event("completed") for _ in range(6)],
        *[event("overdue") for _ in range(3)],
        *[event("consent", granted=True) for _ in range(5)],
        # a withdrawal by a case that still consents to reporting (of reporting itself, the
        # case would not count at all)
        event("consent", granted=False, purpose="screening"),
    ]
    async with running(build(settings)) as client:
        await publish(settings, *events)
        await months_when(client, settings, lambda m: m.get("2025-03") == EXPECTED_JOURNEY)


async def test_wellbeing_outcomes_are_counted_from_the_internal_topic(reporting_settings) -> None:
    settings = reporting_settings()
    baselines = [event("wellbeing", wellbeing_band="low", change=None) for _ in range(5)]
    follow_ups = [
        event("wellbeing", occasion="follow-up", wellbeing_band=band, change="improved")
        for band in ["moderate"] * 5 + ["high"] * 6
    ]
    async with running(build(settings)) as client:
        await publish(settings, *baselines, *follow_ups)
        months = await months_when(
            client, settings, lambda m: cell(m, "2025-03", "wellbeing_banded") == 16
        )
        march = months["2025-03"]
        assert [march[f"wellbeing_{band}"] for band in ("low", "moderate", "high")] == [5, 5, 6]
        # 11 improved and none otherwise: the zeros are hidden, and so the 11 with them
        assert march["wellbeing_change_assessed"] == 11
        assert {
            march[f"wellbeing_{c}"] for c in ("improved", "no_reliable_change", "worsened")
        } == {"suppressed"}


async def test_the_same_event_delivered_twice_counts_once(reporting_settings) -> None:
    settings = reporting_settings()
    twice = [event("opened") for _ in range(5)]
    # one partition per topic in tests: once April's openings are counted, every copy of the
    # March ones before them on the same topic has been handled
    after = [event("opened", at="2025-04-02T10:00:00Z") for _ in range(5)]
    async with running(build(settings)) as client:
        await publish(settings, *twice, *twice, *after)
        months = await months_when(
            client, settings, lambda m: cell(m, "2025-04", "cases_opened") == 5
        )
    assert months["2025-03"]["cases_opened"] == 5


async def test_a_malformed_message_is_dead_lettered_and_the_next_one_counted(
    reporting_settings,
) -> None:
    settings = reporting_settings()
    good = [encode(event("opened")) for _ in range(5)]
    topic = settings.topic(good[0].topic)
    bootstrap = settings.kafka_bootstrap_servers
    async with running(build(settings)) as client:
        await publish(settings)  # the consenting cases' grants
        await send_raw(bootstrap, topic, b'{"pilot": "leiden"', good[0].key, good[0].headers)
        for record in good:
            await send_raw(bootstrap, topic, record.value, record.key, record.headers)
        await months_when(client, settings, lambda m: cell(m, "2025-03", "cases_opened") == 5)
        dlq = settings.topic(by_topic(good[0].topic).dlq_topic)
        dead = await read_all(bootstrap, dlq, expect=1)
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers[DLQ_REASON] == b"undecodable"
    assert b"JSON" in headers[DLQ_ERROR]


async def test_reports_as_csv_with_a_header_row(reporting_settings) -> None:
    settings = reporting_settings()
    async with running(build(settings)) as client:
        await publish(settings, *[event("opened") for _ in range(5)], event("closed"))
        await months_when(client, settings, lambda m: cell(m, "2025-03", "cases_opened") == 5)
        by_query = await client.get(
            "/reports/pilots/leiden",
            params={"format": "csv", "from": FIRST_MONTH},
            headers=token(settings, "coach", "leiden"),
        )
        by_accept = await client.get(
            "/reports/consortium",
            params={"from": FIRST_MONTH},
            headers={**token(settings, "consortium", "*"), "Accept": "text/csv"},
        )
    assert by_query.status_code == 200
    assert by_query.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(by_query.text)))
    assert len(rows) == 1
    assert rows[0]["pilot"] == "leiden" and rows[0]["month"] == "2025-03"
    assert rows[0]["cases_opened"] == "5" and rows[0]["cases_closed"] == "suppressed"
    assert rows[0]["informal_network_share"] == ""
    consortium = list(csv.reader(io.StringIO(by_accept.text)))
    header, body = consortium[0], consortium[1:]
    assert header[:4] == ["pilot", "month", "cases_opened", "cases_closed"]
    # every pilot side by side for the month, all but Leiden's cells suppressed
    assert [row[0] for row in body] == [
        "leiden",
        "mechelen",
        "east-sussex",
        "norwich",
        "lille",
        "wattrelos",
    ]
    assert body[0][2] == "5" and all(row[2] == "suppressed" for row in body[1:])


async def test_the_consortium_report_puts_every_pilot_side_by_side(reporting_settings) -> None:
    settings = reporting_settings()
    async with running(build(settings)) as client:
        await publish(
            settings,
            *[event("opened", pilot="lille") for _ in range(5)],
            *[event("opened", pilot="norwich", at="2025-05-02T10:00:00Z") for _ in range(6)],
        )
        await months_when(
            client, settings, lambda m: cell(m, "2025-05", "cases_opened") == 6, "norwich"
        )
        await months_when(
            client, settings, lambda m: cell(m, "2025-03", "cases_opened") == 5, "lille"
        )
        response = await client.get(
            "/reports/consortium",
            params={"from": FIRST_MONTH},
            headers=token(settings, "consortium", "*"),
        )
    body = response.json()
    assert response.status_code == 200
    assert [m["month"] for m in body["months"]] == ["2025-03", "2025-05"]
    march, may = (m["pilots"] for m in body["months"])
    assert march["lille"]["cases_opened"] == 5 and march["norwich"]["cases_opened"] == "suppressed"
    assert may["norwich"]["cases_opened"] == 6 and may["lille"]["cases_opened"] == "suppressed"
    assert sorted(march) == sorted(body["pilots"]) and len(body["pilots"]) == 6


async def test_months_can_be_limited(reporting_settings) -> None:
    settings = reporting_settings()
    async with running(build(settings)) as client:
        await publish(
            settings,
            event("opened", at="2025-01-10T10:00:00Z"),
            event("opened", at="2025-02-10T10:00:00Z"),
            event("opened", at="2025-03-10T10:00:00Z"),
        )
        await months_when(client, settings, lambda m: len(m) == 3)
        response = await client.get(
            "/reports/pilots/leiden",
            params={"from": "2025-02", "to": "2025-03"},
            headers=token(settings, "pilot-lead", "leiden"),
        )
    assert [m["month"] for m in response.json()["months"]] == ["2025-02", "2025-03"]


async def test_who_may_see_which_report(reporting_settings) -> None:
    settings = reporting_settings()
    pilot, consortium = "/reports/pilots/mechelen", "/reports/consortium"
    bad: dict[str, str] = {"Authorization": "Bearer nonsense"}
    # who asks: (method, path, headers; None for a (role, pilot) with no token at all)
    asks: dict[str, tuple[str, str, tuple[str, str] | dict[str, str] | None]] = {
        "no token": ("GET", pilot, None),
        "bad token": ("GET", pilot, bad),
        "leiden lead": ("GET", pilot, ("pilot-lead", "leiden")),
        "mechelen lead": ("GET", pilot, ("pilot-lead", "mechelen")),
        "mechelen coach": ("GET", pilot, ("coach", "mechelen")),
        "mechelen agency": ("GET", pilot, ("agency", "mechelen")),
        "consortium": ("GET", pilot, ("consortium", "*")),
        "consortium, no token": ("GET", consortium, None),
        "consortium, a pilot lead": ("GET", consortium, ("pilot-lead", "leiden")),
        "consortium, scoped to one pilot": ("GET", consortium, ("consortium", "leiden")),
        "rebuild, a pilot lead": ("POST", "/admin/rebuild", ("pilot-lead", "*")),
    }
    async with running(build(settings)) as client:
        statuses = {}
        for who, (method, path, by) in asks.items():
            headers = token(settings, *by) if isinstance(by, tuple) else by
            statuses[who] = (await client.request(method, path, headers=headers)).status_code
    assert statuses == {
        "no token": 401,
        "bad token": 401,
        "leiden lead": 403,
        "mechelen lead": 200,
        "mechelen coach": 200,
        "mechelen agency": 403,
        "consortium": 200,
        "consortium, no token": 401,
        "consortium, a pilot lead": 403,
        "consortium, scoped to one pilot": 403,
        "rebuild, a pilot lead": 403,
    }


async def test_bad_input_is_422_naming_the_field_and_unknown_ids_404(reporting_settings) -> None:
    settings = reporting_settings()
    lead = token(settings, "pilot-lead", "leiden")
    admin = token(settings, "admin", "*")
    async with running(build(settings)) as client:
        bad_format = await client.get(
            "/reports/pilots/leiden", params={"format": "xml"}, headers=lead
        )
        bad_month = await client.get(
            "/reports/pilots/leiden", params={"from": "2025-13"}, headers=lead
        )
        reversed_range = await client.get(
            "/reports/consortium",
            params={"from": "2025-05", "to": "2025-01"},
            headers=token(settings, "consortium", "*"),
        )
        unknown_pilot = await client.get("/reports/pilots/atlantis", headers=admin)
        unknown_rebuild = await client.get("/admin/rebuild/g20250101000000abcd", headers=admin)
    assert bad_format.status_code == 422 and "format" in bad_format.json()["detail"]
    assert bad_month.status_code == 422 and "from" in bad_month.json()["detail"]
    assert reversed_range.status_code == 422 and "from" in reversed_range.json()["detail"]
    assert unknown_pilot.status_code == 404
    assert unknown_rebuild.status_code == 404


async def test_the_service_runs_as_a_process_configured_by_environment(
    reporting_settings,
) -> None:
    settings = reporting_settings()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URL": settings.mongodb_url,
        "VRAC_TOPIC_PREFIX": settings.topic_prefix,
        "VRAC_MONGODB_DATABASE": settings.database,
        "VRAC_HTTP_PORT": str(port),
        "VRAC_DEVELOPMENT": "true",  # the test kit's development tokens
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vrac_reporting", env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                try:
                    ready = await client.get("/health/ready")
                    if ready.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, "never became ready"
                await asyncio.sleep(0.2)
            await publish(settings, *[event("opened") for _ in range(5)])
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                body = (
                    await client.get(
                        "/reports/pilots/leiden", headers=token(settings, "coach", "leiden")
                    )
                ).json()
                march = [m for m in body["months"] if m["month"] == "2025-03"]
                if march and march[0]["cases_opened"] == 5:
                    break
                assert asyncio.get_running_loop().time() < deadline, body
                await asyncio.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert process.returncode in (0, -signal.SIGTERM)
    assert b'"service stopped"' in out


async def test_the_report_follows_each_cases_newest_reporting_decision(reporting_settings) -> None:
    settings = reporting_settings()
    late, leaving = new_id("case"), new_id("case")
    async with running(build(settings)) as client:
        await publish(
            settings,
            *[event("opened", case_id=late) for _ in range(5)],  # no consent yet
            *[event("opened", case_id=leaving) for _ in range(6)],
            reporting_consent(leaving, at="2025-02-01T10:00:00Z"),
        )
        await months_when(client, settings, lambda m: cell(m, "2025-03", "cases_opened") == 6)
        # read after the events they govern: a grant given in February, a withdrawal in April
        await publish_events(
            settings,
            reporting_consent(late, at="2025-02-03T10:00:00Z"),
            reporting_consent(leaving, granted=False, at="2025-04-01T10:00:00Z"),
        )
        months = await months_when(
            client, settings, lambda m: cell(m, "2025-03", "cases_opened") == 5
        )
    # the withdrawal is not counted either: the case that made it counts nowhere any more
    assert sorted(months) == ["2025-02", "2025-03"]
