"""Subscribers and handlers over in-memory fakes: who is told what, once, and only with consent."""

from __future__ import annotations

import datetime as dt

import pytest
from vrac_contracts import events
from vrac_contracts.catalogue import spec_for
from vrac_contracts.values import DeliveryError, Pilot
from vrac_notifications.domain.commands import RegisterWebhook
from vrac_notifications.domain.delivery import DeliveryProblem, DeliveryStatus, RetrySchedule
from vrac_notifications.domain.errors import NoWebhook, RefusedDestination, UnknownCase
from vrac_notifications.domain.intents import MessageKind
from vrac_notifications.handlers import (
    get_webhook,
    list_deliveries,
    register_webhook,
    send_due,
)

from services.notifications.tests.conftest import NOW
from services.notifications.tests.notifications_testkit import (
    AGENCY,
    GUARDIANS,
    TEACHER,
    YOUTH_TEAM,
    added,
    deliver,
    edited,
    handle,
    registered,
)

# the advice of the screening-completed v1 example (one for school about working memory, one
# about a quieter place), which findings-recorded carries now
ADVICE = spec_for(events.ScreeningCompleted).example["advice"]


SECRET = "whsec_" + "c2VjcmV0LW9mLXRoZS15b3V0aC10ZWFtLCAyNCsgYnl0ZXM="


async def register_agency_webhook(world) -> None:
    command = RegisterWebhook(AGENCY, Pilot.LEIDEN, "https://agency.example.org/h", SECRET)
    await register_webhook(world.deps, command, lambda pilot: None)


async def youth_team_with_webhook_and_consent(world, envelope) -> None:
    """The youth team joined, registered its webhook, and may be told about the case."""
    await deliver(world, await added(world, **YOUTH_TEAM))
    await register_agency_webhook(world)
    await deliver(
        world, consent(envelope, "share-with-agency", True, "2025-03-01T10:00:00Z", AGENCY)
    )


def consent(envelope, purpose: str, granted: bool, at: str, agency_id: str | None = None):
    return envelope(
        events.ConsentRecorded,
        purpose=purpose,
        granted=granted,
        agency_id=agency_id,
        changed_at=at,
    )


async def test_the_assignee_is_told_about_the_task_in_their_language(world, envelope) -> None:
    await deliver(world, await added(world))
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
    await deliver(world, await added(world))
    assigned = envelope(events.TaskAssigned)
    await deliver(world, assigned)
    await deliver(world, assigned)
    await deliver(world, await added(world))  # and a later event of the case
    assert len(world.mailer.sent) == 1
    assert len(world.deliveries.rows) == 1


async def test_a_task_assigned_before_the_member_is_known_is_sent_once_they_are(
    world, envelope
) -> None:
    await deliver(world, envelope(events.TaskAssigned))
    assert world.mailer.sent == []
    await deliver(world, await added(world))
    assert [m.to_address for m in world.mailer.sent] == ["ria@example.org"]


async def test_a_member_the_coach_edited_is_written_to_at_their_new_address(
    world, envelope
) -> None:
    joined = await added(world)
    await deliver(world, joined)
    later = joined.data.occurred_at + dt.timedelta(minutes=5)
    await deliver(world, await edited(world, email="ria.nieuw@example.org", occurred_at=later))
    await deliver(world, joined)  # the older member-added, read again, changes nothing
    await deliver(world, envelope(events.TaskAssigned))
    assert [m.to_address for m in world.mailer.sent] == ["ria.nieuw@example.org"]


async def test_an_edit_read_before_the_member_joined_is_not_undone_by_the_join(
    world, envelope
) -> None:
    joined = await added(world)
    later = joined.data.occurred_at + dt.timedelta(minutes=5)
    await deliver(world, await edited(world, email="ria.nieuw@example.org", occurred_at=later))
    await deliver(world, joined)  # topics are read in any order
    await deliver(world, envelope(events.TaskAssigned))
    assert [m.to_address for m in world.mailer.sent] == ["ria.nieuw@example.org"]


