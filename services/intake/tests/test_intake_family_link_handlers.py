"""The family's links as intake's handlers keep them: for a guardian of an open case, until
they expire, are revoked, or their guardian or case is gone."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from vrac_contracts.values import Channel, CloseReason, Pilot
from vrac_intake import handlers
from vrac_intake.domain.commands import CloseCase, RegisterFamily, RemoveGuardian
from vrac_intake.domain.errors import CaseIsClosed, LinkRefused, UnknownGuardian
from vrac_intake.domain.family import GuardianDetails
from vrac_intake.domain.links import LinkState
from vrac_runtime.family import FamilyGrant
from vrac_testing.keys import MemoryKeys

from services.intake.tests.fakes import SIGN, FakeAuditTrail, FakeCases, FakeFamilyLinks, anyone

NOW = dt.datetime(2026, 3, 14, 9, 30, tzinfo=dt.UTC)
MOTHER = GuardianDetails("Fatima", "fatima@example.org", None, Channel.EMAIL)
FATHER = GuardianDetails("Karim", None, "+31687654321", Channel.SMS)


@pytest.fixture
def deps() -> handlers.Deps:
    return handlers.Deps(
        FakeCases(), FakeAuditTrail(), MemoryKeys(), FakeFamilyLinks(), SIGN, clock=lambda: NOW
    )


async def family_case(deps: handlers.Deps) -> tuple[str, str, str]:
    command = RegisterFamily(
        pilot=Pilot.LEIDEN,
        programme="pit",
        child_first_name="Sam",
        birth_year=2016,
        school_name=None,
        language=None,
        guardians=(MOTHER, FATHER),
        registered_by="coach-1",
    )
    case = (await handlers.register_family(deps, command, anyone)).case
    mother, father = (g.guardian_id for g in case.guardians)
    return case.case_id, mother, father


def grant_of(token: str) -> FamilyGrant:
    claims = jwt.decode(token, options={"verify_signature": False})
    return FamilyGrant(claims["case_id"], claims["pilot"], claims["sub"], claims["jti"], 0)


async def test_a_link_names_its_case_guardian_and_expiry(deps: handlers.Deps) -> None:
    case_id, mother, _ = await family_case(deps)
    link, token = await handlers.issue_family_link(deps, case_id, mother)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["aud"], claims["iss"], claims["sub"]) == ("vrac-family", "vrac-intake", mother)
    assert (claims["case_id"], claims["pilot"], claims["jti"]) == (case_id, "leiden", link.link_id)
    assert link.expires_at == NOW + dt.timedelta(days=30)
    assert link.state(NOW) is LinkState.ACTIVE
    assert link.state(NOW + dt.timedelta(days=30)) is LinkState.EXPIRED
    assert (await handlers.family_case(deps, grant_of(token))).case_id == case_id


async def test_no_link_for_a_stranger_or_a_closed_case(deps: handlers.Deps) -> None:
    case_id, mother, _ = await family_case(deps)
    with pytest.raises(UnknownGuardian):
        await handlers.issue_family_link(deps, case_id, "gdn_stranger0001")
    await handlers.close_case(deps, CloseCase(case_id, CloseReason.COMPLETED, "coach-1"), anyone)
    with pytest.raises(CaseIsClosed):
        await handlers.issue_family_link(deps, case_id, mother)


async def test_a_revoked_link_or_one_of_a_guardian_who_left_opens_nothing(
    deps: handlers.Deps,
) -> None:
    case_id, mother, father = await family_case(deps)
    link, mine = await handlers.issue_family_link(deps, case_id, mother)
    _, theirs = await handlers.issue_family_link(deps, case_id, father)
    first = await handlers.revoke_family_link(deps, link.link_id, anyone)
    again = await handlers.revoke_family_link(deps, link.link_id, anyone)
    assert first.revoked_at == again.revoked_at == NOW
    with pytest.raises(LinkRefused, match="revoked"):
        await handlers.family_case(deps, grant_of(mine))
    await handlers.remove_guardian(deps, RemoveGuardian(case_id, father), anyone)
    with pytest.raises(LinkRefused, match="no longer opens"):
        await handlers.family_case(deps, grant_of(theirs))
    assert [x.guardian_id for x in await handlers.list_family_links(deps, case_id, anyone)] == [
        mother,
        father,
    ]
