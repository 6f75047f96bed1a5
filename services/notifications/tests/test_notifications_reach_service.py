"""Against the real Kafka and store, an SMTP server, and network's link route over HTTP: the
screening's advice reaches the guardians under the screening consent and a withdrawal stops
it; a decline and an overdue task reach the coordinator; a reminder goes before the due
date; an informal
helper's task e-mail carries the answer link network signed, also when network was away at
the first attempt."""

from __future__ import annotations

import re
from typing import Any

import pytest
from vrac_contracts.events import (
    ConsentRecorded,
    FindingsRecorded,
    TaskAssigned,
    TaskDeclinedV2,
    TaskDueSoon,
    TaskOverdue,
)
from vrac_runtime.auth import Tokens
from vrac_runtime.settings import ServiceSettings
from vrac_testing.polling import eventually

from services.notifications.tests.notifications_testkit import (
    COORDINATOR,
    FAMILY_ADVICE,
    GUARDIANS,
)
from services.notifications.tests.test_notifications_service import (
    CASE,
    GRANDMA,
    NEIGHBOUR,
    Service,
    event,
    service_factory,
)

pytestmark = pytest.mark.integration
__all__ = ["service_factory"]  # the fixture, shared with the service tests

NEIGHBOUR_ID = "mbr_neighbour0001"


def screening_consent(granted: bool, at: str) -> Any:
    return event(ConsentRecorded, purpose="screening", granted=granted, changed_at=at)


async def test_the_guardians_get_the_advice_for_parents_and_child_in_their_language(
    service_factory,
) -> None:
    async with service_factory() as svc:
        await svc.publish(
            await svc.family(guardians=GUARDIANS),
            screening_consent(True, "2025-03-01T10:00:00Z"),
        )
        await svc.until_directory(
            "the guardians and the consent",
            lambda doc: (
                len(doc["contacts"]) == 2
                and doc["consents"].get("screening", {}).get("granted", False)
            ),
        )
        await svc.publish(event(FindingsRecorded, advice=FAMILY_ADVICE))
        await eventually(lambda: len(svc.smtp.messages) >= 2, "two advice e-mails", timeout=30)
        [nl] = svc.smtp.to("fatima@example.org")
        assert nl.subject == "Wat Sam helpt: advies voor thuis"
        assert "Benoem samen het gevoel" in nl.text
        assert "Jij kunt heel goed dingen onthouden" in nl.text
        [fr] = svc.smtp.to("youssef@example.org")
        assert fr.subject == "Ce qui aide Sam : des conseils pour la maison"
        assert "Tu retiens très bien les choses" in fr.text
        rows = await svc.deliveries()
        assert {(r["kind"], r["status"]) for r in rows} == {("family-advice", "delivered")}


async def test_a_withdrawn_screening_consent_stops_the_advice(service_factory) -> None:
    async with service_factory() as svc:
        await svc.publish(
            await svc.family(guardians=GUARDIANS[:1]),
            screening_consent(True, "2025-03-01T10:00:00Z"),
            screening_consent(False, "2025-03-10T10:00:00Z"),
        )
        await svc.until_directory(
            "the withdrawal",
            lambda doc: (
                doc["contacts"] and doc["consents"].get("screening", {}).get("granted") is False
            ),
        )
        await svc.publish(event(FindingsRecorded, advice=FAMILY_ADVICE))

        async def withheld() -> dict[str, Any] | None:
            rows = [r for r in await svc.deliveries() if r["kind"] == "family-advice"]
            return rows[0] if rows and rows[0]["status"] == "withheld" else None

        row = await eventually(withheld, "the advice withheld", timeout=30)
        assert row["error_code"] == "no-consent"
        assert svc.smtp.to("fatima@example.org") == []


async def coordinator_and_assigned_helper(svc: Service, coordinator: dict[str, Any]) -> None:
    """The coordinator and Oma Ria known, and her task assigned: the messages after it take
    its category."""
    await svc.publish(await svc.member(**coordinator), await svc.member(**GRANDMA))
    await svc.until_directory("the members", lambda doc: len(doc["contacts"]) == 2)
    await svc.publish(event(TaskAssigned))
    await svc.until_directory("the assignment", lambda doc: len(doc["intents"]) == 1)


async def the_coordinators_mail(svc: Service, what: str) -> Any:
    await eventually(lambda: svc.smtp.to(COORDINATOR["email"]), what, timeout=30)
    [mail] = svc.smtp.to(COORDINATOR["email"])
    return mail


