"""Wellbeing from the coach's submission to the pilot report, each service its own process.

Five Leiden children answer the WHO-5 at the start of support, at follow-up and at the end;
screening scores each one and judges the change, and reporting publishes the month's bands
and changes with small cells suppressed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from vrac_testing.polling import eventually

from demo.scenario import REACTION_TIMEOUT, Intake, PitCase

pytestmark = pytest.mark.integration

CHILDREN = 5
# the same answer to all five items: raw 5, 10, 20 -> 20 %, 40 %, 80 %
OCCASIONS = (("baseline", 1), ("follow-up", 2), ("end", 4))


async def answer_three_times(pit: PitCase, case: Intake) -> None:
    path = f"/cases/{case.case_id}/wellbeing"
    for occasion, answer in OCCASIONS:
        body = {
            "instrument": "who-5",
            "respondent": "child",
            "occasion": occasion,
            "responses": {f"q{n}": answer for n in range(1, 6)},
        }

        async def submitted(body: dict[str, Any] = body) -> bool:
            # the first waits for screening to have the parents' consent
            reply = await pit.call("POST", "screening", path, pit.coach, json=body)
            return reply.status_code == 201

        await eventually(submitted, f"the {occasion} WHO-5 of {case.case_id}", REACTION_TIMEOUT)


async def test_who5_answers_reach_the_pilot_report_as_bands_and_changes(pit: PitCase) -> None:
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    cases = [await pit.intake() for _ in range(CHILDREN)]
    for case in cases:
        for purpose in ("questionnaires", "reporting"):
            await pit.record_consent(case, purpose, granted=True)
    for case in cases:
        await answer_three_times(pit, case)

    # the coach sees each child's change
    [change] = await pit.ok(
        "GET", "screening", f"/cases/{cases[0].case_id}/wellbeing/change", pit.coach
    )
    assert (change["baseline"]["value"], change["latest"]["value"]) == (20, 80)
    assert (change["latest"]["occasion"], change["change"]) == ("end", "improved")

    async def figures() -> dict[str, Any] | None:
        report = await pit.ok("GET", "reporting", "/reports/pilots/leiden", pit.lead)
        found = next((m for m in report["months"] if m["month"] == month), None)
        # the scores and the submissions are two events on two topics, read independently
        counted = ("wellbeing_banded", "questionnaires_submitted")
        return found if found and all(found[c] == 3 * CHILDREN for c in counted) else None

    row = await eventually(figures, "reporting to count the WHO-5 bands", REACTION_TIMEOUT)
    # five children in each band: every band shown
    assert [row[f"wellbeing_{b}"] for b in ("low", "moderate", "high")] == [CHILDREN] * 3
    # ten follow-ups and ends, all improved: the empty verdicts are hidden, and the ten with
    # them, or 10 - 0 - 0 would tell the zeros
    assert row["wellbeing_change_assessed"] == 2 * CHILDREN
    assert {row[f"wellbeing_{c}"] for c in ("improved", "no_reliable_change", "worsened")} == {
        "suppressed"
    }
    assert row["questionnaires_submitted"] == 3 * CHILDREN
