"""The intake service end to end on the real Kafka and store, through its HTTP API."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import decode
from vrac_contracts.events.intake import (
    CaseClosed,
    CaseOpened,
    ConsentChanged,
    ConsentChangedV2,
    ConsentRecorded,
    FamilyRegistered,
    FamilyRegisteredV2,
)
from vrac_contracts.events.sealed import ChildDetails
from vrac_contracts.events.sealed import GuardianDetails as GuardianOnWire
from vrac_contracts.fields import is_personal
from vrac_contracts.values import Channel, Pilot
from vrac_intake.adapters.repository import MongoCases
from vrac_intake.domain.case import Case
from vrac_intake.domain.commands import RegisterFamily
from vrac_intake.domain.family import GuardianDetails, SealedFamily
from vrac_runtime.sealing import owner_keys
from vrac_testing.infrastructure import secured_listener

pytestmark = pytest.mark.integration

Intake = Any  # the conftest's service object


async def test_registering_publishes_case_opened_and_family_registered(intake: Intake) -> None:
    case = await intake.register()
    case_id = case["case_id"]
    guardian_ids = [g["guardian_id"] for g in case["guardians"]]
    assert case_id.startswith("case_") and all(g.startswith("gdn_") for g in guardian_ids)
    assert case["status"] == "open" and case["consents"] == []
    assert case["guardians"][1]["language"] == "fr"

    (opened,) = await intake.published(CaseOpened, expect=1)
    (family,) = await intake.published(FamilyRegisteredV2, expect=1)
    for record, model in [(opened, CaseOpened), (family, FamilyRegisteredV2)]:
        assert record.key == case_id.encode()
        headers = intake.headers(record)
        assert headers["ce_type"] == spec_for(model).ce_type
        assert headers["ce_subject"] == case_id
        assert decode(record.headers, record.value).data.case_id == case_id
    registered = intake.body(family)
    assert registered["child"]["key_id"] == case_id
    assert [g["guardian_id"] for g in registered["guardians"]] == guardian_ids
    assert [g["details"]["key_id"] for g in registered["guardians"]] == guardian_ids
    assert not any(p.encode() in family.value for p in intake.PERSONAL)
    assert intake.body(opened)["programme"] == "pit"
    # the superseded v1 events are no longer published
    assert await intake.published(FamilyRegistered, expect=0, timeout=1) == []


async def test_public_events_carry_no_personal_data(intake: Intake) -> None:
    case_id = (await intake.register())["case_id"]
    assert (await intake.consent(case_id, "diploma")).status_code == 201
    assert (await intake.close(case_id)).status_code == 200
    for model in (CaseOpened, ConsentChangedV2, CaseClosed):
        (record,) = await intake.published(model, expect=1)
        assert record.key == case_id.encode()
        assert not any(p.encode() in record.value for p in intake.PERSONAL)
        assert not any(
            is_personal(spec_for(model).model.model_fields[f]) for f in intake.body(record)
        )


async def test_each_consent_change_is_published_once_and_no_change_not_at_all(
    intake: Intake,
) -> None:
    case = await intake.register()
    case_id, mother = case["case_id"], case["guardians"][0]["guardian_id"]
    by_mother = {"recorded_by": {"guardian_id": mother}}
    granted = await intake.consent(case_id, "share-with-school", **by_mother)
    assert granted.status_code == 201 and granted.json()["changed"] is True
    again = await intake.consent(case_id, "share-with-school")
    assert again.status_code == 200 and again.json()["changed"] is False
    assert again.json()["consent"]["guardian_id"] == mother  # the decision still in force
    never = await intake.consent(case_id, "questionnaires", granted=False)
    assert never.status_code == 200 and never.json() == {"changed": False, "consent": None}
    withdrawn = await intake.consent(case_id, "share-with-school", granted=False)
    assert withdrawn.status_code == 201 and withdrawn.json()["consent"]["changed_by"] == "coach"
    agency = await intake.consent(case_id, "share-with-agency", agency_id="agy_youthteam0001")
    assert agency.status_code == 201

    public = await intake.published(ConsentChangedV2, expect=3)
    internal = await intake.published(ConsentRecorded, expect=3)
    for records in (public, internal):
        bodies = [intake.body(r) for r in records]
        assert [(b["purpose"], b["granted"], b["changed_by"]) for b in bodies] == [
            ("share-with-school", True, "guardian"),
            ("share-with-school", False, "coach"),
            ("share-with-agency", True, "coach"),
        ]
        assert {r.key for r in records} == {case_id.encode()}
    # which agency the family trusts is said on the internal topic only
    assert intake.body(internal[2])["agency_id"] == "agy_youthteam0001"
    assert not any(b"agy_youthteam0001" in r.value for r in public)
    assert await intake.published(ConsentChanged, expect=0, timeout=1) == []

    consents = (await intake.http.get(f"/cases/{case_id}/consents", headers=intake.auth())).json()
    assert [c["granted"] for c in consents["history"]] == [True, False, True]
    current = {(c["purpose"], c["granted"]) for c in consents["current"]}
    assert current == {("share-with-school", False), ("share-with-agency", True)}
    shown = (await intake.http.get(f"/cases/{case_id}", headers=intake.auth())).json()
    assert {(c["purpose"], c["granted"]) for c in shown["consents"]} == current


async def test_consent_names_a_guardian_of_this_case(intake: Intake) -> None:
    case_id = (await intake.register())["case_id"]
    other = (await intake.register())["guardians"][0]["guardian_id"]
    response = await intake.consent(case_id, "screening", recorded_by={"guardian_id": other})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "recorded_by.guardian_id"


async def test_a_closed_case_refuses_further_changes(intake: Intake) -> None:
    case_id = (await intake.register())["case_id"]
    closed = await intake.close(case_id, "moved-away")
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["close_reason"]) == ("closed", "moved-away")
    assert (await intake.consent(case_id, "screening")).status_code == 409
    assert (await intake.close(case_id)).status_code == 409
    (record,) = await intake.published(CaseClosed, expect=1)
    assert intake.body(record)["reason"] == "moved-away"


async def test_erasure_removes_the_family_details_from_the_store(intake: Intake) -> None:
    case_id = (await intake.register())["case_id"]
    assert (await intake.consent(case_id, "screening")).status_code == 201
    closed = (await intake.close(case_id, "erasure-requested")).json()
    assert closed["erased"] is True and closed["child_first_name"] is None
    assert all(g["name"] is None and g["email"] is None for g in closed["guardians"])

    async def relayed() -> bool:
        stored = await intake.stored(case_id)
        return stored is not None and stored.get("outbox") == []

    await intake.eventually(relayed, "the outbox to be relayed")
    text = repr(await intake.stored(case_id))
    assert not any(p in text for p in intake.PERSONAL)


async def test_a_retried_registration_opens_one_case(intake: Intake) -> None:
    headers = {**intake.auth(), "Idempotency-Key": "visit-2025-03-14-sam"}
    first = await intake.http.post("/cases", json=intake.FAMILY, headers=headers)
    again = await intake.http.post("/cases", json=intake.FAMILY, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["case_id"] == first.json()["case_id"]
    assert again.json()["guardians"] == first.json()["guardians"]
    other = await intake.http.post(
        "/cases", json={**intake.FAMILY, "child_first_name": "Noor"}, headers=headers
    )
    assert other.status_code == 409
    assert len(await intake.published(CaseOpened, expect=1)) == 1


async def test_concurrent_changes_to_one_case_lose_nothing(intake: Intake) -> None:
    """Writes and the outbox relay's removals interleave on one document; every change
    and every event must survive."""
    case_id = (await intake.register())["case_id"]
    agencies = [f"agy_concurrent{n:04d}" for n in range(12)]
    responses = await asyncio.gather(
        *(intake.consent(case_id, "share-with-agency", agency_id=a) for a in agencies)
    )
    assert [r.status_code for r in responses] == [201] * 12
    records = await intake.published(ConsentRecorded, expect=12)
    assert sorted(intake.body(r)["agency_id"] for r in records) == agencies
    assert len(await intake.published(ConsentChangedV2, expect=12)) == 12
    history = (await intake.http.get(f"/cases/{case_id}/consents", headers=intake.auth())).json()
    assert sorted(c["agency_id"] for c in history["history"]) == agencies


async def test_listing_shows_the_callers_pilot_only(intake: Intake) -> None:
    leiden = [(await intake.register())["case_id"] for _ in range(2)]
    lille = (await intake.register(pilot="lille"))["case_id"]
    await intake.close(leiden[0])

    async def listed(query: str = "", **auth: str) -> Any:
        return await intake.http.get(f"/cases{query}", headers=intake.auth(**auth))

    mine = (await listed()).json()["cases"]
    assert {c["case_id"] for c in mine} == set(leiden)
    assert [c["case_id"] for c in (await listed("?status=open")).json()["cases"]] == [leiden[1]]
    assert (await listed("?pilot=lille")).status_code == 403
    everyone = (await listed(role="admin", pilot="*")).json()["cases"]
    assert {c["case_id"] for c in everyone} == {*leiden, lille}
    only_lille = (await listed("?pilot=lille", role="admin", pilot="*")).json()["cases"]
    assert [c["case_id"] for c in only_lille] == [lille]
    page = (await listed("?limit=1&offset=1")).json()
    assert len(page["cases"]) == 1 and page["offset"] == 1
    too_many = await listed(f"?limit={intake.settings.max_page_size + 1}")
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "limit"


async def test_tokens_decide_who_sees_and_changes_what(intake: Intake) -> None:
    case_id = (await intake.register())["case_id"]
    paths = [
        ("POST", "/cases", intake.FAMILY),
        ("GET", "/cases", None),
        ("GET", f"/cases/{case_id}", None),
        ("GET", f"/cases/{case_id}/consents", None),
        ("POST", f"/cases/{case_id}/consents", {"purpose": "screening", "granted": True}),
        ("POST", f"/cases/{case_id}/close", {"reason": "completed"}),
    ]
    for method, path, body in paths:
        response = await intake.http.request(method, path, json=body)
        assert response.status_code == 401, (method, path)
    mechelen = intake.auth(pilot="mechelen")
    for method, path, body in paths[2:]:
        if body is not None and path.endswith("consents"):
            body = {**body, "recorded_by": {"role": "coach"}}
        response = await intake.http.request(method, path, json=body, headers=mechelen)
        assert response.status_code == 403, (method, path)
    register_elsewhere = await intake.http.post("/cases", json=intake.FAMILY, headers=mechelen)
    assert register_elsewhere.status_code == 403
    for role in ("agency", "consortium"):
        who = intake.auth(role=role)
        assert (await intake.http.get(f"/cases/{case_id}", headers=who)).status_code == 403
        assert (
            await intake.http.post("/cases", json=intake.FAMILY, headers=who)
        ).status_code == 403
    lead = intake.auth(role="pilot-lead")
    assert (await intake.http.get(f"/cases/{case_id}", headers=lead)).status_code == 200
    assert (await intake.consent(case_id, "screening")).status_code == 201
    assert (await intake.http.post("/cases", json=intake.FAMILY, headers=lead)).status_code == 403
    assert (
        await intake.http.post(
            f"/cases/{case_id}/close", json={"reason": "completed"}, headers=lead
        )
    ).status_code == 200
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await intake.http.get("/cases", headers=bad)).status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"guardians": []}, "guardians"),
        ({"birth_year": 1990}, "birth_year"),
        ({"birth_year": "2016x"}, "birth_year"),
        ({"pilot": "amsterdam"}, "pilot"),
        ({"programme": "Not A Slug"}, "programme"),
        ({"child_first_name": "   "}, "child_first_name"),
        # a name with a line break or an override would break the e-mail header it goes into
        ({"child_first_name": "Sam\rBcc: x@example.org"}, "child_first_name"),
        ({"school_name": "De Regenboog\u202e"}, "school_name"),
        (
            {
                "guardians": [
                    {"name": "F\u2028G", "email": "f@example.org", "preferred_channel": "email"}
                ]
            },
            "guardians.0.name",
        ),
        (
            {
                "guardians": [
                    {"name": "F\x00", "email": "f@example.org", "preferred_channel": "email"}
                ]
            },
            "guardians.0.name",
        ),
        ({"nickname": "Sammy"}, "nickname"),
        (
            {"guardians": [{"name": "F", "email": "nope", "preferred_channel": "email"}]},
            "guardians.0.email",
        ),
        (
            {"guardians": [{"name": "F", "email": "f@example.org", "preferred_channel": "sms"}]},
            "guardians.0.phone",
        ),
        (
            {"guardians": [{"name": "F", "phone": "0612345678", "preferred_channel": "sms"}]},
            "guardians.0.phone",
        ),
    ],
)
async def test_an_invalid_registration_is_422_naming_the_field(
    intake: Intake, change: dict[str, Any], field: str
) -> None:
    response = await intake.http.post(
        "/cases", json={**intake.FAMILY, **change}, headers=intake.auth()
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not any(p in response.text for p in intake.PERSONAL)


DIPLOMA_BY_COACH = {"purpose": "diploma", "granted": True, "recorded_by": {"role": "coach"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "fishing", "granted": True, "recorded_by": {"role": "coach"}}, "purpose"),
        ({"purpose": "diploma", "granted": "yes", "recorded_by": {"role": "coach"}}, "granted"),
        ({"purpose": "diploma", "granted": True}, "recorded_by"),
        ({"purpose": "diploma", "granted": True, "recorded_by": {}}, "recorded_by"),
        (
            {"purpose": "diploma", "granted": True, "recorded_by": {"role": "janitor"}},
            "recorded_by.role",
        ),
        (
            {"purpose": "share-with-agency", "granted": True, "recorded_by": {"role": "coach"}},
            "agency_id",
        ),
        (
            {**DIPLOMA_BY_COACH, "agency_id": "agy_youthteam0001"},
            "agency_id",
        ),
        (
            {**DIPLOMA_BY_COACH, "decided_at": "2025-03-14T09:00:00"},
            "decided_at",
        ),
        (
            {**DIPLOMA_BY_COACH, "decided_at": "2099-01-01T00:00:00Z"},
            "decided_at",
        ),
        (
            {**DIPLOMA_BY_COACH, "decided_at": "0001-01-01T00:00:00+01:00"},
            "decided_at",
        ),
    ],
)
async def test_an_invalid_consent_is_422_naming_the_field(
    intake: Intake, body: dict[str, Any], field: str
) -> None:
    case_id = (await intake.register())["case_id"]
    response = await intake.http.post(
        f"/cases/{case_id}/consents", json=body, headers=intake.auth()
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_a_consent_older_than_the_one_in_force_is_a_conflict(intake: Intake) -> None:
    case_id = (await intake.register())["case_id"]
    signed = {"decided_at": "2025-03-10T10:00:00+01:00"}
    assert (await intake.consent(case_id, "diploma", **signed)).status_code == 201
    stale = await intake.consent(case_id, "diploma", granted=False, **signed)
    assert stale.status_code == 409
    record = (await intake.published(ConsentChangedV2, expect=1))[0]
    assert intake.body(record)["changed_at"].startswith("2025-03-10T09:00:00")


async def test_other_invalid_requests_are_422_naming_the_field(intake: Intake) -> None:
    case_id = (await intake.register())["case_id"]
    closing = await intake.http.post(
        f"/cases/{case_id}/close", json={"reason": "bored"}, headers=intake.auth()
    )
    assert closing.status_code == 422 and closing.json()["errors"][0]["field"] == "reason"
    key = {**intake.auth(), "Idempotency-Key": "no spaces allowed"}
    keyed = await intake.http.post("/cases", json=intake.FAMILY, headers=key)
    assert keyed.status_code == 422 and keyed.json()["errors"][0]["field"] == "Idempotency-Key"
    for query, field in [("status=pending", "status"), (f"offset={10**20}", "offset")]:
        listing = await intake.http.get(f"/cases?{query}", headers=intake.auth())
        assert listing.status_code == 422 and listing.json()["errors"][0]["field"] == field
    not_json = await intake.http.post(
        "/cases",
        content=b"{not json",
        headers={**intake.auth(), "content-type": "application/json"},
    )
    assert not_json.status_code == 422


async def test_an_unknown_case_is_404(intake: Intake) -> None:
    for method, path, body in [
        ("GET", "/cases/case_doesnotexist01", None),
        ("GET", "/cases/case_doesnotexist01/consents", None),
        ("GET", "/cases/not-even-an-id", None),
        ("POST", "/cases/case_doesnotexist01/close", {"reason": "completed"}),
        (
            "POST",
            "/cases/case_doesnotexist01/consents",
            {"purpose": "diploma", "granted": True, "recorded_by": {"role": "coach"}},
        ),
    ]:
        response = await intake.http.request(method, path, json=body, headers=intake.auth())
        assert response.status_code == 404, (method, path)


async def test_health_and_the_openapi_document(intake: Intake) -> None:
    assert (await intake.http.get("/health/ready")).status_code == 200
    document = (await intake.http.get("/openapi.json")).json()
    assert {
        "/cases",
        "/cases/{case_id}",
        "/cases/{case_id}/consents",
        "/cases/{case_id}/close",
        "/cases/{case_id}/guardians/{guardian_id}",
    } <= set(document["paths"])
    assert not any(path.startswith("/internal/") for path in document["paths"])


async def test_events_left_in_the_outbox_go_out_after_a_restart(
    intake_settings: Any, start_intake: Any
) -> None:
    """A process that stopped right after a write, before its relay ran: the next one
    publishes what the case's outbox holds, with the ``ce_id`` minted at the write."""
    settings = intake_settings()
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        cases = MongoCases(client[settings.database])
        keys = owner_keys(client[settings.database], settings)
        guardian = GuardianDetails("Fatima", "fatima@example.org", None, Channel.EMAIL)
        command = RegisterFamily(
            Pilot.LEIDEN, "pit", "Sam", 2016, None, None, (guardian,), "coach-1"
        )
        now = dt.datetime.now(dt.UTC)
        case_id, guardian_id = "case_restart000001", "gdn_restart00001"
        child = ChildDetails(child_first_name="Sam", birth_year=2016)
        details = GuardianOnWire(name="Fatima", email="fatima@example.org")
        family = SealedFamily(
            await keys.seal(case_id, case_id, child),
            {guardian_id: await keys.seal(case_id, guardian_id, details)},
        )
        await cases.add(Case.register(command, case_id, [guardian_id], now, family))
        doc = await client[settings.database]["cases"].find_one({"_id": "case_restart000001"})
        assert doc is not None
        minted = {entry["id"] for entry in doc["outbox"]}
    finally:
        await client.close()
    async with start_intake(settings) as intake:
        (opened,) = await intake.published(CaseOpened, expect=1)
        (family,) = await intake.published(FamilyRegisteredV2, expect=1)
        assert {intake.headers(r)["ce_id"] for r in (opened, family)} == minted
        shown = await intake.http.get("/cases/case_restart000001", headers=intake.auth())
        assert shown.json()["guardians"][0]["guardian_id"] == "gdn_restart00001"