async def test_an_overdue_task_gets_a_friendly_reminder(world, envelope) -> None:
    await deliver(world, await added(world, language="fr"))
    await deliver(world, envelope(events.TaskAssigned))
    await deliver(world, envelope(events.TaskOverdue, assignee_kind="family"))
    reminder = world.mailer.sent[1]
    assert reminder.subject == "Un petit rappel : aider aux devoirs"
    assert "28 mars 2025" in reminder.text


async def test_the_guardians_hear_the_diploma_is_ready_with_its_link(world, envelope) -> None:
    fatima, youssef = GUARDIANS
    guardians = [fatima, youssef | {"preferred_channel": "sms", "phone": "+31612345678"}]
    await deliver(world, await registered(world, guardians=guardians))
    await deliver(world, envelope(events.DiplomaIssued))
    link = "https://screening.vrac.example.org/diplomas/dip_0c1d2e3f4a5b6c7d.pdf"
    by_address = {m.to_address: m for m in world.mailer.sent}
    assert by_address["fatima@example.org"].subject == "Het diploma van Sam is klaar!"
    assert by_address["youssef@example.org"].subject == "Le diplôme de Sam est prêt !"
    assert all(link in m.text for m in by_address.values())


async def test_school_advice_waits_for_consent_and_goes_to_the_teacher(world, envelope) -> None:
    await deliver(world, await registered(world))
    await deliver(world, await added(world, **TEACHER))
    await deliver(world, consent(envelope, "share-with-school", True, "2025-03-01T10:00:00Z"))
    await deliver(world, envelope(events.FindingsRecorded, advice=ADVICE))
    [mail] = world.mailer.sent
    assert mail.to_address == "anna@school.example.org"
    assert mail.subject == "Advice for school: what helps Sam"
    assert "working memory" in mail.text and "quieter" in mail.text.lower()
    assert "name the feeling" not in mail.text.lower()  # advice for parents stays home


async def test_without_school_consent_the_teacher_gets_nothing(world, envelope) -> None:
    await deliver(world, await added(world, **TEACHER))
    await deliver(world, envelope(events.FindingsRecorded, advice=ADVICE))
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
    await deliver(world, await registered(world))
    await deliver(world, await added(world, **TEACHER))
    # screening at 2025-03-14; the grant of 03-01 arrives after it
    await deliver(world, envelope(events.FindingsRecorded, advice=ADVICE))
    assert world.mailer.sent == []
    await deliver(world, consent(envelope, "share-with-school", True, "2025-03-01T10:00:00Z"))
    assert [m.to_address for m in world.mailer.sent] == ["anna@school.example.org"]
    # the family's advice waits for the screening consent, which this case never got
    [row] = [r for r in world.deliveries.rows.values() if r.kind is MessageKind.SCHOOL_ADVICE]
    assert row.status is DeliveryStatus.DELIVERED
    withheld, delivered = [
        e for e in world.deliveries.events if e.notification_id == row.delivery_id
    ]
    assert isinstance(withheld, events.NotificationFailed) and withheld.final is False
    assert isinstance(delivered, events.NotificationDelivered)


async def test_a_consent_granted_after_the_message_was_due_does_not_revive_it(
    world, envelope
) -> None:
    await deliver(world, await added(world, **TEACHER))
    await deliver(world, envelope(events.FindingsRecorded, advice=ADVICE))
    await deliver(world, consent(envelope, "share-with-school", True, "2025-04-01T10:00:00Z"))
    assert world.mailer.sent == []


