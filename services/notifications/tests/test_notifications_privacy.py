"""Over in-memory fakes: names arrive sealed and erased ones store nothing; a person who leaves
is forgotten; an erasure reaches everything here and is finished even after a failure; the
hold lets a withdrawal read just after the event it should stop cancel the message."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from vrac_contracts import events
from vrac_contracts.envelope import new_envelope
from vrac_contracts.values import DeliveryError
from vrac_notifications.domain.delivery import DeliveryStatus
from vrac_notifications.handlers import finish_erasures, list_deliveries, send_due
from vrac_runtime.consumer import PermanentError
from vrac_runtime.sealing import KeyUnavailable

from services.notifications.tests.conftest import NOW
from services.notifications.tests.notifications_testkit import (
    TEACHER,
    added,
    deliver,
    handle,
    registered,
)

CASE = "case_7Hq2mX9aK3pL0sVd"
GRANDMA = "mbr_4d5e6f7a8b9c"
FATIMA = "gdn_a1b2c3d4e5f6"
PERSONAL = ("Sam", "Fatima", "fatima@example.org", "+31612345678", "Oma Ria", "ria@example.org")


def erasure(envelope):
    return envelope(events.CaseClosed, reason="erasure-requested")


def school_consent(envelope, granted: bool, at: str):
    return envelope(
        events.ConsentRecorded, purpose="share-with-school", granted=granted, changed_at=at
    )


def held(world, seconds: float = 5) -> None:
    world.deps = dataclasses.replace(world.deps, hold=dt.timedelta(seconds=seconds))


def case_file_text(world) -> str:
    return repr(world.case_files.files.get(CASE))


async def test_names_and_addresses_are_opened_from_their_sealed_values(world, envelope) -> None:
    await deliver(world, await registered(world))
    await deliver(world, envelope(events.DiplomaIssued))
    [mail] = world.mailer.sent
    assert (mail.to_address, mail.to_name) == ("fatima@example.org", "Fatima")
    assert "Sam" in mail.text


async def test_a_member_whose_key_was_destroyed_is_not_stored(world, envelope) -> None:
    member = await added(world)
    await world.keys.destroy(CASE, GRANDMA)  # network removed her before this event was read
    await deliver(world, member)
    await deliver(world, envelope(events.TaskAssigned))
    assert world.mailer.sent == []
    assert "Ria" not in case_file_text(world)


async def test_a_family_whose_case_key_was_destroyed_stores_nothing_personal(
    world, envelope
) -> None:
    family = await registered(world)
    await world.keys.destroy(CASE, CASE)  # intake erased the case
    await deliver(world, family)
    await deliver(world, envelope(events.DiplomaIssued))
    assert world.mailer.sent == []
    assert not any(value in case_file_text(world) for value in PERSONAL)


async def test_a_guardian_whose_key_was_destroyed_is_left_out(world, envelope) -> None:
    family = await registered(world)
    await world.keys.destroy(CASE, FATIMA)
    await deliver(world, family)
    case = world.case_files.files[CASE]
    assert case.child_first_name == "Sam" and case.contacts == {}


async def test_an_owner_that_cannot_be_asked_fails_the_event_for_a_retry(world) -> None:
    member = await added(world)
    world.keys.away = True
    with pytest.raises(KeyUnavailable):
        await handle(world, member)
    world.keys.away = False
    await handle(world, member)  # the consumer's retry
    assert GRANDMA in world.case_files.files[CASE].contacts


async def test_a_sealed_value_that_does_not_open_is_dead_lettered(world) -> None:
    member = await added(world)
    other_case = await added(world, case_id="case_otherCase0001")  # same member key
    moved = member.data.model_copy(update={"details": other_case.data.details})
    with pytest.raises(PermanentError):
        await handle(world, new_envelope(moved))


async def test_a_member_who_leaves_is_forgotten_and_told_nothing_more(world, envelope) -> None:
    held(world)
    await deliver(world, await added(world))
    await deliver(world, envelope(events.TaskAssigned))  # held, not yet sent
    late_copy = await added(world)  # network's member-added, read again later
    await deliver(world, envelope(events.MemberRemoved, member_id=GRANDMA))
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (
        DeliveryStatus.CANCELLED,
        DeliveryError.NO_CONTACT_DETAILS,
    )
    assert GRANDMA in world.keys.forgotten
    await deliver(world, late_copy)  # opens with this fake's key, and is still refused
    world.clock.advance(seconds=10)
    await send_due(world.deps)
    assert world.mailer.sent == []
    assert "Ria" not in case_file_text(world)


async def test_a_guardian_who_leaves_hears_nothing_more(world, envelope) -> None:
    await deliver(world, await registered(world))
    await deliver(world, envelope(events.GuardianRemoved, guardian_id=FATIMA))
    await deliver(world, envelope(events.DiplomaIssued))
    assert world.mailer.sent == []
    assert "Fatima" not in case_file_text(world)
    assert FATIMA in world.keys.forgotten


async def test_an_erasure_cancels_what_is_scheduled_and_keeps_only_ids(world, envelope) -> None:
    held(world)
    await deliver(world, await registered(world))
    await deliver(world, await added(world))
    await deliver(world, envelope(events.TaskAssigned))
    await deliver(world, erasure(envelope))
    [row] = world.deliveries.rows.values()
    assert row.status is DeliveryStatus.CANCELLED
    case = world.case_files.files[CASE]
    assert not any(value in case_file_text(world) for value in PERSONAL)
    assert case.erased_at is not None and not case.erasure_pending
    assert world.audit.erasures == [(CASE, "leiden")]
    assert CASE in world.keys.forgotten
    world.clock.advance(minutes=5)
    await send_due(world.deps)
    assert world.mailer.sent == []


async def test_events_read_after_the_erasure_store_nothing_and_ask_for_no_key(
    world, envelope
) -> None:
    family, member = await registered(world), await added(world)
    await deliver(world, erasure(envelope))
    world.keys.away = True  # would fail the event if it were asked
    for late in (family, member, envelope(events.TaskAssigned)):
        await deliver(world, late)
    assert not any(value in case_file_text(world) for value in PERSONAL)
    assert world.deliveries.rows == {}


async def test_an_erasure_interrupted_by_a_failure_is_finished_by_the_periodic_job(
    world, envelope
) -> None:
    await deliver(world, await added(world))
    world.audit.failing = 1
    with pytest.raises(ConnectionError):
        await handle(world, erasure(envelope))
    assert world.case_files.files[CASE].erasure_pending
    assert "Ria" not in case_file_text(world)  # the personal data went first
    assert await finish_erasures(world.deps) == 1
    assert not world.case_files.files[CASE].erasure_pending
    assert world.audit.erasures == [(CASE, "leiden")]
    assert await finish_erasures(world.deps) == 0


async def test_a_closing_without_erasure_is_not_an_erasure(world, envelope) -> None:
    await deliver(world, await added(world))
    await deliver(world, envelope(events.CaseClosed))
    assert world.audit.erasures == []
    assert world.case_files.files[CASE].erased_at is None
    assert "Ria" not in case_file_text(world)  # nothing is sent any more: no directory


async def test_the_first_send_is_held_and_shown_as_the_next_attempt(world, envelope) -> None:
    held(world, 5)
    await deliver(world, await added(world))
    await deliver(world, envelope(events.TaskAssigned))
    assert world.mailer.sent == []
    _, [delivery] = await list_deliveries(world.deps, CASE, lambda pilot: None)
    assert delivery.status is DeliveryStatus.SCHEDULED
    assert delivery.next_attempt_at == NOW + dt.timedelta(seconds=5)
    world.clock.advance(seconds=5)
    await send_due(world.deps)
    assert [m.to_address for m in world.mailer.sent] == ["ria@example.org"]


async def test_a_withdrawal_read_within_the_hold_stops_the_message(world, envelope) -> None:
    held(world, 5)
    await deliver(world, school_consent(envelope, True, "2025-03-01T10:00:00Z"))
    await deliver(world, await added(world, **TEACHER))
    assigned = envelope(events.TaskAssigned, assignee_id=TEACHER["member_id"])
    await deliver(world, assigned)
    world.clock.advance(seconds=3)
    # decided just before the task was assigned, read just after it
    await deliver(world, school_consent(envelope, False, "2025-03-14T09:29:59Z"))
    world.clock.advance(seconds=10)
    await send_due(world.deps)
    assert world.mailer.sent == []
    [row] = world.deliveries.rows.values()
    assert (row.status, row.error_code) == (DeliveryStatus.CANCELLED, DeliveryError.NO_CONSENT)


async def test_a_released_message_is_held_too(world, envelope) -> None:
    held(world, 5)
    await deliver(world, await added(world, **TEACHER))
    await deliver(world, envelope(events.TaskAssigned, assignee_id=TEACHER["member_id"]))
    await deliver(world, school_consent(envelope, True, "2025-03-01T10:00:00Z"))  # read late
    [row] = world.deliveries.rows.values()
    assert row.status is DeliveryStatus.SCHEDULED
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=5)


async def test_one_erasure_that_keeps_failing_holds_up_no_other(world, envelope) -> None:
    other = envelope(events.CaseClosed, case_id="case_otherCase0001", reason="erasure-requested")
    world.audit.failing = 2  # both erasures fail on their audit entry
    for closing in (erasure(envelope), other):
        with pytest.raises(ConnectionError):
            await handle(world, closing)
    world.audit.failing = 1  # and the first one fails again in the next round
    assert await finish_erasures(world.deps) == 2
    assert world.audit.erasures == [("case_otherCase0001", "leiden")]
    await finish_erasures(world.deps)
    assert not any(f.erasure_pending for f in world.case_files.files.values())
    assert len(world.audit.erasures) == 2
