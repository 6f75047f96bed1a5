"""The handlers on an in-memory store and in-memory topics: counting once, rebuilding."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from vrac_contracts.envelope import Envelope
from vrac_contracts.ids import new_id
from vrac_reporting.domain.errors import (
    HistoryMissing,
    RebuildRunning,
    UnknownPilot,
    UnknownRebuild,
)
from vrac_reporting.domain.generations import Gap, Position
from vrac_reporting.domain.report import MonthRange
from vrac_reporting.domain.tally import tally_of
from vrac_reporting.handlers import (
    begin_rebuild,
    complete_rebuild,
    count_event,
    get_rebuild,
    report_consortium,
    report_pilot,
    start_rebuild,
)

from services.reporting.tests.fakes import (
    FakeBackground,
    FakeReadModels,
    FakeTopics,
    contribution_of,
    fake_deps,
)
from services.reporting.tests.reporting_testkit import event, grants, reporting_consent

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


class Live:
    """The live consumer: reads the topics in order and counts each record it has not yet."""

    def __init__(self, models: FakeReadModels, topics: FakeTopics) -> None:
        self.models, self.topics = models, topics
        self.deps = fake_deps(models, topics)  # a view of the state of its own
        self.done: dict[tuple[str, int], int] = {}

    async def catch_up(self) -> None:
        for part, records in self.topics.log.items():
            for offset in range(self.done.get(part, 0), len(records)):
                envelope = records[offset]
                if envelope is not None:
                    await self.handle(envelope, Position(part[0], part[1], offset))
            self.done[part] = len(records)

    async def handle(self, envelope: Envelope[Any], position: Position | None) -> int:
        return await count_event(self.deps, envelope, position)


def consenting_topics() -> FakeTopics:
    """Topics that start with the reporting grant of every pilot's consenting case."""
    topics = FakeTopics()
    for grant in grants():
        topics.append(grant)
    return topics


async def rebuild(models: FakeReadModels, topics: FakeTopics, generation: str = "g1", **kw):
    deps = fake_deps(models, topics, clock=lambda: NOW, tail=kw.get("tail", 100))
    started = await begin_rebuild(deps, topics, generation)
    return await complete_rebuild(deps, topics, started)


def journey() -> list[Envelope[Any]]:
    return [
        *[event("opened") for _ in range(6)],
        *[event("assigned", assignee_kind="family") for _ in range(4)],
        event("assigned", assignee_kind="agency"),
        event("completed", at="2025-04-03T08:00:00Z"),
        event("opened", pilot="wattrelos"),
    ]


async def test_the_same_event_twice_counts_once(fake_models: FakeReadModels) -> None:
    live = Live(fake_models, consenting_topics())
    await live.catch_up()
    opened = event("opened")
    assert await live.handle(opened, None) == 1
    assert await live.handle(opened, None) == 0
    assert fake_models.figures() == {("leiden", "2025-03"): {"cases_opened": 1}}