async def test_a_teacher_added_after_the_screening_still_gets_the_advice(world, envelope) -> None:
    await deliver(world, consent(envelope, "share-with-school", True, "2025-03-01T10:00:00Z"))
    await deliver(world, envelope(events.FindingsRecorded, advice=ADVICE))
    await deliver(world, await added(world, **TEACHER))
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
    await deliver(world, await added(world))
    await deliver(world, envelope(events.CaseClosed))
    await deliver(world, envelope(events.TaskAssigned))
    assert world.mailer.sent == []
    assert world.deliveries.rows == {}


def transient(code: DeliveryError = DeliveryError.HTTP_ERROR) -> DeliveryProblem:
    return DeliveryProblem(code, retryable=True)


def failures(world) -> list[events.NotificationFailed]:
    return [e for e in world.deliveries.events if isinstance(e, events.NotificationFailed)]


async def test_a_transient_failure_is_retried_later_with_growing_waits(world, envelope) -> None:
    await youth_team_with_webhook_and_consent(world, envelope)
    world.poster.problems = [transient(), transient()]
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    [row] = world.deliveries.rows.values()
    assert (row.status, row.attempts) == (DeliveryStatus.SCHEDULED, 1)
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=10)
    assert await send_due(world.deps) == 0  # not yet
    world.clock.advance(seconds=10)
    await send_due(world.deps)
    [row] = world.deliveries.rows.values()
    assert row.next_attempt_at == world.clock.now + dt.timedelta(seconds=20)  # doubled
    world.clock.advance(seconds=20)
    await send_due(world.deps)
    [hook] = world.poster.sent
    assert hook.body["task_id"] == "task_1a2b3c4d5e6f" and "Sam" not in hook.body["text"]
    [row] = world.deliveries.rows.values()
    assert (row.status, row.attempts, row.next_attempt_at) == (DeliveryStatus.DELIVERED, 3, None)
    # the first transient failure is told once (not final), the delivery once
    [first] = failures(world)
    assert (first.final, first.error_code) == (False, DeliveryError.HTTP_ERROR)
    assert isinstance(world.deliveries.events[-1], events.NotificationDelivered)
    assert world.observed[-3:] == [
        ("webhook", "scheduled"),
        ("webhook", "scheduled"),
        ("webhook", "delivered"),
    ]


async def test_a_delivery_still_failing_after_the_retry_time_fails_for_good(
    world, envelope
) -> None:
    world.deps.schedule = RetrySchedule(
        retry_for=dt.timedelta(hours=2), max_wait=dt.timedelta(minutes=15)
    )
    await youth_team_with_webhook_and_consent(world, envelope)
    world.poster.problems = [transient()] * 1000
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    while world.deliveries.rows and next(iter(world.deliveries.rows.values())).status in (
        DeliveryStatus.SCHEDULED,
        DeliveryStatus.SENDING,
    ):
        world.clock.advance(minutes=15)
        await send_due(world.deps)
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (DeliveryStatus.FAILED, DeliveryError.HTTP_ERROR)
    assert world.clock.now - NOW <= dt.timedelta(hours=2, minutes=15)
    assert 8 < world.poster.calls < 20  # 10 s, 20 s, ... then every 15 minutes
    assert [f.final for f in failures(world)] == [False, True]
    world.clock.advance(hours=1)
    assert await send_due(world.deps) == 0


async def test_a_refused_message_fails_at_once_and_is_shown_to_the_coach(world, envelope) -> None:
    await youth_team_with_webhook_and_consent(world, envelope)
    world.poster.problems = [DeliveryProblem(DeliveryError.REJECTED, retryable=False)]
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    assert world.poster.calls == 1
    _, [row] = await list_deliveries(world.deps, "case_7Hq2mX9aK3pL0sVd", lambda pilot: None)
    assert (row.status, row.attempts, row.error_code) == (
        DeliveryStatus.FAILED,
        1,
        DeliveryError.REJECTED,
    )
    [failed] = failures(world)
    assert failed.final
    assert world.observed[-1] == ("webhook", "failed")
    world.clock.advance(hours=1)
    await deliver(world, await added(world))  # later events try nothing again
    assert world.poster.calls == 1


