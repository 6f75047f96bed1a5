"""From network's HTTP to reporting's report, on the real Kafka and store: the members a coach
adds and removes become the pilot's network figures, after disclosure control."""

from __future__ import annotations

from typing import Any

import pytest
from vrac_contracts.ids import new_id
from vrac_reporting.bootstrap import build as build_reporting
from vrac_reporting.settings import ReportingSettings
from vrac_testing.kafka import publish
from vrac_testing.polling import eventually

from services.reporting.tests.reporting_testkit import reporting_consent, running, token

pytestmark = pytest.mark.integration

FRIEND = {"kind": "informal", "role": "supporter", "display_name": "Buurvrouw Els"}
TEACHER = {"kind": "professional", "role": "teacher", "display_name": "Juf Anouk"}
NETWORK_COLUMNS = (
    "network_cases_measured",
    "network_mean_size",
    "network_informal_share",
    "network_cases_three_sectors_or_more",
)


async def test_members_added_and_removed_become_the_pilots_network_figures(
    network: Any, make_settings: Any
) -> None:
    wide, narrow = [new_id("case") for _ in range(6)], [new_id("case") for _ in range(5)]
    reporting = ReportingSettings(**make_settings("reporting").model_dump())
    await publish(reporting, *[reporting_consent(case) for case in (*wide, *narrow)])
    teachers = {}
    for case in (*wide, *narrow):
        await network.open_case(case)
        await network.add_member(case)  # the grandmother: family
    for case in wide:
        await network.add_member(case, **FRIEND)
        teachers[case] = (await network.add_member(case, **TEACHER))["member_id"]
    # one network loses its teacher: two sectors left, so it no longer counts as wide
    gone = await network.http.delete(
        f"/cases/{wide[0]}/members/{teachers[wide[0]]}", headers=network.auth()
    )
    assert gone.status_code == 204, gone.text

    # 5 wide networks of 3, one of 2 and 5 of 1 member: 22 members, 17 of them informal
    expected = {
        "network_cases_measured": 11,
        "network_mean_size": 2.0,
        "network_informal_share": 0.77,
        "network_cases_three_sectors_or_more": 5,
    }
    async with running(build_reporting(reporting)) as client:

        async def figures() -> dict[str, Any] | None:
            answer = await client.get(
                "/reports/pilots/leiden", headers=token(reporting, "pilot-lead", "leiden")
            )
            assert answer.status_code == 200, answer.text
            for month in answer.json()["months"]:
                if {column: month[column] for column in NETWORK_COLUMNS} == expected:
                    return expected
            return None

        assert await eventually(figures, f"the leiden report to show {expected}") == expected