async def test_a_rebuild_gives_the_same_numbers_as_the_live_path(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    events = journey()
    for envelope in [*events, events[0], events[3]]:  # two redelivered
        topics.append(envelope)
    topics.append(None)  # a record nobody can decode
    live = Live(fake_models, topics)
    await live.catch_up()
    before = fake_models.figures("g0")

    stats = await rebuild(fake_models, topics)

    assert fake_models.current.active.id == "g1"
    assert fake_models.figures("g1") == before
    assert before[("leiden", "2025-03")]["tasks_informal_network"] == 4
    assert (stats.events_read, stats.events_counted) == (22, 19)
    assert (stats.duplicates, stats.undecodable) == (2, 1)
    assert fake_models.statuses["g0"]["status"] == "retired"
    assert fake_models.statuses["g1"]["status"] == "active"


async def test_events_arriving_during_a_rebuild_are_counted_once_in_both_generations(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    for envelope in journey():
        topics.append(envelope)
    live = Live(fake_models, topics)
    await live.catch_up()
    generation = await begin_rebuild(
        fake_deps(fake_models, topics, clock=lambda: NOW), topics, "g1"
    )
    late = [event("closed") for _ in range(5)]
    for envelope in late:
        topics.append(envelope)
    await live.catch_up()  # the live consumer sees the generation being built
    await complete_rebuild(fake_deps(fake_models, topics, tail=100), topics, generation)
    assert fake_models.figures("g1") == fake_models.figures("g0")
    assert fake_models.figures("g1")[("leiden", "2025-03")]["cases_closed"] == 5


async def test_an_event_handled_while_the_rebuild_registered_is_not_lost(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    topics.append(event("opened"))
    live = Live(fake_models, topics)
    await live.catch_up()
    slipped = event("opened")

    def arrives_unseen() -> None:
        # a record arrives after the replay's coverage was captured and a live consumer
        # that read the state before the new generation existed counts it in g0 only
        position = topics.append(slipped)
        fake_models.contributions["g0"][slipped.id] = contribution_of(
            tally_of(slipped.id, slipped.data)
        )
        live.done[(position.topic, position.partition)] = position.offset + 1

    topics.on_end_offsets = [lambda: None, arrives_unseen]
    generation = await begin_rebuild(
        fake_deps(fake_models, topics, clock=lambda: NOW), topics, "g1"
    )
    stats = await complete_rebuild(fake_deps(fake_models, topics, tail=100), topics, generation)
    assert fake_models.figures("g1") == {("leiden", "2025-03"): {"cases_opened": 2}}
    assert stats.events_counted == 2 + len(grants())


async def test_after_the_switch_a_lagging_consumer_skips_what_the_replay_counted(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    positions = [topics.append(event("opened")) for _ in range(3)]
    await rebuild(fake_models, topics)  # the live consumer never ran
    live = Live(fake_models, topics)
    await live.catch_up()
    topics.append(event("opened"))
    await live.catch_up()
    assert fake_models.figures() == {("leiden", "2025-03"): {"cases_opened": 4}}
    # a covered record is skipped from the cached state, without reading the store
    reads = 0
    original = fake_models.state

    async def counting_state():
        nonlocal reads
        reads += 1
        return await original()

    fake_models.state = counting_state  # type: ignore[method-assign]
    assert await live.handle(topics.log[(positions[0].topic, 0)][0], positions[0]) == 0
    assert reads == 0


async def test_a_republished_copy_of_a_replayed_event_counts_once(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    original = event("opened")
    topics.append(original)
    await rebuild(fake_models, topics, tail=10)
    topics.append(original)  # the producer's relay published it again, at a later offset
    live = Live(fake_models, topics)
    await live.catch_up()
    assert fake_models.figures() == {("leiden", "2025-03"): {"cases_opened": 1}}


async def test_a_replayed_event_the_live_path_counted_meanwhile_counts_once(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    original = event("opened")
    topics.append(original)
    live = Live(fake_models, topics)
    await live.catch_up()
    generation = await begin_rebuild(
        fake_deps(fake_models, topics, clock=lambda: NOW), topics, "g1"
    )
    topics.append(original)  # re-published during the rebuild: the live path counts it in g1
    await live.catch_up()
    await complete_rebuild(fake_deps(fake_models, topics, tail=10), topics, generation)
    assert fake_models.figures("g1") == {("leiden", "2025-03"): {"cases_opened": 1}}


async def test_a_second_rebuild_waits_unless_the_first_is_stale_or_forced(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    deps = fake_deps(fake_models, topics, clock=lambda: NOW, stale_seconds=60)
    await begin_rebuild(deps, topics, "g1")
    with pytest.raises(RebuildRunning):
        await begin_rebuild(deps, topics, "g2")
    later = NOW + timedelta(seconds=61)
    await begin_rebuild(replace(deps, clock=lambda: later), topics, "g2")
    await begin_rebuild(replace(deps, clock=lambda: later), topics, "g3", force=True)
    assert fake_models.statuses["g1"]["status"] == "superseded"
    assert fake_models.statuses["g2"]["status"] == "superseded"
    assert fake_models.current.building is not None
    assert fake_models.current.building.id == "g3"


async def test_a_failed_rebuild_leaves_the_reports_on_the_old_generation(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    topics.append(event("opened"))
    await Live(fake_models, topics).catch_up()

    async def broken(*_: Any) -> None:
        raise ConnectionError("store went away")

    fake_models.add_contributions = broken  # type: ignore[method-assign]
    generation = await begin_rebuild(
        fake_deps(fake_models, topics, clock=lambda: NOW), topics, "g1"
    )
    with pytest.raises(ConnectionError):
        await complete_rebuild(fake_deps(fake_models, topics, tail=10), topics, generation)
    assert fake_models.current.active.id == "g0" and fake_models.current.building is None
    assert fake_models.statuses["g1"]["status"] == "failed"
    assert fake_models.statuses["g1"]["error"] == "ConnectionError"


async def test_a_rebuild_is_refused_when_the_topics_lost_their_first_records(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    first = topics.append(event("opened"))
    for _ in range(6):
        topics.append(event("opened"))
    await Live(fake_models, topics).catch_up()
    counted = fake_models.figures()
    topics.remove_before(Position(first.topic, 0, first.offset + 3))  # retention
    deps = fake_deps(fake_models, topics, clock=lambda: NOW)
    with pytest.raises(HistoryMissing) as refused:
        await begin_rebuild(deps, topics, "g1")
    gap = Gap(first.topic, 0, 0, first.offset + 3)
    assert refused.value.gaps == (gap,)
    assert f"{first.topic} partition 0 offsets 0-{first.offset + 2}" in str(refused.value)
    assert fake_models.current.active.id == "g0" and fake_models.current.building is None
    assert fake_models.figures() == counted == {("leiden", "2025-03"): {"cases_opened": 7}}
    status = await get_rebuild(deps, "g1")
    assert (status["status"], status["missing"]) == ("refused", [gap])


async def test_records_removed_during_a_replay_make_it_refuse_rather_than_switch(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    first = topics.append(event("opened"))
    topics.append(event("opened"))
    await Live(fake_models, topics).catch_up()
    deps = fake_deps(fake_models, topics, clock=lambda: NOW)
    generation = await begin_rebuild(deps, topics, "g1")
    topics.remove_before(Position(first.topic, 0, first.offset + 1))
    with pytest.raises(HistoryMissing):
        await complete_rebuild(deps, topics, generation)
    assert fake_models.current.active.id == "g0" and fake_models.current.building is None
    assert fake_models.statuses["g1"]["status"] == "refused"
    assert fake_models.figures() == {("leiden", "2025-03"): {"cases_opened": 2}}


async def test_reports_read_the_active_generation(fake_models: FakeReadModels) -> None:
    live = Live(fake_models, consenting_topics())
    await live.catch_up()
    for _ in range(5):
        await live.handle(event("opened", pilot="norwich"), None)
    deps = fake_deps(fake_models)
    pilot = await report_pilot(deps, "norwich", MonthRange(), lambda _: None)
    consortium = await report_consortium(deps, MonthRange())
    assert pilot.generation == "g0"
    march = [m.values["cases_opened"] for m in pilot.months if m.month == "2025-03"]
    assert march == [5]
    by_pilot = dict(consortium.months)["2025-03"]
    assert by_pilot["norwich"].values["cases_opened"] == 5


async def test_a_rebuild_cancelled_by_shutdown_is_marked_failed(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    topics.append(event("opened"))
    reading = asyncio.Event()

    async def endless(*_: Any):
        reading.set()
        await asyncio.Event().wait()
        yield []  # pragma: no cover - never reached

    topics.read = endless  # type: ignore[method-assign]
    generation = await begin_rebuild(
        fake_deps(fake_models, topics, clock=lambda: NOW), topics, "g1"
    )
    task = asyncio.create_task(
        complete_rebuild(fake_deps(fake_models, topics, tail=10), topics, generation)
    )
    await reading.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake_models.statuses["g1"]["status"] == "failed"
    assert fake_models.statuses["g1"]["error"] == "CancelledError"
    assert fake_models.current.active.id == "g0" and fake_models.current.building is None


async def test_an_unknown_pilot_or_rebuild_is_not_found(fake_models: FakeReadModels) -> None:
    deps = fake_deps(fake_models)
    refused: list[str] = []
    with pytest.raises(UnknownPilot):
        await report_pilot(deps, "atlantis", MonthRange(), refused.append)
    assert refused == []  # an unknown pilot is not found before anyone's rights are asked
    with pytest.raises(UnknownRebuild):
        await get_rebuild(deps, "g20250101000000abcd")


async def test_a_rebuild_started_in_the_background_becomes_active(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    await Live(fake_models, topics).catch_up()
    topics.append(event("opened"))
    deps = fake_deps(fake_models, topics, clock=lambda: NOW)
    generation = await start_rebuild(deps)
    assert generation.startswith("g20250314093000")
    assert (await get_rebuild(deps, generation))["status"] == "building"
    with pytest.raises(RebuildRunning):
        await start_rebuild(deps)
    assert isinstance(deps.background, FakeBackground)
    await deps.background.finished()
    assert (await get_rebuild(deps, generation))["status"] == "active"
    assert fake_models.figures() == {("leiden", "2025-03"): {"cases_opened": 1}}


# --- the reporting consent ------------------------------------------------------------------


async def test_a_case_without_reporting_consent_is_not_counted(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    silent, other_purposes = new_id("case"), new_id("case")
    topics.append(screening_consent(other_purposes))  # consent for screening, not reporting
    for case in (silent, other_purposes):
        for _ in range(5):
            topics.append(event("opened", case_id=case))
    topics.append(event("opened"))  # Leiden's consenting case
    await Live(fake_models, topics).catch_up()
    assert fake_models.figures() == {("leiden", "2025-03"): {"cases_opened": 1}}
    await rebuild(fake_models, topics)
    assert fake_models.figures("g1") == {("leiden", "2025-03"): {"cases_opened": 1}}


async def test_a_withdrawal_removes_the_case_from_every_month_and_stops_later_counts(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    case = new_id("case")
    topics.append(reporting_consent(case, at="2025-01-05T10:00:00Z"))
    for _ in range(5):
        topics.append(event("opened", case_id=case))
        topics.append(event("completed", case_id=case, at="2025-04-03T08:00:00Z"))
    live = Live(fake_models, topics)
    await live.catch_up()
    assert fake_models.figures() == {
        ("leiden", "2025-01"): {"consents_granted": 1},
        ("leiden", "2025-03"): {"cases_opened": 5},
        ("leiden", "2025-04"): {"tasks_completed": 5},
    }
    topics.append(reporting_consent(case, granted=False, at="2025-05-02T10:00:00Z"))
    topics.append(event("opened", case_id=case, at="2025-05-10T10:00:00Z"))
    # an older grant read late (topics are not ordered against each other) changes nothing
    topics.append(reporting_consent(case, at="2025-02-01T10:00:00Z"))
    await live.catch_up()
    assert fake_models.figures() == {}
    await rebuild(fake_models, topics)
    assert fake_models.figures("g1") == {}


async def test_a_grant_read_after_the_cases_events_counts_them(
    fake_models: FakeReadModels,
) -> None:
    topics = consenting_topics()
    case = new_id("case")
    for _ in range(6):
        topics.append(event("opened", case_id=case))
    live = Live(fake_models, topics)
    await live.catch_up()
    assert fake_models.figures() == {}
    # the grant was given before the events, but its topic is read later
    topics.append(reporting_consent(case, at="2025-02-20T10:00:00Z"))
    await live.catch_up()
    expected = {
        ("leiden", "2025-02"): {"consents_granted": 1},
        ("leiden", "2025-03"): {"cases_opened": 6},
    }
    assert fake_models.figures() == expected
    await rebuild(fake_models, topics)
    assert fake_models.figures("g1") == expected


def screening_consent(case_id: str) -> Envelope[Any]:
    return event(
        "consent",
        case_id=case_id,
        purpose="screening",
        granted=True,
        changed_at="2025-03-01T10:00:00Z",
    )
