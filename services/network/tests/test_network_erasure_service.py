"""Erasure and removal against the real Kafka and FerretDB: what stays in network's
database, what its key route answers, what it publishes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.events import network as emitted
from vrac_contracts.events.audit import NetworkAccessRecorded
from vrac_contracts.events.intake import CaseClosed

pytestmark = pytest.mark.integration

CASE = "case_networkerase001"
PERSONAL = [
    "Oma Ria",
    "ria@example.org",
    "grandmother",
    "Jeugdteam Leiden",
    "youth team",
    "team@example.org",
    "Reads with Sam on Mondays",
    "Talks to the teacher",
]


async def scan(network: Any, more: list[str] | None = None) -> list[str]:
    """Every personal text of the case found anywhere in network's database."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(network.settings.mongodb_url)
    try:
        db = client[network.settings.database]
        dump = ""
        for name in await db.list_collection_names():
            dump += "".join([repr(doc) async for doc in db[name].find({})])
    finally:
        await client.close()
    return [text for text in [*PERSONAL, *(more or [])] if f"'{text}'" in dump]


async def network_with_tasks(network: Any) -> tuple[dict, dict, dict]:
    await network.open_case(CASE)
    oma = await network.add_member(CASE)
    team = await network.add_member(CASE, **{**network.YOUTH_TEAM, "email": "team@example.org"})
    await network.share_with_agency(CASE, "agy_youthteam0001")
    homework = await network.assign(
        CASE, oma["member_id"], due_date="2025-04-01", description="Reads with Sam on Mondays"
    )
    await network.assign(CASE, team["member_id"], description="Talks to the teacher")
    return oma, team, homework


async def test_only_entitled_services_get_a_members_key(network) -> None:
    await network.open_case(CASE)
    oma = await network.add_member(CASE)
    [record] = await network.published(emitted.MemberAddedV2, expect=1)
    assert b"Oma Ria" not in record.value and b"ria@example.org" not in record.value
    [envelope] = network.decoded([record])
    details = await network.open_details(envelope)
    assert (details.display_name, details.relationship) == ("Oma Ria", "grandmother")
    assert (await network.data_key(oma["member_id"], service="reporting")).status_code == 403
    coach = await network.http.get(
        f"/internal/data-keys/{oma['member_id']}", headers=network.auth()
    )
    assert coach.status_code == 403


async def test_an_erased_case_keeps_no_personal_data_and_its_keys_are_gone(network) -> None:
    oma, team, homework = await network_with_tasks(network)
    await network.close_case(CASE)

    async def erased() -> dict | None:
        reply = await network.http.get(f"/cases/{CASE}/plan", headers=network.auth())
        plan: dict = reply.json()
        return plan if plan["erased"] else None

    plan = await network.eventually(erased, "the case to be erased")
    assert [(m["member_id"], m["kind"], m["display_name"]) for m in plan["members"]] == [
        (oma["member_id"], "family", None),
        (team["member_id"], "agency", None),
    ]
    assert [t["description"] for m in plan["members"] for t in m["tasks"]] == [None, None]
    # the plan says erased from the first write on; the keys go a step later
    assert await network.eventually(lambda: _no_erasure_pending(network), "erasure to finish")
    for key_id in (oma["member_id"], team["member_id"]):
        assert (await network.data_key(key_id)).status_code == 410
    assert await scan(network) == []
    # no change is taken any more
    added = await network.http.post(
        f"/cases/{CASE}/members", json=network.GRANDMOTHER, headers=network.auth()
    )
    assert added.status_code == 409
    assert (await network.act(homework["task_id"], "complete")).status_code == 409
    # and the trail says network erased it, triggered by case-closed
    entries = network.decoded(await network.published(NetworkAccessRecorded, expect=1))
    by_event = [e.data for e in entries if e.data.trigger_type == spec_for(CaseClosed).ce_type]
    assert [(e.case_id, e.actor_subject, e.action) for e in by_event] == [
        (CASE, "network", "delete")
    ]


async def _no_erasure_pending(network: Any) -> bool:
    client: AsyncMongoClient[Any] = AsyncMongoClient(network.settings.mongodb_url)
    try:
        doc = await client[network.settings.database].cases.find_one({"_id": CASE})
    finally:
        await client.close()
    return doc is not None and doc["erased"] and not doc["erasure_pending"]


async def test_members_added_while_the_case_is_erased_leave_nothing_behind(network) -> None:
    await network.open_case(CASE)
    names: list[str] = []

    async def keep_adding() -> list[int]:
        """Two coaches add helpers one after the other until the case refuses them (or two
        minutes pass: on a busy machine the case-closed can take a while to arrive)."""
        statuses: list[int] = []
        deadline = asyncio.get_running_loop().time() + 120
        while 409 not in statuses and asyncio.get_running_loop().time() < deadline:
            batch = [f"Helper {len(names) + n}" for n in range(2)]
            names.extend(batch)
            replies = await asyncio.gather(
                *(
                    network.http.post(
                        f"/cases/{CASE}/members",
                        json={**network.GRANDMOTHER, "display_name": name},
                        headers=network.auth(),
                    )
                    for name in batch
                )
            )
            statuses += [reply.status_code for reply in replies]
        return statuses

    adding = asyncio.create_task(keep_adding())
    await network.eventually(lambda: len(names) >= 4, "some helpers to be added")
    await network.close_case(CASE)
    statuses = await adding
    assert statuses[0] == 201 and statuses[-1] == 409 and set(statuses) == {201, 409}
    await network.eventually(lambda: _no_erasure_pending(network), "erasure to finish")
    dump = await scan(network, names)
    assert dump == []


async def test_a_member_removed_is_erased_and_their_tasks_stay_without_text(network) -> None:
    oma, team, homework = await network_with_tasks(network)
    path = f"/cases/{CASE}/members/{oma['member_id']}"
    assert (await network.http.delete(path, headers=network.auth(role="agency"))).status_code == 403
    removed = await network.http.delete(path, headers=network.auth(role="pilot-lead"))
    assert removed.status_code == 204
    [event] = network.decoded(await network.published(emitted.MemberRemoved, expect=1))
    assert (event.data.member_id, event.subject) == (oma["member_id"], CASE)
    assert (await network.data_key(oma["member_id"])).status_code == 410
    assert (await network.data_key(team["member_id"])).status_code == 200

    plan = (await network.http.get(f"/cases/{CASE}/plan", headers=network.auth())).json()
    gone, stays = plan["members"]
    assert (gone["display_name"], gone["email"], gone["relationship"]) == (None, None, None)
    assert gone["removed_at"] is not None and gone["role"] == "supporter"
    assert [(t["task_id"], t["status"], t["description"]) for t in gone["tasks"]] == [
        (homework["task_id"], "assigned", None)
    ]
    assert stays["display_name"] == "Jeugdteam Leiden"
    assert (await network.act(homework["task_id"], "accept")).status_code == 409
    assert await scan(network) == [
        "Jeugdteam Leiden",
        "youth team",
        "team@example.org",
        "Talks to the teacher",
    ]

    unknown = await network.http.delete(
        f"/cases/{CASE}/members/mbr_stranger000001", headers=network.auth()
    )
    assert unknown.status_code == 404
    await network.close_case(CASE, reason="completed")

    async def refused() -> bool:
        again = f"/cases/{CASE}/members/{team['member_id']}"
        return (await network.http.delete(again, headers=network.auth())).status_code == 409

    assert await network.eventually(refused, "removal from the closed case to be refused")
