"""Subscribers and handlers over in-memory fakes: who is told what, once, and only with consent."""

from __future__ import annotations

import pytest
from vrac_contracts import events
from vrac_contracts.values import DeliveryError, Pilot
from vrac_notifications.domain.commands import RegisterWebhook
from vrac_notifications.domain.delivery import DeliveryProblem, DeliveryStatus
from vrac_notifications.domain.errors import InsecureWebhook, NoWebhook, UnknownCase
from vrac_notifications.entrypoints.subscribers import Subscribers
from vrac_notifications.handlers import get_webhook, list_deliveries, register_webhook
from vrac_runtime.consumer import PermanentError

from services.notifications.tests.notifications_testkit import AGENCY, YOUTH_TEAM

TEACHER = {
    "member_id": "mbr_teacher000001",
    "kind": "professional",
    "role": "teacher",
    "display_name": "Juf Anna",
    "relationship": None,
    "email": "anna@school.example.org",
    "channel": "email",
    "language": "en",
}


class Registry:
    """Stands in for the runtime: keeps what the subscribers register, per event model."""

    def __init__(self) -> None:
        self.handlers: dict[type, object] = {}

    def on(self, event: type, handler: object) -> None:
        self.handlers[event] = handler


async def deliver(world, envelope) -> None:
    registry = Registry()
    Subscribers(world.deps).register(registry)  # type: ignore[arg-type]
    await registry.handlers[type(envelope.data)](envelope)


async def register_agency_webhook(world) -> None:
    command = RegisterWebhook(AGENCY, Pilot.LEIDEN, "https://agency.example.org/h", "s" * 20)
    await register_webhook(world.deps, command, lambda pilot: None)


async def youth_team_with_webhook_and_consent(world, envelope) -> None:
    """The youth team joined, registered its webhook, and may be told about the case."""
    await deliver(world, envelope(events.MemberAdded, **YOUTH_TEAM))
    await register_agency_webhook(world)
    await deliver(
        world, consent(envelope, "share-with-agency", True, "2025-03-01T10:00:00Z", AGENCY)
    )


def consent(envelope, purpose: str, granted: bool, at: str, agency_id: str | None = None):
    return envelope(
        events.ConsentChanged,
        purpose=purpose,
        granted=granted,
        agency_id=agency_id,
        changed_at=at,
    )


async def test_the_assignee_is_told_about_the_task_in_their_language(world, envelope) -> None:
    await deliver(world, envelope(events.MemberAdded))
    assigned = envelope(events.TaskAssigned)
    await deliver(world, assigned)
    [mail] = world.mailer.sent
    assert mail.to_address == "ria@example.org"
    assert "helpen met huiswerk" in mail.text and "28 maart 2025" in mail.text
    [event] = world.deliveries.events
    assert isinstance(event, events.NotificationDelivered)
    assert event.trigger_event_id == assigned.id
    assert event.recipient_id == "mbr_4d5e6f7a8b9c"


async def test_the_same_event_delivered_twice_sends_one_email(world, envelope) -> None:
    await deliver(world, envelope(events.MemberAdded))
    assigned = envelope(events.TaskAssigned)
    await deliver(world, assigned)
    await deliver(world, assigned)
    await deliver(world, envelope(events.MemberAdded))  # and a later event of the case
    assert len(world.mailer.sent) == 1
    assert len(world.deliveries.rows) == 1


async def test_a_task_assigned_before_the_member_is_known_is_sent_once_they_are(
    world, envelope
) -> None:
    await deliver(world, envelope(events.TaskAssigned))
    assert world.mailer.sent == []
    await deliver(world, envelope(events.MemberAdded))
    assert [m.to_address for m in world.mailer.sent] == ["ria@example.org"]


async def test_an_overdue_task_gets_a_friendly_reminder(world, envelope) -> None:
    await deliver(world, envelope(events.MemberAdded, language="fr"))
    await deliver(world, envelope(events.TaskAssigned))
    await deliver(world, envelope(events.TaskOverdue, assignee_kind="family"))
    reminder = world.mailer.sent[1]
    assert reminder.subject == "Un petit rappel : aider aux devoirs"
    assert "28 mars 2025" in reminder.text


async def test_the_guardians_hear_the_diploma_is_ready_with_its_link(world, envelope) -> None:
    guardians = [
        {
            "guardian_id": "gdn_fatima000001",
            "name": "Fatima",
            "email": "fatima@example.org",
            "preferred_channel": "email",
            "language": "nl",
        },
        {
            "guardian_id": "gdn_youssef00001",
            "name": "Youssef",
            "email": "youssef@example.org",
            "preferred_channel": "sms",
            "phone": "+31612345678",
            "language": "fr",
        },
    ]
    await deliver(world, envelope(events.FamilyRegistered, guardians=guardians))
    await deliver(world, envelope(events.DiplomaIssued))
    link = "https://screening.vrac.example.org/diplomas/dip_0c1d2e3f4a5b6c7d.pdf"
    by_address = {m.to_address: m for m in world.mailer.sent}
    assert by_address["fatima@example.org"].subject == "Het diploma van Sam is klaar!"
    assert by_address["youssef@example.org"].subject == "Le diplôme de Sam est prêt !"
    assert all(link in m.text for m in by_address.values())


