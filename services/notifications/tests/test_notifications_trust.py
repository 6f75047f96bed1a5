"""Against the real Kafka and store, an SMTP server and a key owner over HTTP: names arrive
sealed and are opened with keys fetched from their owner; a withdrawal read just after the
task it should stop still stops its mail; an erasure leaves no name or address in the
service's database, and is in the audit trail."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.events import (
    CaseClosed,
    ConsentRecorded,
    DiplomaIssued,
    NotificationsAccessRecorded,
    TaskAssigned,
)
from vrac_testing.polling import eventually

from services.notifications.tests.test_notifications_service import (
    CASE,
    GRANDMA,
    TEACHER,
    Service,
    event,
    service_factory,
)

pytestmark = pytest.mark.integration
__all__ = ["service_factory"]  # the fixture, shared with the service tests

FATIMA = {
    "guardian_id": "gdn_fatima000001",
    "name": "Fatima Amrani",
    "email": "fatima.amrani@example.org",
    "phone": "+31612345678",
    "preferred_channel": "email",
    "language": "nl",
}
PERSONAL = (
    "Fatima Amrani",
    "fatima.amrani@example.org",
    "+31612345678",
    "Oma Ria",
    "ria@example.org",
    "Ms Taylor",
    "taylor@school.example.org",
    "Sam",  # the child, from the family-registered example
)


async def database_text(svc: Service) -> str:
    """Every document of every collection of the service's database, as text."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(svc.settings.mongodb_url)
    try:
        db = client[svc.settings.database]
        texts = []
        for name in await db.list_collection_names():
            async for doc in db[name].find({}):
                texts.append(json.dumps(doc, default=str))
        return "\n".join(texts)
    finally:
        await client.close()


async def test_a_guardian_is_addressed_by_the_name_opened_from_the_sealed_value(
    service_factory,
) -> None:
    async with service_factory() as svc:
        family = await svc.family(guardians=[FATIMA])
        assert "Fatima" not in family.data.model_dump_json()  # sealed on the wire
        await svc.publish(family, event(DiplomaIssued))
        await eventually(lambda: svc.smtp.to(FATIMA["email"]), "the diploma mail", timeout=30)
        [mail] = svc.smtp.to(FATIMA["email"])
        assert "Beste Fatima Amrani" in mail.text
        assert mail.subject == "Het diploma van Sam is klaar!"


async def test_a_withdrawal_published_just_after_a_task_stops_its_mail(service_factory) -> None:
    async with service_factory(delivery_hold_seconds=5) as svc:
        await svc.publish(
            event(ConsentRecorded, purpose="share-with-school", changed_at="2025-03-01T10:00:00Z"),
            await svc.member(**TEACHER),
        )
        await svc.until_directory(
            "the teacher and the consent",
            lambda doc: (
                "mbr_teacher000001" in doc["contacts"]
                and doc["consents"].get("share-with-school", {}).get("granted", False)
            ),
        )
        for_teacher = event(TaskAssigned, assignee_id="mbr_teacher000001", category="meeting")
        withdrawal = event(
            ConsentRecorded,
            purpose="share-with-school",
            granted=False,
            changed_at="2025-03-14T09:29:00Z",  # decided before the task, published after it
        )
        await svc.publish(for_teacher, withdrawal)

        async def cancelled() -> dict[str, Any] | None:
            rows = {r["trigger_event_id"]: r for r in await svc.deliveries()}
            row = rows.get(for_teacher.id)
            return row if row is not None and row["status"] == "cancelled" else None

        row = await eventually(cancelled, "the task's mail cancelled", timeout=30)
        assert row["error_code"] == "no-consent" and row["next_attempt_at"] is None
        # a later mail on the same SMTP server shows the cancelled one was not just slow
        await svc.publish(await svc.member(**GRANDMA), event(TaskAssigned))
        await eventually(lambda: svc.smtp.to("ria@example.org"), "grandma's mail", timeout=30)
        assert svc.smtp.to(TEACHER["email"]) == []


async def test_after_an_erasure_the_database_holds_no_name_or_address(service_factory) -> None:
    async with service_factory(delivery_hold_seconds=30) as svc:
        await svc.publish(
            event(ConsentRecorded, purpose="share-with-school", changed_at="2025-03-01T10:00:00Z"),
            await svc.family(guardians=[FATIMA]),
            await svc.member(**GRANDMA),
            await svc.member(**TEACHER),
        )
        await svc.until_directory("the family and the network", lambda d: len(d["contacts"]) == 3)
        assigned = event(TaskAssigned)  # held for 30 s: still scheduled at the erasure
        await svc.publish(assigned)
        before = await eventually(svc.deliveries, "the task's mail scheduled", timeout=30)
        assert [r["status"] for r in before] == ["scheduled"]
        before_text = await database_text(svc)
        assert [value for value in PERSONAL if value in before_text] == list(PERSONAL)

        await svc.publish(event(CaseClosed, reason="erasure-requested"))
        await svc.until_directory(
            "the erasure", lambda doc: doc.get("erased_at") and not doc["erasure_pending"]
        )
        [row] = await svc.deliveries()
        assert (row["status"], row["next_attempt_at"]) == ("cancelled", None)

        async def erasure_audited() -> list[Any] | None:
            entries = await svc.published(NotificationsAccessRecorded, expect=1)
            made = [e.data for e in entries if e.data.actor_role == "service"]
            return made or None  # the coach's reads of the deliveries are entries too

        [entry] = await eventually(erasure_audited, "the erasure's audit entry", timeout=30)
        assert (entry.case_id, entry.action, entry.trigger_type, entry.actor_subject) == (
            CASE,
            "delete",
            spec_for(CaseClosed).ce_type,
            "notifications",
        )
        # a copy of the registration read after the erasure (its keys still open here), then
        # another family's on the same partition, to know the copy was handled
        await svc.publish(await svc.family(guardians=[FATIMA]), await svc.family(**OTHER_FAMILY))
        await eventually(lambda: other_family_known(svc), "the other family", timeout=30)
        text = await database_text(svc)
        assert [value for value in PERSONAL if value in text] == []
        assert svc.smtp.messages == []


OTHER_CASE = "case_otherFamily001"
OTHER_FAMILY: dict[str, Any] = {
    "case_id": OTHER_CASE,
    "child_first_name": "Noor",
    "guardians": [FATIMA | {"name": "Piet", "email": "piet@example.org", "phone": None}],
}


async def other_family_known(svc: Service) -> bool:
    client: AsyncMongoClient[Any] = AsyncMongoClient(svc.settings.mongodb_url)
    try:
        doc = await client[svc.settings.database]["case_files"].find_one({"_id": OTHER_CASE})
        return doc is not None and doc.get("child_first_name") == "Noor"
    finally:
        await client.close()
