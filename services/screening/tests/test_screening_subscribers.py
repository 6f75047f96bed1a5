"""Each subscriber with FastStream's in-memory Kafka and the real store (intake's data keys
in memory: the key route over real HTTP is in test_screening_service)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from vrac_contracts.consent import consent_key
from vrac_contracts.events.intake import (
    CaseClosed,
    CaseOpened,
    ConsentRecorded,
    FamilyRegisteredV2,
)
from vrac_contracts.events.screening import FindingsRecorded
from vrac_contracts.events.sealed import ChildDetails, GuardianDetails
from vrac_contracts.ids import derived_id
from vrac_contracts.values import ConsentPurpose, Language
from vrac_runtime.service import ServiceRuntime
from vrac_screening.bootstrap import mongo_deps
from vrac_screening.entrypoints.subscribers import Subscribers
from vrac_screening.handlers import Deps
from vrac_testing.keys import MemoryKeys
from vrac_testing.subscribing import InMemoryDelivery
from vrac_testing.subscribing import subscribed as in_memory_runtime

pytestmark = pytest.mark.integration

CASE = "case_screeningsubs001"
BASE = {"case_id": CASE, "pilot": "leiden", "occurred_at": "2025-03-14T09:30:00Z"}
DIPLOMA = consent_key(ConsentPurpose.DIPLOMA)
InMemory = InMemoryDelivery[Deps]


@pytest.fixture
def keys() -> MemoryKeys:
    return MemoryKeys("intake")


@pytest.fixture
async def subscribed(make_settings, keys: MemoryKeys) -> AsyncIterator[InMemory]:
    def wired(runtime: ServiceRuntime) -> Deps:
        deps = mongo_deps(runtime.db, keys)
        Subscribers(deps).register(runtime)
        return deps

    # one attempt: a handler that fails is dead-lettered at once, no waiting for retries
    settings = make_settings("screening", handler_max_attempts=1)
    async with in_memory_runtime(settings, wired) as delivery:
        yield delivery


def consent(purpose: str, granted: bool, changed_at: str) -> ConsentRecorded:
    return ConsentRecorded.model_validate(
        {
            **BASE,
            "purpose": purpose,
            "granted": granted,
            "changed_by": "guardian",
            "changed_at": changed_at,
        }
    )


async def family(keys: MemoryKeys, name: str = "Sam") -> FamilyRegisteredV2:
    child = ChildDetails(child_first_name=name, birth_year=2016)
    guardian = GuardianDetails(name="Fatima", phone="+31612345678")
    return FamilyRegisteredV2.model_validate(
        {
            **BASE,
            "language": "fr",
            "programme": "pit",
            "child": await keys.seal(CASE, CASE, child),
            "guardians": [
                {
                    "guardian_id": "gdn_a1b2c3d4e5f6",
                    "preferred_channel": "sms",
                    "language": "fr",
                    "details": await keys.seal(CASE, "gdn_a1b2c3d4e5f6", guardian),
                }
            ],
        }
    )


def findings(screening_id: str = "scr_subscribers0001") -> FindingsRecorded:
    return FindingsRecorded.model_validate(
        {
            **BASE,
            "screening_id": screening_id,
            "language": "nl",
            "strengths": ["curiosity"],
            "growth_areas": [],
            "advice": [{"code": "curious-questions-welcome", "audience": "school"}],
        }
    )


async def test_on_case_opened_makes_the_case_known_once(subscribed: InMemory) -> None:
    opened = CaseOpened.model_validate(
        {**BASE, "programme": "pit", "opened_at": BASE["occurred_at"]}
    )
    envelope = await subscribed.deliver(opened)
    await subscribed.deliver(opened, envelope)
    case = await subscribed.deps.cases.get(CASE)
    assert case is not None and case.opened and not case.closed and case.consents == {}


async def test_on_family_registered_keeps_the_name_and_language(
    subscribed: InMemory, keys: MemoryKeys
) -> None:
    await subscribed.deliver(await family(keys, "Inès"))
    case = await subscribed.deps.cases.get(CASE)
    assert case is not None and not case.opened
    assert (case.child_first_name, case.language) == ("Inès", Language.FR)


async def test_on_family_registered_after_intake_destroyed_the_key_keeps_no_name(
    subscribed: InMemory,
    keys: MemoryKeys,
) -> None:
    event = await family(keys, "Inès")
    await keys.destroy(CASE, CASE)
    await subscribed.deliver(event)
    case = await subscribed.deps.cases.get(CASE)
    assert case is None or (case.child_first_name, case.language) == (None, None)


async def test_on_consent_recorded_keeps_the_newest_decision(subscribed: InMemory) -> None:
    await subscribed.deliver(consent("diploma", True, "2025-03-15T10:00:00Z"))
    await subscribed.deliver(consent("diploma", False, "2025-03-17T10:00:00Z"))
    await subscribed.deliver(consent("diploma", True, "2025-03-16T10:00:00Z"))  # late, older
    case = await subscribed.deps.cases.get(CASE)
    assert case is not None and not case.consented(ConsentPurpose.DIPLOMA)
    assert case.consents[DIPLOMA].changed_at.isoformat().startswith("2025-03-17T10:00")


async def test_on_case_closed_closes_and_erasure_forgets_the_name(
    subscribed: InMemory, keys: MemoryKeys
) -> None:
    await subscribed.deliver(await family(keys, "Sam"))
    await subscribed.deliver(CaseClosed.model_validate({**BASE, "reason": "erasure-requested"}))
    await subscribed.deliver(await family(keys, "Sam"))  # a late copy
    case = await subscribed.deps.cases.get(CASE)
    assert case is not None and case.closed and case.erased
    assert case.child_first_name is None


async def test_on_findings_recorded_makes_one_diploma(
    subscribed: InMemory, keys: MemoryKeys
) -> None:
    await subscribed.deliver(consent("diploma", True, "2025-03-15T10:00:00Z"))
    await subscribed.deliver(await family(keys, "Sam"))
    envelope = await subscribed.deliver(findings())
    await subscribed.deliver(findings(), envelope)
    diplomas = await subscribed.deps.diplomas.of_case(CASE)
    assert [d.diploma_id for d in diplomas] == [derived_id("diploma", "scr_subscribers0001")]
    assert diplomas[0].language == Language.FR  # the family's, not the event's


async def test_on_findings_recorded_without_consent_makes_none(
    subscribed: InMemory, keys: MemoryKeys
) -> None:
    await subscribed.deliver(await family(keys, "Sam"))
    await subscribed.deliver(findings())
    assert await subscribed.deps.diplomas.of_case(CASE) == []


async def test_findings_before_the_family_make_no_diploma_yet(
    subscribed: InMemory, keys: MemoryKeys
) -> None:
    await subscribed.deliver(consent("diploma", True, "2025-03-15T10:00:00Z"))
    await subscribed.deliver(findings())
    assert await subscribed.deps.diplomas.of_case(CASE) == []
    await subscribed.deliver(await family(keys, "Sam"))
    await subscribed.deliver(findings("scr_subscribers0002"))
    diplomas = await subscribed.deps.diplomas.of_case(CASE)
    assert [d.screening_id for d in diplomas] == ["scr_subscribers0002"]