async def test_school_advice_waits_for_consent_and_goes_to_the_teacher(world, envelope) -> None:
    await deliver(world, envelope(events.FamilyRegistered))
    await deliver(world, envelope(events.MemberAdded, **TEACHER))
    await deliver(world, consent(envelope, "share-with-school", True, "2025-03-01T10:00:00Z"))
    await deliver(world, envelope(events.ScreeningCompleted))
    [mail] = world.mailer.sent
    assert mail.to_address == "anna@school.example.org"
    assert mail.subject == "Advice for school: what helps Sam"
    assert "working memory" in mail.text and "quieter" in mail.text.lower()
    assert "name the feeling" not in mail.text.lower()  # advice for parents stays home


async def test_without_school_consent_the_teacher_gets_nothing(world, envelope) -> None:
    await deliver(world, envelope(events.MemberAdded, **TEACHER))
    await deliver(world, envelope(events.ScreeningCompleted))
    assert world.mailer.sent == []
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (DeliveryStatus.WITHHELD, DeliveryError.NO_CONSENT)
    [event] = world.deliveries.events
    assert (
        isinstance(event, events.NotificationFailed)
        and event.error_code is DeliveryError.NO_CONSENT
    )


async def test_a_consent_decided_in_time_but_read_late_releases_the_message(
    world, envelope
) -> None:
    await deliver(world, envelope(events.FamilyRegistered))
    await deliver(world, envelope(events.MemberAdded, **TEACHER))
    # screening at 2025-03-14; the grant of 03-01 arrives after it
    await deliver(world, envelope(events.ScreeningCompleted))
    assert world.mailer.sent == []
    await deliver(world, consent(envelope, "share-with-school", True, "2025-03-01T10:00:00Z"))
    assert [m.to_address for m in world.mailer.sent] == ["anna@school.example.org"]
    [row] = world.deliveries.rows.values()
    assert row.status is DeliveryStatus.DELIVERED
    withheld, delivered = world.deliveries.events
    assert isinstance(withheld, events.NotificationFailed) and withheld.final is False
    assert isinstance(delivered, events.NotificationDelivered)


async def test_a_consent_granted_after_the_message_was_due_does_not_revive_it(
    world, envelope
) -> None:
    await deliver(world, envelope(events.MemberAdded, **TEACHER))
    await deliver(world, envelope(events.ScreeningCompleted))
    await deliver(world, consent(envelope, "share-with-school", True, "2025-04-01T10:00:00Z"))
    assert world.mailer.sent == []


async def test_a_teacher_added_after_the_screening_still_gets_the_advice(world, envelope) -> None:
    await deliver(world, consent(envelope, "share-with-school", True, "2025-03-01T10:00:00Z"))
    await deliver(world, envelope(events.ScreeningCompleted))
    await deliver(world, envelope(events.MemberAdded, **TEACHER))
    assert [m.to_address for m in world.mailer.sent] == ["anna@school.example.org"]


async def test_a_withdrawal_stops_the_messages_it_covered_from_then_on(world, envelope) -> None:
    await youth_team_with_webhook_and_consent(world, envelope)
    await deliver(
        world,
        envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001", assignee_kind="agency"),
    )
    assert len(world.poster.sent) == 1
    await deliver(
        world, consent(envelope, "share-with-agency", False, "2025-03-20T10:00:00Z", AGENCY)
    )
    await deliver(
        world, envelope(events.TaskOverdue, assignee_id="mbr_youthteam0001", assignee_kind="agency")
    )
    assert len(world.poster.sent) == 1
    statuses = sorted(str(d.status) for d in world.deliveries.rows.values())
    assert statuses == ["delivered", "withheld"]


async def test_nothing_is_sent_for_a_closed_case(world, envelope) -> None:
    await deliver(world, envelope(events.MemberAdded))
    await deliver(world, envelope(events.CaseClosed))
    await deliver(world, envelope(events.TaskAssigned))
    assert world.mailer.sent == []
    assert world.deliveries.rows == {}


async def test_a_webhook_is_retried_with_backoff_then_succeeds(world, envelope) -> None:
    await youth_team_with_webhook_and_consent(world, envelope)
    world.poster.problems = [DeliveryProblem(DeliveryError.HTTP_ERROR, retryable=True)] * 2
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    [hook] = world.poster.sent
    assert hook.body["task_id"] == "task_1a2b3c4d5e6f" and "Sam" not in hook.body["text"]
    assert world.waits == [0.5, 1.0]
    [row] = world.deliveries.rows.values()
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 3)