async def test_a_failure_released_by_another_event_is_recorded(world, envelope) -> None:
    await register_agency_webhook(world)
    await deliver(
        world, consent(envelope, "share-with-agency", True, "2025-03-01T10:00:00Z", AGENCY)
    )
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    world.poster.problems = [DeliveryProblem(DeliveryError.REJECTED, retryable=False)]
    await deliver(world, await added(world, **YOUTH_TEAM))  # handled fine: no exception
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (DeliveryStatus.FAILED, DeliveryError.REJECTED)
    assert isinstance(world.deliveries.events[-1], events.NotificationFailed)


async def test_a_withdrawal_cancels_the_scheduled_messages_it_covers(world, envelope) -> None:
    await youth_team_with_webhook_and_consent(world, envelope)
    world.poster.problems = [transient()]
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    await deliver(
        world, consent(envelope, "share-with-agency", False, "2025-03-20T10:00:00Z", AGENCY)
    )
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (DeliveryStatus.CANCELLED, DeliveryError.NO_CONSENT)
    world.clock.advance(hours=1)
    await send_due(world.deps)
    assert world.poster.sent == []
    assert [f.final for f in failures(world)] == [False, True]
    assert world.observed[-1] == ("webhook", "cancelled")


async def test_closing_the_case_cancels_its_scheduled_messages(world, envelope) -> None:
    await deliver(world, await added(world))
    world.mailer.problems = [transient(DeliveryError.UNREACHABLE)]
    await deliver(world, envelope(events.TaskAssigned))
    await deliver(world, envelope(events.CaseClosed))
    [row] = world.deliveries.rows.values()
    assert row.status is DeliveryStatus.CANCELLED
    world.clock.advance(hours=1)
    await send_due(world.deps)
    assert world.mailer.sent == []


async def test_an_attempt_checks_the_case_file_before_sending(world, envelope) -> None:
    await deliver(world, await added(world))
    world.mailer.problems = [transient(DeliveryError.UNREACHABLE)]
    await deliver(world, envelope(events.TaskAssigned))
    # closed behind the scheduler's back (the event read by another replica, say)
    case = world.case_files.files["case_7Hq2mX9aK3pL0sVd"]
    case.close(NOW)
    world.clock.advance(seconds=10)
    await send_due(world.deps)
    assert world.mailer.sent == []
    [row] = world.deliveries.rows.values()
    assert row.status is DeliveryStatus.CANCELLED


async def test_an_agency_without_a_registered_webhook_is_recorded_unreachable(
    world, envelope
) -> None:
    await deliver(world, await added(world, **YOUTH_TEAM))
    await deliver(
        world, consent(envelope, "share-with-agency", True, "2025-03-01T10:00:00Z", AGENCY)
    )
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (DeliveryStatus.FAILED, DeliveryError.NO_CONTACT_DETAILS)


async def test_a_claim_left_by_a_crash_is_taken_over_once_it_expires(world, envelope) -> None:
    await deliver(world, await added(world))
    await handle(world, envelope(events.TaskAssigned))
    [delivery_id] = world.deliveries.rows
    # another replica claims it and dies before sending
    until = NOW + dt.timedelta(seconds=120)
    taken = await world.deliveries.claim(delivery_id, "replica-b", NOW, until, early=False)
    assert taken is not None
    await send_due(world.deps)
    assert world.mailer.sent == []  # its claim still holds
    world.clock.advance(seconds=121)
    await send_due(world.deps)
    await send_due(world.deps)
    assert len(world.mailer.sent) == 1
    [row] = world.deliveries.rows.values()
    assert row.status is DeliveryStatus.DELIVERED
    assert sum(isinstance(e, events.NotificationDelivered) for e in world.deliveries.events) == 1


