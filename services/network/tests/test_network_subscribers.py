"""Each subscriber with FastStream's in-memory Kafka and the real store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from vrac_contracts.consent import consent_key
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded
from vrac_contracts.values import ConsentPurpose
from vrac_network.adapters.store import NetworkStore
from vrac_network.entrypoints.subscribers import Subscribers
from vrac_network.handlers import Deps
from vrac_runtime.audit import ErasureTrail
from vrac_runtime.sealing import owner_keys
from vrac_runtime.service import ServiceRuntime
from vrac_testing.subscribing import InMemoryDelivery
from vrac_testing.subscribing import subscribed as in_memory_runtime

from services.network.tests.fakes import FakeLinks, fake_sign_link

pytestmark = pytest.mark.integration

CASE = "case_networksubs0001"
BASE = {"case_id": CASE, "pilot": "leiden", "occurred_at": "2025-03-14T09:30:00Z"}
AGENCY_KEY = consent_key(ConsentPurpose.SHARE_WITH_AGENCY, "agy_youthteam0001")
InMemory = InMemoryDelivery[NetworkStore]


def wired(runtime: ServiceRuntime) -> NetworkStore:
    store = NetworkStore(runtime.db)
    keys = owner_keys(runtime.db, runtime.settings)
    trail = ErasureTrail(runtime.db, "network", "/cases/{case_id}/plan")
    deps = Deps(store, store, keys, trail, FakeLinks(), fake_sign_link)
    Subscribers(deps).register(runtime)
    return store


@pytest.fixture
async def subscribed(make_settings) -> AsyncIterator[InMemory]:
    async with in_memory_runtime(make_settings("network"), wired) as delivery:
        yield delivery


def consent(granted: bool, changed_at: str) -> ConsentRecorded:
    return ConsentRecorded.model_validate(
        {
            **BASE,
            "purpose": "share-with-agency",
            "granted": granted,
            "agency_id": "agy_youthteam0001",
            "changed_by": "guardian",
            "changed_at": changed_at,
        }
    )


async def test_on_case_opened_makes_the_case_known_once(subscribed: InMemory) -> None:
    opened = CaseOpened.model_validate(
        {**BASE, "programme": "pit", "opened_at": "2025-03-14T09:00:00+01:00"}
    )
    envelope = await subscribed.deliver(opened)
    await subscribed.deliver(opened, envelope)
    case = await subscribed.deps.get_case(CASE)
    assert case is not None and case.opened and not case.closed
    assert case.pilot == "leiden" and case.members == []


async def test_on_case_closed_closes_even_a_case_not_yet_opened(subscribed: InMemory) -> None:
    await subscribed.deliver(CaseClosed.model_validate({**BASE, "reason": "moved-away"}))
    case = await subscribed.deps.get_case(CASE)
    assert case is not None and case.closed and not case.opened
    await subscribed.deliver(
        CaseOpened.model_validate({**BASE, "programme": "pit", "opened_at": BASE["occurred_at"]})
    )
    case = await subscribed.deps.get_case(CASE)
    assert case is not None and case.closed and case.opened


async def test_on_consent_recorded_keeps_the_newest_decision(subscribed: InMemory) -> None:
    await subscribed.deliver(consent(True, "2025-03-15T10:00:00Z"))
    case = await subscribed.deps.get_case(CASE)
    assert case is not None and case.agency_consent("agy_youthteam0001") is True
    await subscribed.deliver(consent(False, "2025-03-17T10:00:00Z"))
    await subscribed.deliver(consent(True, "2025-03-16T10:00:00Z"))  # older, arrives late
    case = await subscribed.deps.get_case(CASE)
    assert case is not None and case.agency_consent("agy_youthteam0001") is False
    assert case.consents[AGENCY_KEY].changed_at.isoformat().startswith("2025-03-17T10:00")


async def test_a_consent_for_another_purpose_is_kept_apart(subscribed: InMemory) -> None:
    school = ConsentRecorded.model_validate(
        {
            **BASE,
            "purpose": "share-with-school",
            "granted": True,
            "changed_by": "guardian",
            "changed_at": "2025-03-15T10:00:00Z",
        }
    )
    await subscribed.deliver(school)
    case = await subscribed.deps.get_case(CASE)
    assert case is not None
    assert case.consents[consent_key(ConsentPurpose.SHARE_WITH_SCHOOL)].granted is True
    assert case.agency_consent("agy_youthteam0001") is None
