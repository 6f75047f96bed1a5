"""Handlers over the in-memory fakes: ids, retries, scoping, what gets stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from vrac_contracts.events.intake import FamilyRegisteredV2, GuardianRemoved
from vrac_contracts.events.sealed import ChildDetails
from vrac_contracts.events.sealed import GuardianDetails as GuardianOnWire
from vrac_contracts.ids import derived_id
from vrac_contracts.values import ActorRole, Channel, CloseReason, ConsentPurpose, Pilot
from vrac_intake import handlers
from vrac_intake.domain.case import Case, CaseStatus
from vrac_intake.domain.commands import CloseCase, RecordConsent, RegisterFamily, RemoveGuardian
from vrac_intake.domain.consent import Recorder
from vrac_intake.domain.errors import (
    IdempotencyKeyReused,
    LastGuardian,
    RuleBroken,
    UnknownCase,
    UnknownGuardian,
)
from vrac_intake.domain.family import GuardianDetails
from vrac_testing.keys import MemoryKeys

from services.intake.tests.fakes import (
    SIGN,
    FakeAuditTrail,
    FakeCases,
    FakeFamilyLinks,
    Refused,
    anyone,
    only,
)

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
COACH = Recorder(ActorRole.COACH, user="coach-1")


@pytest.fixture
def repo() -> FakeCases:
    return FakeCases()


@pytest.fixture
def keys() -> MemoryKeys:
    return MemoryKeys()


@pytest.fixture
def deps(repo: FakeCases, keys: MemoryKeys) -> handlers.Deps:
    return handlers.Deps(repo, FakeAuditTrail(), keys, FakeFamilyLinks(), SIGN, clock=lambda: NOW)


MOTHER = GuardianDetails("Fatima", "fatima@example.org", None, Channel.EMAIL)
FATHER = GuardianDetails("Karim", None, "+31687654321", Channel.SMS)
PERSONAL = ("Sam", "2016", "Regenboog", "Fatima", "Karim", "example.org", "+3168")


def register(**changes: Any) -> RegisterFamily:
    command = RegisterFamily(
        pilot=Pilot.LEIDEN,
        programme="pit",
        child_first_name="Sam",
        birth_year=2016,
        school_name="De Regenboog",
        language=None,
        guardians=(MOTHER, FATHER),
        registered_by="coach-1",
    )
    return replace(command, **changes)


async def registered(deps: handlers.Deps) -> Case:
    return (await handlers.register_family(deps, register(), anyone)).case


def family_of(repo: FakeCases, case_id: str) -> FamilyRegisteredV2:
    (family,) = [
        e for e in repo.outbox if isinstance(e, FamilyRegisteredV2) and e.case_id == case_id
    ]
    return family


def close(case: Case, reason: CloseReason = CloseReason.ERASURE_REQUESTED) -> CloseCase:
    return CloseCase(case.case_id, reason, "coach-1")


async def test_registering_mints_the_case_and_guardian_ids(
    deps: handlers.Deps, repo: FakeCases
) -> None:
    registration = await handlers.register_family(deps, register(), anyone)
    case = registration.case
    assert registration.created and case.case_id.startswith("case_")
    ids = [g.guardian_id for g in case.guardians]
    assert all(i.startswith("gdn_") for i in ids) and len(set(ids)) == 2
    assert [type(e).__name__ for e in repo.outbox] == ["CaseOpened", "FamilyRegisteredV2"]


async def test_the_family_is_recorded_sealed_under_the_case_and_each_guardian(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    case = await registered(deps)
    family = family_of(repo, case.case_id)
    assert not any(p in family.model_dump_json() for p in PERSONAL)
    assert family.child.key_id == case.case_id
    child = keys.open_now(case.case_id, family.child, ChildDetails)
    assert child == ChildDetails(
        child_first_name="Sam", birth_year=2016, school_name="De Regenboog"
    )
    opened = [keys.open_now(case.case_id, g.details, GuardianOnWire) for g in family.guardians]
    assert [g.guardian_id for g in family.guardians] == [g.details.key_id for g in family.guardians]
    assert [(o.name, o.email, o.phone) for o in opened if o] == [
        ("Fatima", "fatima@example.org", None),
        ("Karim", None, "+31687654321"),
    ]


async def test_a_refused_registration_makes_no_key(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    with pytest.raises(RuleBroken):
        await handlers.register_family(deps, register(birth_year=1990), anyone)
    assert keys.keys == {} and repo.cases == {}


async def test_a_retry_with_the_same_key_opens_no_second_case(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    first = await handlers.register_family(deps, register(idempotency_key="key-000001"), anyone)
    again = await handlers.register_family(deps, register(idempotency_key="key-000001"), anyone)
    assert not again.created and again.case.case_id == first.case.case_id
    assert again.case.guardians == first.case.guardians
    assert len(repo.cases) == 1 and len(repo.outbox) == 2
    assert len(keys.keys) == 3  # the retry sealed nothing again


async def test_a_retry_after_the_erasure_opens_nothing_again(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    first = await handlers.register_family(deps, register(idempotency_key="key-000001"), anyone)
    await handlers.close_case(deps, close(first.case), anyone)
    with pytest.raises(IdempotencyKeyReused):
        await handlers.register_family(deps, register(idempotency_key="key-000001"), anyone)
    assert len(repo.cases) == 1 and keys.keys == {}


async def test_a_key_used_for_another_family_is_refused(deps: handlers.Deps) -> None:
    await handlers.register_family(deps, register(idempotency_key="key-000001"), anyone)
    with pytest.raises(IdempotencyKeyReused):
        other = register(idempotency_key="key-000001", child_first_name="Noor")
        await handlers.register_family(deps, other, anyone)


async def test_a_key_whose_case_was_erased_meanwhile_is_refused_not_failed(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    """Another request with the same Idempotency-Key registered and erased its case between
    this one's look-up and its sealing: the destroyed key is never made again."""
    case_id = derived_id("case", Pilot.LEIDEN, "key-000001")
    await keys.destroy_case(case_id)
    with pytest.raises(IdempotencyKeyReused):
        await handlers.register_family(deps, register(idempotency_key="key-000001"), anyone)
    assert repo.cases == {} and keys.keys == {}  # no guardian key made for it either


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
    assert names == [
        "CaseOpened",
        "FamilyRegisteredV2",
        "ConsentChangedV2",
        "ConsentRecorded",
        "CaseClosed",
    ]


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