async def test_a_webhook_that_keeps_failing_is_recorded_and_dead_lettered(world, envelope) -> None:
    await youth_team_with_webhook_and_consent(world, envelope)
    world.poster.problems = [DeliveryProblem(DeliveryError.HTTP_ERROR, retryable=True)] * 5
    assigned = envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001")
    with pytest.raises(PermanentError):
        await deliver(world, assigned)
    assert world.poster.calls == 3
    [row] = world.deliveries.rows.values()
    assert (row.status, row.attempts, row.error_code) == (
        DeliveryStatus.FAILED,
        3,
        DeliveryError.HTTP_ERROR,
    )
    [failed] = world.deliveries.events
    assert isinstance(failed, events.NotificationFailed) and failed.final
    # read again (e.g. replayed from the dead-letter topic): no second attempt
    await deliver(world, assigned)
    assert world.poster.calls == 3


async def test_a_failure_released_by_another_event_is_recorded_not_dead_lettered(
    world, envelope
) -> None:
    await register_agency_webhook(world)
    await deliver(
        world, consent(envelope, "share-with-agency", True, "2025-03-01T10:00:00Z", AGENCY)
    )
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    world.poster.problems = [DeliveryProblem(DeliveryError.REJECTED, retryable=False)]
    await deliver(world, envelope(events.MemberAdded, **YOUTH_TEAM))  # handled fine: no exception
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (DeliveryStatus.FAILED, DeliveryError.REJECTED)
    assert isinstance(world.deliveries.events[-1], events.NotificationFailed)


async def test_a_refused_webhook_is_not_retried(world, envelope) -> None:
    await youth_team_with_webhook_and_consent(world, envelope)
    world.poster.problems = [DeliveryProblem(DeliveryError.REJECTED, retryable=False)]
    with pytest.raises(PermanentError):
        await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    assert world.poster.calls == 1


async def test_an_agency_without_a_registered_webhook_is_recorded_unreachable(
    world, envelope
) -> None:
    await deliver(world, envelope(events.MemberAdded, **YOUTH_TEAM))
    await deliver(
        world, consent(envelope, "share-with-agency", True, "2025-03-01T10:00:00Z", AGENCY)
    )
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (DeliveryStatus.FAILED, DeliveryError.NO_CONTACT_DETAILS)


async def test_a_crash_after_claiming_sends_on_redelivery(world, envelope) -> None:
    await deliver(world, envelope(events.MemberAdded))
    world.mailer.problems = [RuntimeError("process died")]  # type: ignore[list-item]
    assigned = envelope(events.TaskAssigned)
    with pytest.raises(RuntimeError):
        await deliver(world, assigned)
    await deliver(world, assigned)
    assert len(world.mailer.sent) == 1
    [row] = world.deliveries.rows.values()
    assert row.status is DeliveryStatus.DELIVERED


async def test_an_agency_consent_naming_no_agency_is_never_granted(world, envelope) -> None:
    speaker = YOUTH_TEAM | {"agency_id": None, "channel": "email", "email": "jt@example.org"}
    await deliver(world, envelope(events.MemberAdded, **speaker))
    await deliver(world, consent(envelope, "share-with-agency", True, "2025-03-01T10:00:00Z"))
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    assert world.mailer.sent == []
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (DeliveryStatus.WITHHELD, DeliveryError.NO_CONSENT)
    assert world.case_files.files["case_7Hq2mX9aK3pL0sVd"].consents == {}


async def test_deliveries_of_an_unknown_case_are_not_found(world) -> None:
    with pytest.raises(UnknownCase):
        await list_deliveries(world.deps, "case_unknown000001", lambda pilot: None)


async def test_deliveries_are_listed_oldest_first_for_a_caller_of_the_pilot(
    world, envelope
) -> None:
    await deliver(world, envelope(events.MemberAdded))
    await deliver(world, envelope(events.TaskAssigned))
    seen: list[Pilot] = []
    pilot, rows = await list_deliveries(world.deps, "case_7Hq2mX9aK3pL0sVd", seen.append)
    assert (pilot, seen) == (Pilot.LEIDEN, [Pilot.LEIDEN])
    assert [r.status for r in rows] == [DeliveryStatus.DELIVERED]


async def test_a_webhook_url_must_be_https_when_required(world) -> None:
    world.deps.require_https_webhooks = True
    command = RegisterWebhook(AGENCY, Pilot.LEIDEN, "http://agency.example.org/h", "s" * 20)
    with pytest.raises(InsecureWebhook) as refused:
        await register_webhook(world.deps, command, lambda pilot: None)
    assert refused.value.field == "url"
    assert world.webhooks.subscriptions == {}


async def test_a_webhook_of_another_pilot_is_not_replaced(world) -> None:
    await register_agency_webhook(world)

    def only_lille(pilot: Pilot) -> None:
        if pilot is not Pilot.LILLE:
            raise PermissionError(pilot)

    command = RegisterWebhook(AGENCY, Pilot.LILLE, "https://elsewhere.example.org/h", "t" * 20)
    with pytest.raises(PermissionError):
        await register_webhook(world.deps, command, only_lille)
    assert world.webhooks.subscriptions[AGENCY].url == "https://agency.example.org/h"
    with pytest.raises(NoWebhook):
        await get_webhook(world.deps, "agy_someoneelse01", lambda pilot: None)
