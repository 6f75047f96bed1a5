"""One test per consent purpose: the parents withdraw it, and what it covered stops.

Each test takes a case of its own through what the purpose allows, withdraws the purpose at
intake, and shows the owning service stop at once, although the withdrawal reaches it over
Kafka, on a topic not ordered against the others. Reporting's purpose is shown by reporting's
own service test, where a single case's counts can be seen without disclosure control.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from vrac_testing.polling import eventually

from demo.scenario import (
    AGENCY,
    CONSENTS,
    GUARDIAN_EMAIL,
    MEMBERS,
    REACTION_TIMEOUT,
    SCORES,
    WEBHOOK_SECRET,
    Intake,
    PitCase,
)

pytestmark = pytest.mark.integration


async def consented_case(pit: PitCase) -> Intake:
    """A new Leiden case whose parents granted every purpose, known to every service."""
    case = await pit.intake()
    for purpose, extra in (*CONSENTS, ("questionnaires", {})):
        await pit.record_consent(case, purpose, granted=True, **extra)
    return case


async def answered(
    pit: PitCase, expected: int, method: str, service: str, path: str, **kwargs: Any
) -> httpx.Response:
    """The first answer with the expected status; other answers mean "not yet" (a service
    that has not read the latest consent answers the other way)."""

    async def probe() -> httpx.Response | None:
        reply = await pit.call(method, service, path, pit.coach, **kwargs)
        return reply if reply.status_code == expected else None

    return await eventually(
        probe, f"{method} {service}{path} to answer {expected}", timeout=REACTION_TIMEOUT
    )


async def test_withdrawing_screening_stops_new_screenings(pit: PitCase) -> None:
    case = await consented_case(pit)
    path = f"/cases/{case.case_id}/screenings"
    await answered(pit, 201, "POST", "screening", path, json=SCORES)
    await pit.record_consent(case, "screening", granted=False)
    refused = await answered(pit, 409, "POST", "screening", path, json=SCORES)
    assert "screening" in refused.json()["detail"]


async def test_withdrawing_questionnaires_stops_new_questionnaires(pit: PitCase) -> None:
    case = await consented_case(pit)
    path = f"/cases/{case.case_id}/questionnaires"
    body = {"instrument": "kidscreen-10", "respondent": "child", "score": 38}
    await answered(pit, 201, "POST", "screening", path, json=body)
    await pit.record_consent(case, "questionnaires", granted=False)
    refused = await answered(pit, 409, "POST", "screening", path, json=body)
    assert "questionnaires" in refused.json()["detail"]


async def screened_with_link(pit: PitCase) -> tuple[Intake, str, str]:
    """A consented case, screened: the case, its diploma id and the family's link (from the
    guardian's mail), which opens the diploma."""
    case = await consented_case(pit)
    await answered(pit, 201, "POST", "screening", f"/cases/{case.case_id}/screenings", json=SCORES)
    diploma = (await pit.diploma(case)).diploma_id

    def link_mail() -> str | None:
        # this case's link: other tests' guardians share the address
        pattern = rf"https?://\S+/diplomas/{diploma}\.pdf\?link=\S+"
        found = [re.findall(pattern, m.text) for m in pit.smtp.to(GUARDIAN_EMAIL)]
        return next((links[0] for links in found if links), None)

    link = await eventually(link_mail, "the guardian's diploma mail", timeout=REACTION_TIMEOUT)
    assert (await pit.http.get(link)).status_code == 200
    return case, diploma, link


async def test_withdrawing_diploma_closes_the_familys_link(pit: PitCase) -> None:
    case, _, link = await screened_with_link(pit)
    await pit.record_consent(case, "diploma", granted=False)

    async def closed() -> bool:
        return (await pit.http.get(link)).status_code == 403

    await eventually(closed, "the link to stop opening", timeout=REACTION_TIMEOUT)


async def test_a_link_the_coach_revokes_answers_403(pit: PitCase) -> None:
    """The family's link, signed by screening and asked for by notifications over HTTP,
    opens the diploma until the coach revokes it; then it says it was revoked."""
    _, diploma, link = await screened_with_link(pit)
    listed = await pit.call("GET", "screening", f"/diplomas/{diploma}/links", pit.coach)
    [sent] = listed.json()  # one guardian, one message, one link
    revoked = await pit.call("DELETE", "screening", f"/links/{sent['link_id']}", pit.coach)
    assert revoked.status_code == 204
    refused = await pit.http.get(link)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this link was revoked; ask the coach for a new one"


async def test_withdrawing_share_with_school_stops_the_schools_messages(pit: PitCase) -> None:
    case = await consented_case(pit)
    teacher = await answered(
        pit, 201, "POST", "network", f"/cases/{case.case_id}/members", json=MEMBERS["teacher"]
    )
    teacher_id = teacher.json()["member_id"]
    await pit.record_consent(case, "share-with-school", granted=False)
    await answered(pit, 201, "POST", "screening", f"/cases/{case.case_id}/screenings", json=SCORES)

    async def school_advice_withheld() -> list[dict[str, Any]] | None:
        found = [d for d in await pit.deliveries(case) if d["recipient_id"] == teacher_id]
        return found if found and all(d["status"] != "scheduled" for d in found) else None

    deliveries = await eventually(
        school_advice_withheld, "the school advice's fate", timeout=REACTION_TIMEOUT
    )
    # held back for want of consent: never delivered, never failed
    assert {d["status"] for d in deliveries} <= {"withheld", "cancelled"}


async def test_withdrawing_share_with_agency_stops_tasks_and_webhooks(pit: PitCase) -> None:
    case = await consented_case(pit)
    await pit.ok(
        "PUT",
        "notifications",
        f"/agencies/{AGENCY}/webhook",
        pit.agency,
        json={"url": pit.hooks.url, "secret": WEBHOOK_SECRET},
    )
    team = await answered(
        pit, 201, "POST", "network", f"/cases/{case.case_id}/members", json=MEMBERS["youth team"]
    )
    body = {"category": "meeting", "assignee_id": team.json()["member_id"]}
    tasks = f"/cases/{case.case_id}/tasks"
    await answered(pit, 201, "POST", "network", tasks, json=body)
    await pit.record_consent(case, "share-with-agency", granted=False, agency_id=AGENCY)
    refused = await answered(pit, 409, "POST", "network", tasks, json=body)
    assert "share-with-agency" in refused.json()["detail"]
