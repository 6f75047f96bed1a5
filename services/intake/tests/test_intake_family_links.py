"""The family's link at intake, on the real store: issued to notifications only, for a
guardian of an open case; it opens that case, its consents and the guardian's own decisions;
staff list and revoke it."""

from __future__ import annotations

from typing import Any

import pytest
from vrac_runtime.auth import development_token

from services.intake.tests.conftest import Intake

pytestmark = pytest.mark.integration

NOTIFICATIONS = {
    "Authorization": "Bearer "
    + development_token(role="service", pilot="*", service="notifications")
}


def family(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def issue(intake: Intake, case_id: str, guardian_id: str, headers: dict | None = None):
    return await intake.http.post(
        "/internal/family-links",
        json={"case_id": case_id, "guardian_id": guardian_id},
        headers=headers or NOTIFICATIONS,
    )


async def registered_with_link(intake: Intake) -> tuple[dict[str, Any], dict[str, Any]]:
    case = await intake.register()
    issued = await issue(intake, case["case_id"], case["guardians"][0]["guardian_id"])
    assert issued.status_code == 201, issued.text
    return case, issued.json()


async def test_only_notifications_asks_for_a_link_for_a_guardian_of_an_open_case(
    intake: Intake,
) -> None:
    case = await intake.register()
    case_id, guardian_id = case["case_id"], case["guardians"][0]["guardian_id"]
    screening = {
        "Authorization": "Bearer "
        + development_token(role="service", pilot="*", service="screening")
    }
    assert (await issue(intake, case_id, guardian_id, screening)).status_code == 403
    assert (await issue(intake, case_id, guardian_id, intake.auth())).status_code == 403
    assert (await issue(intake, case_id, "gdn_nothere0000")).status_code == 404
    assert (await issue(intake, "case_unknown00000", guardian_id)).status_code == 404
    assert (await intake.close(case_id, "erasure-requested")).status_code == 200
    closed = await issue(intake, case_id, guardian_id)
    assert closed.status_code == 409 and "closed" in closed.json()["detail"]


async def test_the_family_reads_its_case_without_the_other_guardians_contacts(
    intake: Intake,
) -> None:
    case, link = await registered_with_link(intake)
    mine, other = case["guardians"]
    seen = await intake.http.get(f"/cases/{case['case_id']}", headers=family(link["token"]))
    assert seen.status_code == 200, seen.text
    shown = {g["guardian_id"]: g for g in seen.json()["guardians"]}
    assert shown[mine["guardian_id"]]["email"] == "fatima@example.org"
    assert shown[other["guardian_id"]]["name"] == "Karim"
    assert shown[other["guardian_id"]]["phone"] is None
    # another family's case stays shut
    elsewhere = await intake.register()
    refused = await intake.http.get(f"/cases/{elsewhere['case_id']}", headers=family(link["token"]))
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "this link opens another family's case",
    )
    # and the link opens nothing staff-only
    listed = await intake.http.get("/cases", headers=family(link["token"]))
    assert listed.status_code == 401


async def test_the_family_withdraws_a_consent_as_its_own_guardian(intake: Intake) -> None:
    case, link = await registered_with_link(intake)
    case_id = case["case_id"]
    mine, other = (g["guardian_id"] for g in case["guardians"])
    assert (await intake.consent(case_id, "screening")).status_code == 201
    path = f"/cases/{case_id}/consents"
    as_other = {"purpose": "screening", "granted": False, "recorded_by": {"guardian_id": other}}
    refused = await intake.http.post(path, json=as_other, headers=family(link["token"]))
    assert refused.status_code == 403 and "recorded_by" in refused.json()["detail"]
    as_coach = {**as_other, "recorded_by": {"role": "coach"}}
    refused = await intake.http.post(path, json=as_coach, headers=family(link["token"]))
    assert refused.status_code == 403
    as_me = {**as_other, "recorded_by": {"guardian_id": mine}}
    withdrawn = await intake.http.post(path, json=as_me, headers=family(link["token"]))
    assert withdrawn.status_code == 201, withdrawn.text
    consents = (await intake.http.get(path, headers=family(link["token"]))).json()
    [screening] = [c for c in consents["current"] if c["purpose"] == "screening"]
    assert screening["granted"] is False
    assert (screening["changed_by"], screening["guardian_id"]) == ("guardian", mine)
    assert [c["granted"] for c in consents["history"]] == [True, False]


async def test_staff_list_and_revoke_a_link_which_then_opens_nothing(intake: Intake) -> None:
    case, link = await registered_with_link(intake)
    case_id = case["case_id"]
    listed = await intake.http.get(f"/cases/{case_id}/family-links", headers=intake.auth())
    [shown] = listed.json()
    assert (shown["link_id"], shown["state"]) == (link["link_id"], "active")
    assert "token" not in shown
    lead = intake.auth("pilot-lead")
    assert (
        await intake.http.delete(f"/family-links/{link['link_id']}", headers=lead)
    ).status_code == 403
    revoked = await intake.http.delete(f"/family-links/{link['link_id']}", headers=intake.auth())
    assert revoked.status_code == 204
    refused = await intake.http.get(f"/cases/{case_id}", headers=family(link["token"]))
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "this link was revoked; ask the coach for a new one",
    )
    listed = await intake.http.get(f"/cases/{case_id}/family-links", headers=intake.auth("dpo"))
    assert listed.json()[0]["state"] == "revoked"
