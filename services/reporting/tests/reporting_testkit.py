"""Helpers of the reporting tests: events, publishing, tokens, a running app, a fake store.

A module of its own (with a name unique in the repository) because test modules cannot
import a conftest.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import Envelope, encode, new_envelope
from vrac_contracts.ids import new_id
from vrac_reporting.domain.generations import (
    INITIAL_GENERATION,
    Generation,
    Position,
    ReadModelState,
    RebuildRunning,
    Superseded,
)
from vrac_reporting.domain.tally import Tally
from vrac_reporting.ports import Bucket
from vrac_reporting.settings import ReportingSettings
from vrac_runtime.auth import issue_token
from vrac_testing.kafka import send_raw

TYPES = {
    "opened": "org.vrac.intake.case-opened.v1",
    "closed": "org.vrac.intake.case-closed.v1",
    "consent": "org.vrac.intake.consent-changed.v1",
    "screening": "org.vrac.screening.screening-completed.v1",
    "diploma": "org.vrac.screening.diploma-issued.v1",
    "questionnaire": "org.vrac.screening.questionnaire-submitted.v1",
    "assigned": "org.vrac.network.task-assigned.v1",
    "accepted": "org.vrac.network.task-accepted.v1",
    "declined": "org.vrac.network.task-declined.v1",
    "completed": "org.vrac.network.task-completed.v1",
    "overdue": "org.vrac.network.task-overdue.v1",
}


def event(kind: str, *, pilot: str = "leiden", at: str = "2025-03-14T09:30:00Z", **fields: Any):
    """A valid event of ``kind`` (see TYPES) in a case of its own, wrapped in an envelope."""
    spec = by_type(TYPES[kind])
    data = {**spec.example, "case_id": new_id("case"), "pilot": pilot, "occurred_at": at}
    return new_envelope(spec.model.model_validate({**data, **fields}))


async def publish(settings: ReportingSettings, *envelopes: Envelope[Any]) -> None:
    for envelope in envelopes:
        record = encode(envelope)
        await send_raw(
            settings.kafka_bootstrap_servers,
            settings.topic(record.topic),
            record.value,
            record.key,
            record.headers,
        )


def token(settings: ReportingSettings, role: str, pilot: str) -> dict[str, str]:
    value = issue_token(
        settings.jwt_secret.get_secret_value(), subject="tester", role=role, pilot=pilot
    )
    return {"Authorization": f"Bearer {value}"}


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (Kafka, store, consumers) and an HTTP client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as client:
            yield client


class FakeReadModels:
    """The read models in memory, with the same once-only semantics as the Mongo adapter."""

    def __init__(self) -> None:
        self.current = ReadModelState(Generation(INITIAL_GENERATION))
        self.counts: dict[str, dict[tuple[str, str], Counter[str]]] = {}
        self.facts: dict[str, set[str]] = {}
        self.statuses: dict[str, dict[str, Any]] = {INITIAL_GENERATION: {"status": "active"}}
        self.heartbeats: dict[str, datetime] = {}

    async def initialize(self) -> None:
        return None

    async def state(self) -> ReadModelState:
        return self.current

    async def count_once(self, generation: str, tally: Tally) -> bool:
        seen = self.facts.setdefault(generation, set())
        if tally.event_id in seen:
            return False
        seen.add(tally.event_id)
        bucket = self.counts.setdefault(generation, {}).setdefault(
            (tally.pilot, tally.month), Counter()
        )
        bucket.update(str(m) for m in tally.metrics)
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
        seen = self.facts.setdefault(generation, set())
        known = {t.event_id for t in tallies if t.event_id in seen}
        seen.update(t.event_id for t in tallies)
        return known

    async def add_counts(self, generation: str, buckets: Iterable[Bucket]) -> None:
        for pilot, month, values in buckets:
            gen = self.counts.setdefault(generation, {})
            gen.setdefault((pilot, month), Counter()).update(values)

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

    async def monthly_counts(self, generation: str, pilot: str | None) -> list[Bucket]:
        return [
            (p, m, dict(c))
            for (p, m), c in self.counts.get(generation, {}).items()
            if pilot is None or p == pilot
        ]

    async def rebuild_status(self, generation: str) -> dict[str, Any] | None:
        found = self.statuses.get(generation)
        return None if found is None else {"generation": generation, **found}

    def figures(self, generation: str | None = None) -> dict[tuple[str, str], dict[str, int]]:
        gen = generation or self.current.active.id
        return {key: {k: v for k, v in c.items() if v} for key, c in self.counts[gen].items()}


class FakeTopics:
    """Kafka partitions in memory: records appended in order, read back by offset."""

    def __init__(self) -> None:
        self.log: dict[tuple[str, int], list[Envelope[Any] | None]] = {}
        self.on_end_offsets: list[Callable[[], None]] = []
        self.committed: dict[tuple[str, int], int] = {}

    def append(self, envelope: Envelope[Any] | None, partition: int = 0) -> Position:
        topic = encode(envelope).topic if envelope is not None else "vrac.public.bad.v1"
        records = self.log.setdefault((topic, partition), [])
        records.append(envelope)
        return Position(topic, partition, len(records) - 1)

    async def end_offsets(self) -> dict[tuple[str, int], int]:
        if self.on_end_offsets:  # something happens just before this capture
            self.on_end_offsets.pop(0)()
        return {part: len(records) for part, records in self.log.items()}

    async def read(
        self, start: Mapping[tuple[str, int], int] | None, until: Mapping[tuple[str, int], int]
    ) -> AsyncIterator[list[tuple[Position, Envelope[Any] | None]]]:
        for (topic, part), end in until.items():
            first = (start or {}).get((topic, part), 0)
            records = self.log.get((topic, part), [])[first:end]
            yield [
                (Position(topic, part, first + i), envelope) for i, envelope in enumerate(records)
            ]

    async def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.committed.update(offsets)
