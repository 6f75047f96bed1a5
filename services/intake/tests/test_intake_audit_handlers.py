"""The audit trail's keeper, on the in-memory fakes: entries kept once, shown per case."""

from __future__ import annotations

import datetime as dt

import pytest
from vrac_contracts.events.audit import NetworkAccessRecorded, ScreeningAccessRecorded
from vrac_contracts.values import Channel, Pilot
from vrac_intake import handlers
from vrac_intake.domain.commands import RegisterFamily
from vrac_intake.domain.errors import UnknownCase
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


@pytest.fixture
def trail() -> FakeAuditTrail:
    return FakeAuditTrail()


@pytest.fixture
def deps(trail: FakeAuditTrail) -> handlers.Deps:
    return handlers.Deps(
        FakeCases(), trail, MemoryKeys(), FakeFamilyLinks(), SIGN, clock=lambda: NOW
    )


async def registered(deps: handlers.Deps) -> str:
    guardian = GuardianDetails("Fatima", "fatima@example.org", None, Channel.EMAIL)
    command = RegisterFamily(
        pilot=Pilot.LEIDEN,
        programme="pit",
        child_first_name="Sam",
        birth_year=2016,
        school_name=None,
        language=None,
        guardians=(guardian,),
        registered_by="coach-1",
    )
    return (await handlers.register_family(deps, command, anyone)).case.case_id


def entry(case_id: str, n: int, model: type = NetworkAccessRecorded) -> NetworkAccessRecorded:
    return model(
        case_id=case_id,
        pilot="leiden",
        occurred_at=NOW + dt.timedelta(seconds=n),
        entry_id=f"aud_{n:032x}",
        service="network" if model is NetworkAccessRecorded else "screening",
        actor_subject="coach-0042",
        actor_role="coach",
        actor_pilot="leiden",
        action="read",
        method="GET",
        resource="/cases/{case_id}/tasks",
        status=200,
    )


async def test_a_redelivered_entry_is_kept_once(deps: handlers.Deps, trail) -> None:
    case_id = await registered(deps)
    assert await handlers.keep_access_record(deps, entry(case_id, 1)) is True
    assert await handlers.keep_access_record(deps, entry(case_id, 1)) is False
    assert list(trail.entries) == [f"aud_{1:032x}"]


async def test_the_audit_answer_is_the_case_s_entries_oldest_first_paged(
    deps: handlers.Deps,
) -> None:
    case_id = await registered(deps)
    other = await registered(deps)
    for n in (3, 1, 2):
        await handlers.keep_access_record(deps, entry(case_id, n, ScreeningAccessRecorded))
    await handlers.keep_access_record(deps, entry(other, 4))
    first = await handlers.show_audit(deps, case_id, anyone, limit=2, offset=0)
    rest = await handlers.show_audit(deps, case_id, anyone, limit=2, offset=2)
    assert [e.entry_id[-1] for e in first + rest] == ["1", "2", "3"]


async def test_only_those_authorised_for_the_case_s_pilot_see_its_audit(
    deps: handlers.Deps,
) -> None:
    case_id = await registered(deps)
    with pytest.raises(Refused):
        await handlers.show_audit(deps, case_id, only(Pilot.MECHELEN), limit=10, offset=0)
    with pytest.raises(UnknownCase):
        await handlers.show_audit(deps, "case_nosuchcase01", anyone, limit=10, offset=0)
