"""Handlers over the in-memory fakes: ids, retries, scoping, what gets stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from vrac_contracts.values import ActorRole, Channel, CloseReason, ConsentPurpose, Pilot
from vrac_intake import handlers
from vrac_intake.domain.case import CaseStatus
from vrac_intake.domain.commands import CloseCase, RecordConsent, RegisterFamily
from vrac_intake.domain.consent import Recorder
from vrac_intake.domain.errors import IdempotencyKeyReused, UnknownCase
from vrac_intake.domain.family import GuardianDetails

from services.intake.tests.fakes import FakeAuditTrail, FakeCases, Refused, anyone, only

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
COACH = Recorder(ActorRole.COACH, user="coach-1")


@pytest.fixture
def repo() -> FakeCases:
    return FakeCases()


@pytest.fixture
def deps(repo: FakeCases) -> handlers.Deps:
    return handlers.Deps(repo, FakeAuditTrail(), clock=lambda: NOW)


def register(**changes: Any) -> RegisterFamily:
    guardian = GuardianDetails("Fatima", "fatima@example.org", None, Channel.EMAIL)
    command = RegisterFamily(
        pilot=Pilot.LEIDEN,
        programme="pit",
        child_first_name="Sam",
        birth_year=2016,
        school_name=None,
        language=None,
        guardians=(guardian, guardian),
        registered_by="coach-1",
    )
    return replace(command, **changes)


async def test_registering_mints_the_case_and_guardian_ids(
    deps: handlers.Deps, repo: FakeCases
) -> None:
    registration = await handlers.register_family(deps, register(), anyone)
    case = registration.case
    assert registration.created and case.case_id.startswith("case_")
    ids = [g.guardian_id for g in case.guardians]
    assert all(i.startswith("gdn_") for i in ids) and len(set(ids)) == 2
    assert [type(e).__name__ for e in repo.outbox] == ["CaseOpened", "FamilyRegistered"]


async def test_a_retry_with_the_same_key_opens_no_second_case(
    deps: handlers.Deps, repo: FakeCases
) -> None:
    first = await handlers.register_family(deps, register(idempotency_key="key-000001"), anyone)
    again = await handlers.register_family(deps, register(idempotency_key="key-000001"), anyone)
    assert not again.created and again.case.case_id == first.case.case_id
    assert again.case.guardians == first.case.guardians
    assert len(repo.cases) == 1 and len(repo.outbox) == 2


async def test_a_key_used_for_another_family_is_refused(deps: handlers.Deps) -> None:
    await handlers.register_family(deps, register(idempotency_key="key-000001"), anyone)
    with pytest.raises(IdempotencyKeyReused):
        other = register(idempotency_key="key-000001", child_first_name="Noor")
        await handlers.register_family(deps, other, anyone)


async def test_the_same_key_in_another_pilot_is_another_case(deps: handlers.Deps) -> None:
    leiden = await handlers.register_family(deps, register(idempotency_key="key-000001"), anyone)
    lille = register(idempotency_key="key-000001", pilot=Pilot.LILLE)
    assert (await handlers.register_family(deps, lille, anyone)).case.case_id != leiden.case.case_id


async def test_registering_for_another_pilot_writes_nothing(
    deps: handlers.Deps, repo: FakeCases
) -> None:
    with pytest.raises(Refused):
        await handlers.register_family(deps, register(), only(Pilot.LILLE))
    assert repo.cases == {} and repo.outbox == []


async def test_consent_on_another_pilots_case_changes_nothing(
    deps: handlers.Deps, repo: FakeCases
) -> None:
    case = (await handlers.register_family(deps, register(), anyone)).case
    command = RecordConsent(case.case_id, ConsentPurpose.SCREENING, True, None, COACH)
    with pytest.raises(Refused):
        await handlers.record_consent(deps, command, only(Pilot.LILLE))
    assert repo.cases[case.case_id].consents == [] and len(repo.outbox) == 2


async def test_consent_and_close_are_stored_with_their_events(
    deps: handlers.Deps, repo: FakeCases
) -> None:
    case = (await handlers.register_family(deps, register(), anyone)).case
    grant = RecordConsent(case.case_id, ConsentPurpose.SCREENING, True, None, COACH)
    assert (await handlers.record_consent(deps, grant, anyone)).changed
    assert not (await handlers.record_consent(deps, grant, anyone)).changed
    await handlers.close_case(deps, CloseCase(case.case_id, CloseReason.COMPLETED, "c"), anyone)
    stored = repo.cases[case.case_id]
    assert stored.status is CaseStatus.CLOSED and len(stored.consents) == 1
    names = [type(e).__name__ for e in repo.outbox]
    assert names == ["CaseOpened", "FamilyRegistered", "ConsentChanged", "CaseClosed"]


async def test_an_unknown_case_is_reported(deps: handlers.Deps) -> None:
    with pytest.raises(UnknownCase):
        await handlers.get_case(deps, "case_doesnotexist01", anyone)
    with pytest.raises(UnknownCase):
        close = CloseCase("case_doesnotexist01", CloseReason.OTHER, "c")
        await handlers.close_case(deps, close, anyone)


async def test_listing_filters_by_pilot_and_status(deps: handlers.Deps) -> None:
    leiden = (await handlers.register_family(deps, register(), anyone)).case
    await handlers.register_family(deps, register(pilot=Pilot.LILLE), anyone)
    await handlers.close_case(deps, CloseCase(leiden.case_id, CloseReason.OTHER, "c"), anyone)
    assert len(await handlers.list_cases(deps, None, None, 10, 0)) == 2
    found = await handlers.list_cases(deps, Pilot.LEIDEN, CaseStatus.CLOSED, 10, 0)
    assert [c.case_id for c in found] == [leiden.case_id]
    assert await handlers.list_cases(deps, Pilot.LEIDEN, CaseStatus.OPEN, 10, 0) == []
