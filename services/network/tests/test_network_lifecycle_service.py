"""The network picture and the task's whole life through the running service, on the
stack's Kafka and FerretDB: HTTP in, events out, and a helper answering from their link."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from vrac_contracts.events import network as ev

pytestmark = pytest.mark.integration

CASE = "case_lifecycleservice1"
SVG = "{http://www.w3.org/2000/svg}"
SPIDER: dict[str, Any] = {
    "kind": "professional",
    "role": "spider-in-the-web",
    "display_name": "Coach Samira",
    "email": "samira@example.org",
    "channel": "email",
}
NEIGHBOUR: dict[str, Any] = {
    "kind": "informal",
    "role": "base-worker",
    "display_name": "Buurman Kees",
    "email": "kees@example.org",
    "channel": "email",
}


async def link_for(network: Any, task: dict, member_id: str) -> str:
    """The token of a link, asked for as notifications asks (its service token)."""
    body = {"case_id": CASE, "task_id": task["task_id"], "member_id": member_id}
    headers = network.auth(role="service", pilot="*", subject="notifications")
    answer = await network.http.post("/internal/task-links", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    url: str = answer.json()["url"]
    assert answer.json()["expires_at"]
    return url.rsplit("/task-links/", 1)[1]


async def test_a_helper_accepts_from_the_link_and_a_second_answer_is_refused(network) -> None:
    await network.open_case(CASE)
    kees = await network.add_member(CASE, **NEIGHBOUR)
    task = await network.assign(CASE, kees["member_id"], due_date="2025-03-20")
    token = await link_for(network, task, kees["member_id"])
    shown = await network.http.get(f"/task-links/{token}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["answers"] == ["accept", "decline", "done"]
    # no language given for Kees: the pilot's own, for the page that shows him the task
    assert shown.json()["language"] == "nl"
    answer = await network.http.post(f"/task-links/{token}/answer", json={"answer": "accept"})
    assert answer.json()["status"] == "accepted", answer.text
    again = await network.http.post(f"/task-links/{token}/answer", json={"answer": "done"})
    assert again.status_code == 409 and "used already" in again.json()["detail"]
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    refused = await network.http.get(f"/task-links/{altered}")
    assert refused.status_code == 403 and "not valid" in refused.json()["detail"]
    assert len(await network.published(ev.TaskAccepted, expect=1)) == 1


async def test_only_notifications_asks_for_task_links(network) -> None:
    await network.open_case(CASE)
    kees = await network.add_member(CASE, **NEIGHBOUR)
    task = await network.assign(CASE, kees["member_id"])
    body = {"case_id": CASE, "task_id": task["task_id"], "member_id": kees["member_id"]}
    for headers, status in (
        (network.auth(role="service", pilot="*", subject="reporting"), 403),
        (network.auth(), 403),
        ({}, 401),
    ):
        answer = await network.http.post("/internal/task-links", json=body, headers=headers)
        assert answer.status_code == status, answer.text


async def test_an_expired_link_says_so(start_network) -> None:
    async with start_network(deps={"link_seconds": -600}) as network:  # issued expired
        await network.open_case(CASE)
        kees = await network.add_member(CASE, **NEIGHBOUR)
        task = await network.assign(CASE, kees["member_id"])
        token = await link_for(network, task, kees["member_id"])
        answer = await network.http.post(f"/task-links/{token}/answer", json={"answer": "done"})
        assert answer.status_code == 403 and "expired" in answer.json()["detail"]


async def test_a_decline_from_the_link_reaches_the_coordinator_on_kafka(network) -> None:
    await network.open_case(CASE)
    spider = await network.add_member(CASE, **SPIDER)
    kees = await network.add_member(CASE, **NEIGHBOUR)
    task = await network.assign(CASE, kees["member_id"])
    token = await link_for(network, task, kees["member_id"])
    no_reason = await network.http.post(f"/task-links/{token}/answer", json={"answer": "decline"})
    assert no_reason.status_code == 422
    assert [e["field"] for e in no_reason.json()["errors"]] == ["reason"]
    body = {"answer": "decline", "reason": "no-time"}
    answer = await network.http.post(f"/task-links/{token}/answer", json=body)
    assert answer.json()["status"] == "declined", answer.text
    (declined,) = network.decoded(await network.published(ev.TaskDeclinedV2, expect=1))
    assert declined.data.coordinator_id == spider["member_id"]


async def test_edit_reassign_cancel_and_the_reminder_are_published(network) -> None:
    await network.open_case(CASE)
    oma = await network.add_member(CASE)
    kees = await network.add_member(CASE, **NEIGHBOUR)
    task = await network.assign(CASE, oma["member_id"], due_date="2025-03-25")
    path, auth = f"/tasks/{task['task_id']}", network.auth()
    edited = await network.http.patch(path, json={"due_date": "2025-03-20"}, headers=auth)
    assert edited.json()["due_date"] == "2025-03-20", edited.text
    moved = await network.act(task["task_id"], "reassign", assignee_id=kees["member_id"])
    assert moved.json()["assignee_id"] == kees["member_id"], moved.text
    sweep = await network.http.post("/sweeps/overdue", json={"as_of": "2025-03-18"}, headers=auth)
    assert sweep.json()["reminded"] == [task["task_id"]], sweep.text
    again = await network.http.post("/sweeps/overdue", json={"as_of": "2025-03-19"}, headers=auth)
    assert again.json()["reminded"] == []
    assert (await network.act(task["task_id"], "cancel")).json()["status"] == "cancelled"
    (due,) = network.decoded(await network.published(ev.TaskDueSoon, expect=1))
    assert (due.data.assignee_id, str(due.data.due_on)) == (kees["member_id"], "2025-03-20")
    for model in (ev.TaskEdited, ev.TaskReassigned, ev.TaskCancelled):
        assert len(await network.published(model, expect=1)) == 1, model.__name__


async def test_members_edited_related_and_drawn_on_the_map(network) -> None:
    await network.open_case(CASE)
    oma = await network.add_member(CASE)
    kees = await network.add_member(CASE, **NEIGHBOUR)
    members, auth = f"/cases/{CASE}/members", network.auth()
    second = await network.http.post(members, json={**SPIDER}, headers=auth)
    assert second.status_code == 201
    refused = await network.http.patch(
        f"{members}/{oma['member_id']}", json={"role": "spider-in-the-web"}, headers=auth
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["role"]
    for cleared in ("role", "channel", "sector"):
        refused = await network.http.patch(
            f"{members}/{oma['member_id']}", json={cleared: None}, headers=auth
        )
        assert [e["field"] for e in refused.json()["errors"]] == [cleared], refused.text
    edited = await network.http.patch(
        f"{members}/{oma['member_id']}", json={"relationship": "oma"}, headers=auth
    )
    assert edited.json()["relationship"] == "oma", edited.text
    relation = {"from_id": oma["member_id"], "to_id": kees["member_id"], "kind": "friendship"}
    added = await network.http.post(f"/cases/{CASE}/relations", json=relation, headers=auth)
    assert added.status_code == 201, added.text
    await network.assign(CASE, kees["member_id"])
    picture = await network.http.get(f"/cases/{CASE}/map.svg", headers=auth)
    assert picture.headers["content-type"].startswith("image/svg+xml")
    svg = ET.fromstring(picture.content)
    drawn = {g.get("id") for g in svg.iter(f"{SVG}g")}
    assert {f"member-{m['member_id']}" for m in (oma, kees)} <= drawn
    assert "ria@example.org" not in picture.text
    plan = (await network.http.get(f"/cases/{CASE}/plan", headers=auth)).json()
    assert plan["metrics"] == {
        "size": 3,
        "informal_share": 0.667,
        "sectors_covered": ["family", "friends-and-neighbours", "professionals"],
    }
    assert [r["kind"] for r in plan["relations"]] == ["friendship"]
    assert len(await network.published(ev.MemberEdited, expect=1)) == 1