async def the_helpers_two_subjects(svc: Service) -> list[str]:
    """Oma Ria's task e-mail and the message after it, by subject."""
    await eventually(
        lambda: len(svc.smtp.to(GRANDMA["email"])) == 2, "the task and its reminder", 30
    )
    return sorted(m.subject for m in svc.smtp.to(GRANDMA["email"]))


async def test_a_decline_reaches_the_coordinator_and_a_reminder_the_helper(
    service_factory,
) -> None:
    async with service_factory() as svc:
        await coordinator_and_assigned_helper(svc, COORDINATOR)
        await svc.publish(
            event(TaskDueSoon, due_on="2025-03-28"),
            event(TaskDeclinedV2, coordinator_id="mbr_coordinator01", decline_reason="no-time"),
        )
        decline = await the_coordinators_mail(svc, "the decline")
        assert decline.subject == "Task declined: helping with homework"
        assert "Oma Ria cannot take on helping with homework" in decline.text
        assert "Reason: no time." in decline.text
        subjects = await the_helpers_two_subjects(svc)
        assert subjects == ["Binnenkort: helpen met huiswerk", "Nieuwe taak: helpen met huiswerk"]


async def test_an_overdue_task_reaches_the_coordinator_in_their_language_and_the_helper(
    service_factory,
) -> None:
    async with service_factory() as svc:
        await coordinator_and_assigned_helper(svc, COORDINATOR | {"language": "fr"})
        await svc.publish(event(TaskOverdue, assignee_kind="family"))
        notice = await the_coordinators_mail(svc, "the overdue notice")
        assert notice.subject == "Tâche en retard : aider aux devoirs"
        assert "Oma Ria devait se charger de « aider aux devoirs »" in notice.text
        assert "d'ici le 28 mars 2025" in notice.text
        assert await the_helpers_two_subjects(svc) == [
            "Een vriendelijke herinnering: helpen met huiswerk",
            "Nieuwe taak: helpen met huiswerk",
        ]
        expected = [
            ("task-assigned", GRANDMA["member_id"], "delivered"),
            ("task-overdue", GRANDMA["member_id"], "delivered"),
            ("task-overdue-notice", COORDINATOR["member_id"], "delivered"),
        ]

        async def recorded() -> bool:  # an e-mail arrives just before its outcome is stored
            rows = await svc.deliveries()
            return sorted((r["kind"], r["recipient_id"], r["status"]) for r in rows) == expected

        await eventually(recorded, "one delivery per message and recipient", timeout=30)


def answer_link(svc: Service, text: str) -> str:
    """The link network signed, checked with network's key for that task's answer page."""
    found = re.search(
        r"https://network\.vrac\.example\.org(/cases/\S+/answer)\?member=(\S+)&link=(\S+)", text
    )
    assert found, text
    path, member, token = found.groups()
    assert member == NEIGHBOUR_ID and path == f"/cases/{CASE}/tasks/task_1a2b3c4d5e6f/answer"
    network = Tokens.from_settings(ServiceSettings(service_name="network", development=True))
    return network.verify_link(token, path).path


async def test_an_informal_helpers_task_email_carries_the_answer_link_network_signed(
    service_factory,
) -> None:
    async with service_factory() as svc:
        svc.owner.task_link_refusals.append(503)  # network away at the first attempt
        await svc.publish(await svc.member(**NEIGHBOUR))
        await svc.until_directory("the neighbour", lambda doc: NEIGHBOUR_ID in doc["contacts"])
        await svc.publish(event(TaskAssigned, assignee_id=NEIGHBOUR_ID, assignee_kind="informal"))
        await eventually(lambda: svc.smtp.to("kees@example.org"), "the task mail", timeout=30)
        [mail] = svc.smtp.to("kees@example.org")
        assert "de taak aannemen, afwijzen of laten weten dat hij klaar is" in mail.text
        assert answer_link(svc, mail.text).endswith("/answer")
        [row] = await svc.deliveries()
        assert (row["status"], row["attempts"]) == ("delivered", 2)


async def test_a_link_network_refuses_leaves_the_task_email_without_one(
    service_factory,
) -> None:
    async with service_factory() as svc:
        svc.owner.task_link_refusals.append(409)
        await svc.publish(await svc.member(**NEIGHBOUR))
        await svc.until_directory("the neighbour", lambda doc: NEIGHBOUR_ID in doc["contacts"])
        await svc.publish(event(TaskAssigned, assignee_id=NEIGHBOUR_ID, assignee_kind="informal"))
        await eventually(lambda: svc.smtp.to("kees@example.org"), "the task mail", timeout=30)
        [mail] = svc.smtp.to("kees@example.org")
        assert mail.subject == "Nieuwe taak: helpen met huiswerk"
        assert "network.vrac.example.org" not in mail.text
