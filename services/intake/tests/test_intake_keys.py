"""Crypto-shredding on the real Kafka and store: intake seals the family's details under data
keys it keeps, serves them to the services that read family-registered, and destroys them
when the case is erased or a guardian removed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.events.intake import CaseClosed, FamilyRegisteredV2, GuardianRemoved
from vrac_contracts.events.sealed import ChildDetails, Sealed
from vrac_contracts.events.sealed import GuardianDetails as GuardianOnWire
from vrac_contracts.values import Channel, CloseReason, Pilot
from vrac_intake.adapters.repository import MongoCases
from vrac_intake.domain.case import Case
from vrac_intake.domain.commands import CloseCase, RegisterFamily
from vrac_intake.domain.family import GuardianDetails, SealedFamily
from vrac_runtime.keks import unb64
from vrac_runtime.sealing import open_with, owner_keys

pytestmark = pytest.mark.integration

Intake = Any  # the conftest's service object


def service_token(intake: Intake, service: str) -> dict:
    return intake.auth(role="service", pilot="*", subject=service)


async def data_key(intake: Intake, key_id: str, reader: str = "screening") -> Any:
    return await intake.http.get(
        f"/internal/data-keys/{key_id}", headers=service_token(intake, reader)
    )


async def opened(intake: Intake, case_id: str, sealed: dict, model: type[Any]) -> Any:
    """A sealed value of an event, opened as a reader would: with the key intake serves."""
    answer = await data_key(intake, sealed["key_id"])
    assert answer.status_code == 200, answer.text
    return open_with(unb64(answer.json()["key"]), case_id, Sealed(**sealed), model)


async def family_registered(intake: Intake, case_id: str) -> dict:
    records = await intake.published(FamilyRegisteredV2, expect=1)
    (record,) = [r for r in records if r.key == case_id.encode()]
    assert not any(p.encode() in record.value for p in intake.PERSONAL)
    body: dict = intake.body(record)
    return body


async def test_the_recorded_family_opens_only_with_the_keys_served_to_its_readers(
    intake: Intake,
) -> None:
    case = await intake.register()
    case_id = case["case_id"]
    family = await family_registered(intake, case_id)
    child = await opened(intake, case_id, family["child"], ChildDetails)
    assert (child.child_first_name, child.birth_year) == ("Sam", 2016)
    guardians = [
        await opened(intake, case_id, g["details"], GuardianOnWire) for g in family["guardians"]
    ]
    assert [(g.name, g.email) for g in guardians] == [
        ("Fatima", "fatima@example.org"),
        ("Karim", None),
    ]
    assert (await data_key(intake, case_id, reader="notifications")).status_code == 200
    # only the services that consume family-registered get its keys
    for reader in ("network", "reporting", "intake"):
        assert (await data_key(intake, case_id, reader=reader)).status_code == 403, reader
    for role in ("coach", "pilot-lead", "admin"):
        who = intake.auth(role=role, subject="screening")
        response = await intake.http.get(f"/internal/data-keys/{case_id}", headers=who)
        assert response.status_code == 403, role
    assert (await intake.http.get(f"/internal/data-keys/{case_id}")).status_code == 401
    assert (await data_key(intake, "case_nosuchcase00001")).status_code == 404


async def test_an_erasure_destroys_every_key_and_leaves_nothing_personal_in_the_store(
    intake: Intake,
) -> None:
    case = await intake.register()
    case_id = case["case_id"]
    key_ids = [case_id, *(g["guardian_id"] for g in case["guardians"])]
    assert (
        await intake.consent(case_id, "share-with-agency", agency_id="agy_youthteam0001")
    ).status_code == 201
    family = await family_registered(intake, case_id)
    assert (await intake.close(case_id, "erasure-requested")).status_code == 200

    for key_id in key_ids:
        assert (await data_key(intake, key_id)).status_code == 410, key_id
    assert family["child"]["key_id"] == case_id  # what is on the topic cannot be opened now
    stored = await intake.stored(case_id)
    assert stored is not None and stored["erasure_pending"] is False
    (closed,) = await intake.published(CaseClosed, expect=1)
    assert intake.body(closed)["reason"] == "erasure-requested"

    async def relayed() -> bool:
        stored = await intake.stored(case_id)
        return stored is not None and stored.get("outbox") == []

    await intake.eventually(relayed, "the outbox to be relayed")
    text = repr(await everything_in(intake))
    assert not any(p in text for p in intake.PERSONAL)
    keys = [d for d in (await everything_in(intake))["data_keys"] if d["case_id"] == case_id]
    assert {d["_id"] for d in keys} == set(key_ids)
    assert all(d["destroyed"] and "wrapped" not in d for d in keys)


async def test_an_erasure_left_unfinished_is_finished_at_the_next_start(
    intake_settings: Any, start_intake: Any
) -> None:
    """A process that stopped after erasing a case's details, before destroying its keys:
    the next one destroys them (the periodic job runs at start-up, then every 30 s)."""
    settings = intake_settings()
    case_id, guardian_id = "case_unfinished00001", "gdn_unfinished0001"
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:  # registered and closed as the handlers write them, the keys not yet destroyed
        db = client[settings.database]
        cases, keys = MongoCases(db), owner_keys(db, settings)
        now = dt.datetime.now(dt.UTC)
        guardian = GuardianDetails("Fatima", "fatima@example.org", None, Channel.EMAIL)
        command = RegisterFamily(Pilot.LEIDEN, "pit", "Sam", 2016, None, None, (guardian,), "c")
        family = SealedFamily(
            await keys.seal(
                case_id, case_id, ChildDetails(child_first_name="Sam", birth_year=2016)
            ),
            {guardian_id: await keys.seal(case_id, guardian_id, GuardianOnWire(name="Fatima"))},
        )
        await cases.add(Case.register(command, case_id, [guardian_id], now, family))
        case = await cases.get(case_id)
        assert case is not None
        case.close(CloseCase(case_id, CloseReason.ERASURE_REQUESTED, "coach-1"), now)
        await cases.save(case)
    finally:
        await client.close()

    async with start_intake(settings) as intake:

        async def settled() -> bool:
            stored = await intake.stored(case_id)
            return stored is not None and stored["keys_to_destroy"] == []

        await intake.eventually(settled, "the case to owe no key")
        for key_id in (case_id, guardian_id):
            assert (await data_key(intake, key_id)).status_code == 410
        assert (await intake.stored(case_id) or {})["erasure_pending"] is False


async def test_removing_a_guardian_erases_them_and_destroys_their_key(intake: Intake) -> None:
    case = await intake.register()
    case_id = case["case_id"]
    mother, father = (g["guardian_id"] for g in case["guardians"])
    lead = intake.auth(role="pilot-lead", subject="lead-leiden")
    removed = await intake.http.delete(f"/cases/{case_id}/guardians/{father}", headers=lead)
    assert removed.status_code == 200, removed.text
    assert [g["guardian_id"] for g in removed.json()["guardians"]] == [mother]
    shown = (await intake.http.get(f"/cases/{case_id}", headers=intake.auth())).json()
    assert [g["guardian_id"] for g in shown["guardians"]] == [mother]

    assert (await data_key(intake, father)).status_code == 410
    assert (await data_key(intake, mother)).status_code == 200
    assert (await data_key(intake, case_id)).status_code == 200
    (record,) = await intake.published(GuardianRemoved, expect=1)
    assert record.key == case_id.encode()
    assert intake.headers(record)["ce_type"] == spec_for(GuardianRemoved).ce_type
    assert intake.body(record)["guardian_id"] == father

    async def relayed() -> bool:
        stored = await intake.stored(case_id)
        return stored is not None and stored.get("outbox") == []

    await intake.eventually(relayed, "the outbox to be relayed")
    text = repr(await intake.stored(case_id))
    assert "Karim" not in text and "+3168" not in text and "Fatima" in text

    again = await intake.http.delete(f"/cases/{case_id}/guardians/{father}", headers=intake.auth())
    assert again.status_code == 404
    last = await intake.http.delete(f"/cases/{case_id}/guardians/{mother}", headers=intake.auth())
    assert last.status_code == 409 and "last guardian" in last.json()["detail"]
    by_father = await intake.consent(case_id, "screening", recorded_by={"guardian_id": father})
    assert by_father.status_code == 422

    async def audited() -> bool:  # the removal is in the case's audit trail, like every route
        reply = await intake.http.get(f"/cases/{case_id}/audit", headers=lead)
        return any(
            (e["actor_role"], e["action"], e["resource"], e["status"])
            == ("pilot-lead", "delete", "/cases/{case_id}/guardians/{guardian_id}", 200)
            for e in reply.json()["entries"]
        )

    await intake.eventually(audited, "the removal in the audit trail")


async def test_who_may_remove_a_guardian_and_when(intake: Intake) -> None:
    case = await intake.register()
    case_id, father = case["case_id"], case["guardians"][1]["guardian_id"]
    path = f"/cases/{case_id}/guardians/{father}"
    assert (await intake.http.delete(path)).status_code == 401
    for who in (
        intake.auth(pilot="mechelen"),
        intake.auth(role="service", pilot="*", subject="screening"),
        intake.auth(role="agency"),
        intake.auth(role="dpo"),
    ):
        assert (await intake.http.delete(path, headers=who)).status_code == 403
    unknown = "/cases/case_doesnotexist01/guardians/" + father
    assert (await intake.http.delete(unknown, headers=intake.auth())).status_code == 404
    assert (await intake.close(case_id)).status_code == 200
    closed = await intake.http.delete(path, headers=intake.auth())
    assert closed.status_code == 409
    assert (await data_key(intake, father)).status_code == 200  # nothing was removed
    admin = intake.auth(role="admin", pilot="*")
    other = await intake.register()
    path = f"/cases/{other['case_id']}/guardians/{other['guardians'][0]['guardian_id']}"
    assert (await intake.http.delete(path, headers=admin)).status_code == 200


async def everything_in(intake: Intake) -> dict[str, list[dict]]:
    """Every document of every collection of intake's database."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(intake.settings.mongodb_url)
    try:
        db = client[intake.settings.database]
        return {name: await db[name].find().to_list() for name in await db.list_collection_names()}
    finally:
        await client.close()
