"""The Mongo read models against the real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from vrac_contracts.consent import ConsentState
from vrac_contracts.ids import new_id
from vrac_reporting.adapters.read_models import MongoReadModels
from vrac_reporting.domain.consent import Contribution
from vrac_reporting.domain.errors import RebuildRunning, Superseded
from vrac_reporting.domain.generations import Generation
from vrac_reporting.domain.tally import Tally, tally_of

from services.reporting.tests.reporting_testkit import (
    GRANT_MONTH,
    consenting_case,
    event,
    grants,
    reporting_consent,
)

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
TOPIC = "vrac.public.intake.case-opened.v1"


def opened(case_id: str | None = None) -> Tally:
    return tally_of_event(event("opened", case_id=case_id))


def tally_of_event(envelope) -> Tally:
    return tally_of(envelope.id, envelope.data)


async def counts(models: MongoReadModels, generation: str = "g0") -> dict:
    return {
        (p, m): c for p, m, c in await models.monthly_counts(generation, None) if m != GRANT_MONTH
    }


@pytest.fixture
async def models(mongo_db) -> MongoReadModels:
    store = MongoReadModels(mongo_db)
    await store.initialize()
    await store.initialize()  # a second start changes nothing
    await store.count_once("g0", tally_of_event(grants("leiden")[0]))
    return store


async def test_counting_an_event_twice_counts_it_once(models: MongoReadModels) -> None:
    first, second = opened(), opened()
    assert await models.count_once("g0", first)
    assert not await models.count_once("g0", first)
    assert await models.count_once("g0", second)
    assert await counts(models) == {("leiden", "2025-03"): {"cases_opened": 2}}


async def test_an_event_is_recognised_however_many_events_of_its_month_came_after(
    models: MongoReadModels,
) -> None:
    first = opened()
    assert await models.count_once("g0", first)
    for _ in range(450):
        await models.count_once("g0", opened())
    assert not await models.count_once("g0", first)
    assert await counts(models) == {("leiden", "2025-03"): {"cases_opened": 451}}


async def test_reports_count_only_cases_whose_newest_decision_grants_reporting(
    models: MongoReadModels,
) -> None:
    silent, withdrawn = new_id("case"), new_id("case")
    for case in (silent, withdrawn):
        await models.count_once("g0", opened(case))
    for decision in (
        reporting_consent(withdrawn, at="2025-01-01T08:00:00Z"),
        reporting_consent(withdrawn, granted=False, at="2025-02-01T08:00:00Z"),
    ):
        await models.count_once("g0", tally_of_event(decision))
    await models.count_once("g0", opened())  # Leiden's consenting case
    # neither the silent case nor the withdrawn one, nor the withdrawn one's decisions
    assert await counts(models) == {("leiden", "2025-03"): {"cases_opened": 1}}


async def test_one_rebuild_at_a_time_unless_the_first_went_silent(
    models: MongoReadModels,
) -> None:
    stale_before = NOW - timedelta(seconds=60)
    await models.begin_build(Generation("g1", {(TOPIC, 0): 3}), NOW, stale_before, False)
    with pytest.raises(RebuildRunning):
        await models.begin_build(Generation("g2"), NOW, stale_before, False)
    later = NOW + timedelta(seconds=120)
    await models.begin_build(Generation("g3"), later, later - timedelta(seconds=60), False)
    assert (await models.rebuild_status("g1"))["status"] == "superseded"
    with pytest.raises(Superseded):
        await models.heartbeat("g1", later)
    with pytest.raises(Superseded):
        await models.activate("g1", later, {})
    state = await models.state()
    assert state.building is not None and state.building.id == "g3"
    assert (await models.rebuild_status("g2")) is None


async def test_activating_switches_reports_and_the_next_rebuild_drops_the_old_ones(
    models: MongoReadModels, mongo_db
) -> None:
    await models.count_once("g0", opened())
    coverage = {(TOPIC, 0): 7, (TOPIC, 1): 2}
    await models.begin_build(Generation("g1", coverage), NOW, NOW, False)
    case = consenting_case("leiden")
    await models.add_contributions(
        "g1",
        [
            Contribution(case, "leiden", "2025-03", {"cases_opened": 3}),
            Contribution(case, "leiden", None, {}, ConsentState(True, NOW)),
        ],
    )
    assert await models.insert_tail("g1", [opened()]) == set()
    await models.activate("g1", NOW, {"events_read": 3})
    state = await models.state()
    assert state.active == Generation("g1", coverage) and state.building is None
    assert (await models.rebuild_status("g0"))["status"] == "retired"
    assert (await models.rebuild_status("g1"))["events_read"] == 3
    assert await counts(models, "g1") == {("leiden", "2025-03"): {"cases_opened": 4}}
    await models.begin_build(Generation("g2"), NOW, NOW, False)
    assert "contributions_g0" not in await mongo_db.list_collection_names()
    assert "contributions_g1" in await mongo_db.list_collection_names()


async def test_tail_ids_already_counted_live_are_reported(models: MongoReadModels) -> None:
    live, replayed = opened(), opened()
    assert await models.count_once("g0", live)
    assert await models.insert_tail("g0", [live, replayed]) == {live.event_id}
    assert not await models.count_once("g0", replayed)


async def test_a_failed_rebuild_is_recorded_and_frees_the_way(models: MongoReadModels) -> None:
    await models.begin_build(Generation("g1"), NOW, NOW, False)
    await models.fail_build("g1", NOW, "ReplayStalled", {"events_read": 10})
    status = await models.rebuild_status("g1")
    assert (status["status"], status["error"], status["events_read"]) == (
        "failed",
        "ReplayStalled",
        10,
    )
    assert (await models.state()).building is None
    await models.begin_build(Generation("g2"), NOW, NOW, False)