# -- erasure and removal destroy keys --


async def test_an_erasure_destroys_every_key_of_the_case(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    case, other = await registered(deps), await registered(deps)
    closed = await handlers.close_case(deps, close(case), anyone)
    assert closed.erased and closed.keys_to_destroy == []
    family = family_of(repo, case.case_id)
    assert keys.open_now(case.case_id, family.child, ChildDetails) is None
    assert all(
        keys.open_now(case.case_id, g.details, GuardianOnWire) is None for g in family.guardians
    )
    assert keys.open_now(other.case_id, family_of(repo, other.case_id).child, ChildDetails)
    assert repo.cases[case.case_id].keys_to_destroy == []


async def test_a_case_closed_without_erasure_keeps_its_keys(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    case = await registered(deps)
    await handlers.close_case(deps, close(case, CloseReason.COMPLETED), anyone)
    assert keys.open_now(case.case_id, family_of(repo, case.case_id).child, ChildDetails)


async def test_an_erasure_the_key_store_failed_is_finished_by_the_periodic_job(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    case = await registered(deps)
    keys.failures = 2
    closed = await handlers.close_case(deps, close(case), anyone)
    assert closed.erased and closed.child_first_name is None  # the close stands
    assert repo.cases[case.case_id].keys_to_destroy == [case.case_id]
    assert await handlers.finish_key_destruction(deps) == 0  # the store is still away
    assert await handlers.finish_key_destruction(deps) == 1
    assert keys.open_now(case.case_id, family_of(repo, case.case_id).child, ChildDetails) is None
    assert repo.cases[case.case_id].keys_to_destroy == []
    assert await handlers.finish_key_destruction(deps) == 0  # nothing more owed


async def test_removing_a_guardian_erases_them_and_destroys_their_key_only(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    case = await registered(deps)
    mother, father = (g.guardian_id for g in case.guardians)
    after = await handlers.remove_guardian(deps, RemoveGuardian(case.case_id, father), anyone)
    assert [g.guardian_id for g in after.guardians] == [mother]
    stored = repo.cases[case.case_id]
    assert [g.guardian_id for g in stored.guardians] == [mother]
    assert stored.keys_to_destroy == [] and father in keys.destroyed
    removed = repo.outbox[-1]
    assert isinstance(removed, GuardianRemoved) and removed.guardian_id == father
    family = family_of(repo, case.case_id)
    assert keys.open_now(case.case_id, family.guardians[1].details, GuardianOnWire) is None
    assert keys.open_now(case.case_id, family.guardians[0].details, GuardianOnWire)
    assert keys.open_now(case.case_id, family.child, ChildDetails)
    assert "Karim" not in repr(stored)


async def test_a_removal_the_key_store_failed_is_finished_later(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    case = await registered(deps)
    father = case.guardians[1].guardian_id
    keys.failures = 1
    await handlers.remove_guardian(deps, RemoveGuardian(case.case_id, father), anyone)
    assert repo.cases[case.case_id].keys_to_destroy == [father]
    assert father not in keys.destroyed
    assert await handlers.finish_key_destruction(deps) == 1
    assert father in keys.destroyed and repo.cases[case.case_id].keys_to_destroy == []


async def test_removing_refuses_the_last_an_unknown_guardian_and_other_pilots(
    deps: handlers.Deps, repo: FakeCases, keys: MemoryKeys
) -> None:
    case = await registered(deps)
    mother, father = (g.guardian_id for g in case.guardians)
    with pytest.raises(Refused):
        await handlers.remove_guardian(
            deps, RemoveGuardian(case.case_id, father), only(Pilot.LILLE)
        )
    with pytest.raises(UnknownGuardian):
        await handlers.remove_guardian(
            deps, RemoveGuardian(case.case_id, "gdn_nobody0000001"), anyone
        )
    await handlers.remove_guardian(deps, RemoveGuardian(case.case_id, father), anyone)
    with pytest.raises(LastGuardian):
        await handlers.remove_guardian(deps, RemoveGuardian(case.case_id, mother), anyone)
    assert [g.guardian_id for g in repo.cases[case.case_id].guardians] == [mother]
    assert mother not in keys.destroyed