async def test_the_service_publishes_as_a_scram_user_over_tls(
    intake_settings: Any, start_intake: Any, kafka_bootstrap: str
) -> None:
    """Kafka reached only through the stack's SASL_SSL listener, as on Kubernetes."""
    listener = secured_listener()
    assert listener is not None, "the local stack has no secured listener: make down && make up"
    settings = intake_settings(
        kafka_bootstrap_servers=listener["bootstrap_servers"],
        kafka_security_protocol=listener["security_protocol"],
        kafka_sasl_mechanism=listener["sasl_mechanism"],
        kafka_sasl_username=listener["username"],
        kafka_sasl_password=listener["password"],
        kafka_ssl_cafile=listener["cafile"],
    )
    async with start_intake(settings) as intake:
        case = await intake.register()
        plain = intake.settings.model_copy(update={"kafka_bootstrap_servers": kafka_bootstrap})
        reader = type(intake)(plain, intake.http)  # read back over the plaintext listener
        [opened] = await reader.published(CaseOpened, expect=1)
    assert decode(opened.headers, opened.value).subject == case["case_id"]


async def test_a_clock_given_to_build_dates_what_the_service_records(
    intake_settings: Any, start_intake: Any
) -> None:
    then = dt.datetime(2025, 3, 14, 9, 30, 0, 123000, tzinfo=dt.UTC)
    async with start_intake(intake_settings(), clock=lambda: then) as intake:
        case = await intake.register()
        assert dt.datetime.fromisoformat(case["opened_at"]) == then
        stored = await intake.stored(case["case_id"])
        assert stored is not None and stored["opened_at"].replace(tzinfo=dt.UTC) == then