async def test_an_attempt_that_outlives_its_claim_records_nothing(world, envelope) -> None:
    await deliver(world, await added(world))

    async def slow_failure(mail) -> None:
        world.clock.advance(seconds=130)  # longer than the claim
        raise transient(DeliveryError.TIMEOUT)

    world.deps.mailer = type("Slow", (), {"send": staticmethod(slow_failure)})()
    await deliver(world, envelope(events.TaskAssigned))
    [row] = world.deliveries.rows.values()
    assert row.status is DeliveryStatus.SENDING  # left to whoever takes the claim over
    assert failures(world) == []


async def test_only_the_first_final_outcome_is_recorded(world, envelope) -> None:
    """Two owners each think they made the attempt (the second took over an expired
    claim): the delivery is recorded, and notification-delivered published, once."""
    await deliver(world, await added(world))
    await handle(world, envelope(events.TaskAssigned))
    [delivery_id] = world.deliveries.rows
    store = world.deliveries
    first = await store.claim(delivery_id, "a", NOW, NOW + dt.timedelta(seconds=5), early=False)
    later = NOW + dt.timedelta(seconds=6)
    second = await store.claim(delivery_id, "b", later, later, early=False)
    assert first is not None and second is not None and second.number == first.number + 1
    for claim in (second, first):
        claim.delivery.attempts = 1
        claim.delivery.succeed(later)
        await store.finish(claim.delivery, claim)
    assert sum(isinstance(e, events.NotificationDelivered) for e in store.events) == 1
    assert store.rows[delivery_id].status is DeliveryStatus.DELIVERED


async def test_an_agency_consent_naming_no_agency_is_never_granted(world, envelope) -> None:
    speaker = YOUTH_TEAM | {"agency_id": None, "channel": "email", "email": "jt@example.org"}
    await deliver(world, await added(world, **speaker))
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
    await deliver(world, await added(world))
    await deliver(world, envelope(events.TaskAssigned))
    seen: list[Pilot] = []
    pilot, rows = await list_deliveries(world.deps, "case_7Hq2mX9aK3pL0sVd", seen.append)
    assert (pilot, seen) == (Pilot.LEIDEN, [Pilot.LEIDEN])
    assert [r.status for r in rows] == [DeliveryStatus.DELIVERED]


async def test_a_webhook_url_must_be_https_outside_development(world) -> None:
    command = RegisterWebhook(AGENCY, Pilot.LEIDEN, "http://agency.example.org/h", SECRET)
    with pytest.raises(RefusedDestination) as refused:
        await register_webhook(world.deps, command, lambda pilot: None)
    assert refused.value.field == "url"
    assert world.webhooks.subscriptions == {}


async def test_a_webhook_of_another_pilot_is_not_replaced(world) -> None:
    await register_agency_webhook(world)

    def only_lille(pilot: Pilot) -> None:
        if pilot is not Pilot.LILLE:
            raise PermissionError(pilot)

    command = RegisterWebhook(AGENCY, Pilot.LILLE, "https://elsewhere.example.org/h", SECRET)
    with pytest.raises(PermissionError):
        await register_webhook(world.deps, command, only_lille)
    assert world.webhooks.subscriptions[AGENCY].url == "https://agency.example.org/h"
    with pytest.raises(NoWebhook):
        await get_webhook(world.deps, "agy_someoneelse01", lambda pilot: None)


async def test_a_message_that_cannot_be_prepared_is_tried_again_later(world, envelope) -> None:
    await youth_team_with_webhook_and_consent(world, envelope)
    registered = world.webhooks.get
    failing = [ConnectionError("store away")]

    async def get(agency_id: str):
        if failing:
            raise failing.pop()
        return await registered(agency_id)

    world.webhooks.get = get
    await deliver(world, envelope(events.TaskAssigned, assignee_id="mbr_youthteam0001"))
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (DeliveryStatus.SCHEDULED, DeliveryError.OTHER)
    world.clock.advance(seconds=10)
    await send_due(world.deps)
    assert len(world.poster.sent) == 1
