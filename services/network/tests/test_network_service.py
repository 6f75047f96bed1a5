"""The network service against the real Kafka and FerretDB, driven through HTTP and events."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import encode, new_envelope
from vrac_contracts.events import network as emitted
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded
from vrac_contracts.fields import is_personal
from vrac_runtime.consumer import DLQ_ERROR, DLQ_REASON

pytestmark = pytest.mark.integration

CASE = "case_networkjourney01"


def closed(case_id: str, pilot: str = "leiden") -> CaseClosed:
    return CaseClosed.model_validate(
        {
            "case_id": case_id,
            "pilot": pilot,
            "occurred_at": "2025-06-01T10:00:00Z",
            "reason": "completed",
        }
    )


def consent(case_id: str, granted: bool, changed_at: str) -> ConsentRecorded:
    return ConsentRecorded.model_validate(
        {
            "case_id": case_id,
            "pilot": "leiden",
            "occurred_at": changed_at,
            "purpose": "share-with-agency",
            "granted": granted,
            "agency_id": "agy_youthteam0001",
            "changed_by": "guardian",
            "changed_at": changed_at,
        }
    )


async def test_a_network_with_tasks_is_published_and_shown_in_the_care_plan(network) -> None:
    await network.open_case(CASE)
    oma = await network.add_member(CASE)
    team = await network.add_member(CASE, **network.YOUTH_TEAM)
    await network.share_with_agency(CASE, "agy_youthteam0001")
    assert (oma["display_name"], oma["relationship"], oma["language"]) == (
        "Oma Ria",
        "grandmother",
        "nl",
    )
    homework = await network.assign(
        CASE, oma["member_id"], due_date="2025-04-01", description="Reads with Sam on Mondays"
    )
    meeting = await network.assign(CASE, team["member_id"], category="meeting")
    assert homework["status"] == "assigned" and homework["description"] is not None

    assert (await network.act(homework["task_id"], "accept")).json()["status"] == "accepted"
    assert (await network.act(homework["task_id"], "complete")).json()["status"] == "completed"
    declined = await network.act(meeting["task_id"], "decline", reason="no-time")
    assert declined.json()["decline_reason"] == "no-time"

    records = await network.published(emitted.MemberAddedV2, expect=2)
    assert not [r for r in records if b"Oma Ria" in r.value or b"ria@example.org" in r.value]
    members = network.decoded(records)
    opened = {m.data.member_id: await network.open_details(m) for m in members}
    assert {k: (v.display_name, v.relationship) for k, v in opened.items()} == {
        oma["member_id"]: ("Oma Ria", "grandmother"),
        team["member_id"]: ("Jeugdteam Leiden", "youth team"),
    }
    assert {m.data.agency_id for m in members} == {None, "agy_youthteam0001"}
    assert all(m.subject == CASE for m in members)

    assigned = network.decoded(await network.published(emitted.TaskAssigned, expect=2))
    assert {(e.data.task_id, e.data.assignee_id, e.data.category) for e in assigned} == {
        (homework["task_id"], oma["member_id"], "homework-support"),
        (meeting["task_id"], team["member_id"], "meeting"),
    }
    for model, task in (
        (emitted.TaskAccepted, homework),
        (emitted.TaskCompleted, homework),
        (emitted.TaskDeclinedV2, meeting),
    ):
        [event] = network.decoded(await network.published(model, expect=1))
        assert event.data.task_id == task["task_id"]

    plan = (await network.http.get(f"/cases/{CASE}/plan", headers=network.auth())).json()
    assert plan["status"] == "open"
    assert [(m["display_name"], [t["task_id"] for t in m["tasks"]]) for m in plan["members"]] == [
        ("Oma Ria", [homework["task_id"]]),
        ("Jeugdteam Leiden", [meeting["task_id"]]),
    ]
    assert plan["task_counts"] == {
        "assigned": 0,
        "accepted": 0,
        "declined": 1,
        "completed": 1,
        "cancelled": 0,
    }


async def test_public_task_events_carry_no_personal_data(network) -> None:
    await network.open_case(CASE)
    oma = await network.add_member(CASE, phone="+31612345678")
    task = await network.assign(
        CASE, oma["member_id"], due_date="2025-04-01", description="Oma Ria reads with Sam"
    )
    await network.act(task["task_id"], "decline", reason="not-suitable")
    await network.http.post("/sweeps/overdue", json={"as_of": "2025-05-01"}, headers=network.auth())
    await network.published(emitted.TaskDeclinedV2, expect=1)
    private = ("Oma", "Ria", "Sam", "ria@example.org", "+31612345678", "grandmother")
    for model in (emitted.TaskAssigned, emitted.TaskDeclinedV2):
        records = await network.published(model, expect=1)
        assert records, model.__name__
        spec = spec_for(model)
        assert spec.topic.startswith("vrac.public.")
        allowed = {n for n, f in model.model_fields.items() if not is_personal(f)}
        for record in records:
            text = record.value.decode() + repr(record.headers)
            assert not [word for word in private if word in text]
            assert set(network.bodies([record])[0]) <= allowed


async def test_an_unknown_case_is_404_and_a_closed_case_409(network) -> None:
    missing = await network.http.post(
        "/cases/case_nevernopened001/members", json=network.GRANDMOTHER, headers=network.auth()
    )
    assert missing.status_code == 404
    await network.open_case(CASE)
    oma = await network.add_member(CASE)
    task = await network.assign(CASE, oma["member_id"], due_date="2025-04-01")
    await network.publish(closed(CASE))

    async def is_closed() -> bool:
        plan = await network.http.get(f"/cases/{CASE}/plan", headers=network.auth())
        return plan.json()["status"] == "closed"

    await network.eventually(is_closed, "the case to be closed")
    again = await network.http.post(
        f"/cases/{CASE}/members", json=network.GRANDMOTHER, headers=network.auth()
    )
    assert again.status_code == 409
    assign = await network.http.post(
        f"/cases/{CASE}/tasks",
        json={"category": "check-in", "assignee_id": oma["member_id"]},
        headers=network.auth(),
    )
    assert assign.status_code == 409
    assert (await network.act(task["task_id"], "complete")).status_code == 409
    # nobody is reminded about the tasks of a closed case
    sweep = await network.http.post(
        "/sweeps/overdue", json={"as_of": "2025-05-01"}, headers=network.auth()
    )
    assert sweep.json()["reported"] == []


async def test_case_closed_arriving_before_case_opened_keeps_the_case_closed(network) -> None:
    await network.publish(closed(CASE))
    await network.publish(network.opened(CASE))

    async def visible() -> bool:
        plan = await network.http.get(f"/cases/{CASE}/plan", headers=network.auth())
        return plan.status_code == 200

    await network.eventually(visible, "the case to be known")
    plan = (await network.http.get(f"/cases/{CASE}/plan", headers=network.auth())).json()
    assert plan["status"] == "closed"
    response = await network.http.post(
        f"/cases/{CASE}/members", json=network.GRANDMOTHER, headers=network.auth()
    )
    assert response.status_code == 409


async def test_the_same_intake_event_delivered_twice_has_one_effect(network) -> None:
    first = await network.publish(network.opened(CASE))
    await network.open_case(CASE)  # waits for the case (publishes one more opened event)
    oma = await network.add_member(CASE)
    await network.publish(network.opened(CASE), envelope=first)
    grant = await network.publish(consent(CASE, True, "2025-03-15T10:00:00Z"))
    await network.publish(consent(CASE, True, "2025-03-15T10:00:00Z"), envelope=grant)
    # a marker event after the duplicates: once it is applied, the duplicates were too
    await network.publish(consent(CASE, False, "2025-03-16T10:00:00Z"))
    await network.publish(consent(CASE, True, "2025-03-15T12:00:00Z"))  # older, late
    marker = network.opened("case_networkmarker01")
    await network.open_case(marker.case_id)

    members = (await network.http.get(f"/cases/{CASE}/members", headers=network.auth())).json()
    assert [m["member_id"] for m in members] == [oma["member_id"]]
    team = await network.add_member(CASE, **network.YOUTH_TEAM)
    plan = (await network.http.get(f"/cases/{CASE}/plan", headers=network.auth())).json()
    entry = next(m for m in plan["members"] if m["member_id"] == team["member_id"])
    # the newest decision (withdrawn on the 16th) wins over the older one that came late
    assert entry["agency_consent"] is False
    assert len(await network.published(emitted.MemberAddedV2, expect=2)) == 2


async def test_a_malformed_message_is_dead_lettered_and_the_next_one_handled(network) -> None:
    spec = spec_for(CaseOpened)
    good = encode(new_envelope(network.opened(CASE)))
    await network.send(spec.topic, b'{"case_id": 42', good.key, good.headers)
    await network.send(spec.topic, good.value, good.key, good.headers)

    async def known() -> bool:
        response = await network.http.get(f"/cases/{CASE}/members", headers=network.auth())
        return response.status_code == 200

    await network.eventually(known, "the good event to be handled")
    [dead] = await network.read(spec.dlq_topic, expect=1)
    headers = dict(dead.headers)
    assert headers[DLQ_REASON] == b"undecodable"
    assert b"JSON" in headers[DLQ_ERROR]
    assert dead.value == b'{"case_id": 42'


async def test_tokens_are_required_and_scoped_to_the_pilot(network) -> None:
    await network.open_case(CASE)
    oma = await network.add_member(CASE)
    task = await network.assign(CASE, oma["member_id"])
    path = f"/cases/{CASE}/plan"
    assert (await network.http.get(path)).status_code == 401
    other_pilot = await network.http.get(path, headers=network.auth(pilot="mechelen"))
    assert other_pilot.status_code == 403
    lead = await network.http.get(path, headers=network.auth(role="pilot-lead"))
    assert lead.status_code == 200
    lead_adds = await network.http.post(
        f"/cases/{CASE}/members", json=network.GRANDMOTHER, headers=network.auth(role="pilot-lead")
    )
    assert lead_adds.status_code == 403
    other = await network.http.post(
        f"/tasks/{task['task_id']}/accept", headers=network.auth(pilot="lille")
    )
    assert other.status_code == 403
    assert (await network.http.get(f"/tasks/{task['task_id']}")).status_code == 401


async def test_an_agency_acts_only_on_its_own_tasks(network) -> None:
    await network.open_case(CASE)
    oma = await network.add_member(CASE)
    team = await network.add_member(CASE, **network.YOUTH_TEAM)
    refused = await network.http.post(
        f"/cases/{CASE}/tasks",
        json={"category": "professional-support", "assignee_id": team["member_id"]},
        headers=network.auth(),
    )
    assert refused.status_code == 409 and "share-with-agency" in refused.json()["detail"]
    await network.share_with_agency(CASE, "agy_youthteam0001")
    theirs = await network.assign(CASE, team["member_id"], category="professional-support")
    not_theirs = await network.assign(CASE, oma["member_id"])
    agency = network.auth(role="agency", subject="agy_youthteam0001")
    accepted = await network.http.post(f"/tasks/{theirs['task_id']}/accept", headers=agency)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    refused = await network.http.post(f"/tasks/{not_theirs['task_id']}/accept", headers=agency)
    assert refused.status_code == 403
    assert (await network.http.get(f"/cases/{CASE}/plan", headers=agency)).status_code == 403

    # the parents withdraw: the agency no longer reads or acts on its task
    await network.share_with_agency(CASE, "agy_youthteam0001", False, "2025-03-20T10:00:00Z")
    read = await network.http.get(f"/tasks/{theirs['task_id']}", headers=agency)
    assert (read.status_code, read.json()["detail"]) == (
        403,
        "the family does not share this case with your agency",
    )
    done = await network.http.post(f"/tasks/{theirs['task_id']}/complete", headers=agency)
    assert done.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "no-at-sign"}, "email"),
        ({"kind": "neighbourly"}, "kind"),
        ({"role": None}, "role"),
        ({"channel": "sms"}, "phone"),
        ({"agency_id": "youthteam"}, "agency_id"),
        ({"nickname": "Oma"}, "nickname"),
        ({"webhook_url": "http://insecure.example.org"}, "webhook_url"),
        ({"display_name": "Oma\r\nBcc: x@example.org"}, "display_name"),
        ({"display_name": "Oma\u2029"}, "display_name"),
        ({"display_name": "Oma\x85"}, "display_name"),
    ],
)
async def test_invalid_members_are_422_naming_the_field(network, body: dict, field: str) -> None:
    await network.open_case(CASE)
    response = await network.http.post(
        f"/cases/{CASE}/members", json={**network.GRANDMOTHER, **body}, headers=network.auth()
    )
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
    assert "no-at-sign" not in response.text  # values are never echoed back


async def test_invalid_tasks_are_422_naming_the_field(network) -> None:
    await network.open_case(CASE)
    oma = await network.add_member(CASE)

    async def assign(body: dict[str, Any]) -> list[str]:
        response = await network.http.post(
            f"/cases/{CASE}/tasks", json=body, headers=network.auth()
        )
        assert response.status_code == 422, response.text
        return [error["field"] for error in response.json()["errors"]]

    base = {"category": "transport", "assignee_id": oma["member_id"]}
    assert "assignee_id" in await assign({**base, "assignee_id": "mbr_notinthiscase01"})
    assert "category" in await assign({**base, "category": "babysitting"})
    assert "due_date" in await assign({**base, "due_date": "next tuesday"})
    assert "category" in await assign({"assignee_id": oma["member_id"]})
    task = await network.assign(CASE, oma["member_id"])
    bad_reason = await network.act(task["task_id"], "decline", reason="bored")
    assert bad_reason.status_code == 422 and "reason" in bad_reason.text


async def test_unknown_tasks_are_404_and_invalid_transitions_409(network) -> None:
    assert (await network.act("task_doesnotexist0001", "accept")).status_code == 404
    assert (
        await network.http.get("/tasks/task_doesnotexist0001", headers=network.auth())
    ).status_code == 404
    assert (
        await network.http.get("/cases/case_doesnotexist01/plan", headers=network.auth())
    ).status_code == 404
    await network.open_case(CASE)
    oma = await network.add_member(CASE)
    task = await network.assign(CASE, oma["member_id"])
    assert (await network.act(task["task_id"], "decline", reason="no-time")).status_code == 200
    assert (await network.act(task["task_id"], "complete")).status_code == 409
    assert (await network.act(task["task_id"], "accept")).status_code == 409
    current = await network.http.get(f"/tasks/{task['task_id']}", headers=network.auth())
    assert current.json()["status"] == "declined"
    assert len(await network.published(emitted.TaskDeclinedV2, expect=1)) == 1
    assert await network.published(emitted.TaskCompleted, expect=0) == []


async def test_overdue_is_published_once_per_task_even_when_sweeps_run_together(
    network,
) -> None:
    await network.open_case(CASE)
    await network.open_case("case_networkmechelen1", pilot="mechelen")
    oma = await network.add_member(CASE)
    late = await network.assign(CASE, oma["member_id"], due_date="2025-04-01")
    also_late = await network.assign(CASE, oma["member_id"], due_date="2025-04-10")
    done = await network.assign(CASE, oma["member_id"], due_date="2025-04-01")
    await network.act(done["task_id"], "complete")
    in_time = await network.assign(CASE, oma["member_id"], due_date="2025-05-01")
    mechelen_member = await network.add_member("case_networkmechelen1", pilot="mechelen")
    await network.assign(
        "case_networkmechelen1", mechelen_member["member_id"], "mechelen", due_date="2025-04-01"
    )

    async def sweep() -> list[str]:
        response = await network.http.post(
            "/sweeps/overdue", json={"as_of": "2025-05-01"}, headers=network.auth()
        )
        assert response.status_code == 200
        reported: list[str] = response.json()["reported"]
        return reported

    first, second = await asyncio.gather(sweep(), sweep())
    third = await sweep()
    assert sorted(first + second) == sorted([late["task_id"], also_late["task_id"]])
    assert third == []
    events = network.decoded(await network.published(emitted.TaskOverdue, expect=2))
    assert sorted((e.data.task_id, str(e.data.due_date)) for e in events) == sorted(
        [(late["task_id"], "2025-04-01"), (also_late["task_id"], "2025-04-10")]
    )
    current = await network.http.get(f"/tasks/{late['task_id']}", headers=network.auth())
    assert current.json()["overdue"] is True
    on_time = await network.http.get(f"/tasks/{in_time['task_id']}", headers=network.auth())
    assert on_time.json()["overdue"] is False
    # an admin sweeps every pilot: only Mechelen's task is left to report
    admin = await network.http.post(
        "/sweeps/overdue", json={"as_of": "2025-05-01"}, headers=network.auth("admin", "*")
    )
    assert len(admin.json()["reported"]) == 1
    # without a body the sweep runs as of today: every task here is long past due
    today = await network.http.post("/sweeps/overdue", headers=network.auth())
    assert today.json()["as_of"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert today.json()["reported"] == [in_time["task_id"]]


async def test_the_periodic_sweep_reports_tasks_past_due(start_network) -> None:
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    async with start_network(overdue_sweep_seconds=0.2) as network:
        await network.open_case(CASE)
        oma = await network.add_member(CASE)
        late = await network.assign(CASE, oma["member_id"], due_date=yesterday)
        await network.assign(CASE, oma["member_id"])  # no due date: never overdue
        [event] = network.decoded(await network.published(emitted.TaskOverdue, expect=1))
    assert (event.data.task_id, event.data.due_date.isoformat()) == (late["task_id"], yesterday)
