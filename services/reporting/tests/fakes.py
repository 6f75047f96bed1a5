"""In-memory implementations of reporting's ports (fakes, not mocks), for the handler tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from vrac_contracts.envelope import Envelope, encode
from vrac_reporting.domain.consent import Contribution, consented_buckets
from vrac_reporting.domain.errors import HistoryMissing, RebuildRunning, Superseded
from vrac_reporting.domain.generations import (
    INITIAL_GENERATION,
    Gap,
    Generation,
    Position,
    ReadModelState,
    missing_history,
)
from vrac_reporting.domain.tally import Tally
from vrac_reporting.handlers import Deps, RebuildPolicy
from vrac_reporting.ports import Bucket

from services.reporting.tests.reporting_testkit import GRANT_MONTH


class FakeReadModels:
    """The read models in memory, with the same once-only semantics as the Mongo adapter."""

    def __init__(self) -> None:
        self.current = ReadModelState(Generation(INITIAL_GENERATION))
        # generation -> id (ce_id, or the replay's) -> contribution
        self.contributions: dict[str, dict[str, Contribution]] = {}
        self.statuses: dict[str, dict[str, Any]] = {INITIAL_GENERATION: {"status": "active"}}
        self.heartbeats: dict[str, datetime] = {}

    async def initialize(self) -> None:
        return None

    async def state(self) -> ReadModelState:
        return self.current

    async def count_once(self, generation: str, tally: Tally) -> bool:
        stored = self.contributions.setdefault(generation, {})
        if tally.event_id in stored:
            return False
        stored[tally.event_id] = contribution_of(tally)
        return True

    async def begin_build(
        self, generation: Generation, now: datetime, stale_before: datetime, force: bool
    ) -> None:
        building = self.current.building
        if building is not None:
            if not force and self.heartbeats[building.id] >= stale_before:
                raise RebuildRunning(building.id)
            self.statuses[building.id]["status"] = "superseded"
        self.current = ReadModelState(self.current.active, generation)
        self.heartbeats[generation.id] = now
        self.statuses[generation.id] = {"status": "building", "started_at": now}

    async def heartbeat(self, generation: str, now: datetime) -> None:
        if self.current.building is None or self.current.building.id != generation:
            raise Superseded(generation)
        self.heartbeats[generation] = now

    async def insert_tail(self, generation: str, tallies: Iterable[Tally]) -> set[str]:
        stored = self.contributions.setdefault(generation, {})
        known = {t.event_id for t in tallies if t.event_id in stored}
        stored.update((t.event_id, contribution_of(t)) for t in tallies if t.event_id not in known)
        return known

    async def add_contributions(
        self, generation: str, contributions: Iterable[Contribution]
    ) -> None:
        stored = self.contributions.setdefault(generation, {})
        for c in contributions:
            stored[f"replay|{c.case_id}|{c.pilot}|{c.month}"] = c

    async def activate(self, generation: str, now: datetime, stats: Mapping[str, Any]) -> None:
        building = self.current.building
        if building is None or building.id != generation:
            raise Superseded(generation)
        self.statuses[self.current.active.id]["status"] = "retired"
        self.current = ReadModelState(building)
        self.statuses[generation].update(status="active", finished_at=now, **stats)

    async def fail_build(
        self, generation: str, now: datetime, error: str, stats: Mapping[str, Any]
    ) -> None:
        if self.current.building is not None and self.current.building.id == generation:
            self.current = ReadModelState(self.current.active)
        self.statuses[generation].update(status="failed", error=error, **stats)

    async def refuse_build(
        self, generation: str, now: datetime, gaps: Sequence[Gap], stats: Mapping[str, Any]
    ) -> None:
        if self.current.building is not None and self.current.building.id == generation:
            self.current = ReadModelState(self.current.active)
        refused = self.statuses.setdefault(generation, {})
        refused.update(status="refused", missing=list(gaps), **stats)

    async def monthly_counts(self, generation: str, pilot: str | None) -> list[Bucket]:
        stored = self.contributions.get(generation, {}).values()
        return consented_buckets(c for c in stored if pilot is None or c.pilot == pilot)

    async def rebuild_status(self, generation: str) -> dict[str, Any] | None:
        found = self.statuses.get(generation)
        return None if found is None else {"generation": generation, **found}

    def figures(self, generation: str | None = None) -> dict[tuple[str, str], dict[str, int]]:
        """What reports would count, before suppression (consenting cases only), apart from
        the month the tests' reporting grants are dated in."""
        gen = generation or self.current.active.id
        stored = self.contributions.get(gen, {}).values()
        return {
            (pilot, month): counts
            for pilot, month, counts in consented_buckets(stored)
            if month != GRANT_MONTH
        }


def contribution_of(tally: Tally) -> Contribution:
    counts = {str(metric): 1 for metric in tally.metrics}
    return Contribution(
        tally.case_id, tally.pilot, tally.month, counts, tally.decision, tally.measure
    )


class FakeTopics:
    """Kafka partitions in memory: records appended in order, read back by offset; records
    before a partition's ``beginnings`` are gone (retention)."""

    def __init__(self) -> None:
        self.log: dict[tuple[str, int], list[Envelope[Any] | None]] = {}
        self.on_end_offsets: list[Callable[[], None]] = []
        self.committed: dict[tuple[str, int], int] = {}
        self.beginnings: dict[tuple[str, int], int] = {}

    def remove_before(self, position: Position) -> None:
        """What retention does: records before ``position`` are no longer on the topic."""
        self.beginnings[(position.topic, position.partition)] = position.offset

    def append(self, envelope: Envelope[Any] | None, partition: int = 0) -> Position:
        topic = encode(envelope).topic if envelope is not None else "vrac.public.bad.v1"
        records = self.log.setdefault((topic, partition), [])
        records.append(envelope)
        return Position(topic, partition, len(records) - 1)

    async def end_offsets(self) -> dict[tuple[str, int], int]:
        if self.on_end_offsets:  # something happens just before this capture
            self.on_end_offsets.pop(0)()
        return {part: len(records) for part, records in self.log.items()}

    async def beginning_offsets(self) -> dict[tuple[str, int], int]:
        return {part: self.beginnings.get(part, 0) for part in self.log}

    async def read(
        self, start: Mapping[tuple[str, int], int] | None, until: Mapping[tuple[str, int], int]
    ) -> AsyncIterator[list[tuple[Position, Envelope[Any] | None]]]:
        gaps = missing_history(start, until, await self.beginning_offsets())
        if gaps:
            raise HistoryMissing(gaps)
        for (topic, part), end in until.items():
            first = (start or {}).get((topic, part), 0)
            records = self.log.get((topic, part), [])[first:end]
            yield [
                (Position(topic, part, first + i), envelope) for i, envelope in enumerate(records)
            ]

    async def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.committed.update(offsets)

    async def __aenter__(self) -> FakeTopics:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


class FakeBackground:
    """Background work as tasks the test can wait for."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    def spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.create_task(work, name=name))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def finished(self) -> None:
        await asyncio.gather(*self.tasks)


def fake_deps(
    models: FakeReadModels,
    topics: FakeTopics | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    tail: int = 100,
    stale_seconds: float = 60,
) -> Deps:
    """Handler dependencies on the fakes: one set of topics serves every rebuild."""
    source = topics or FakeTopics()
    deps = Deps(
        models=models,
        replay_sources=lambda _generation: source,
        background=FakeBackground(),
        rebuilds=RebuildPolicy(dedupe_tail=tail, stale_seconds=stale_seconds),
    )
    return deps if clock is None else replace(deps, clock=clock)
