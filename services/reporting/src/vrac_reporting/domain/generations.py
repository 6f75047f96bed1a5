"""Generations of the read models, and which events each one still has to count.

A rebuild replays the topics into a fresh generation while the live consumer keeps the
current one up to date. The replay reads every partition up to the end offsets it captured
when it started (its *coverage*); every event at or beyond those offsets is counted by the
live path, in the active generation and in the one being built. So each event reaches each
generation through exactly one of the two paths, and a switch loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

INITIAL_GENERATION = "g0"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record sits in Kafka: physical topic name, partition, offset."""

    topic: str
    partition: int
    offset: int


Offsets = Mapping[tuple[str, int], int]


@dataclass(frozen=True)
class Generation:
    """One set of read-model collections; ``coverage`` holds the replay's end offsets."""

    id: str
    coverage: Offsets = field(default_factory=lambda: MappingProxyType({}))

    def covers(self, position: Position | None) -> bool:
        """True when the replay that built this generation already counted the record."""
        if position is None:
            return False
        end = self.coverage.get((position.topic, position.partition))
        return end is not None and position.offset < end


@dataclass(frozen=True)
class ReadModelState:
    """The generation reports read, and the one a rebuild is filling, if any."""

    active: Generation
    building: Generation | None = None

    def targets(self, position: Position | None) -> tuple[Generation, ...]:
        """The generations a live event at ``position`` must still be counted in."""
        generations = (self.active,) if self.building is None else (self.active, self.building)
        return tuple(g for g in generations if not g.covers(position))


def new_generation_id(now: datetime, salt: str) -> str:
    """Sortable by start time, unique by ``salt``: ``g20250314093000a1b2``."""
    return f"g{now.astimezone(UTC):%Y%m%d%H%M%S}{salt[:4]}"


@dataclass(frozen=True, slots=True)
class Gap:
    """Records a replay needs that the topic no longer holds: offsets ``first`` up to, not
    including, ``end`` (removed by retention, or by an operator deleting records)."""

    topic: str
    partition: int
    first: int
    end: int

    @property
    def records(self) -> int:
        return self.end - self.first

    def __str__(self) -> str:
        return f"{self.topic} partition {self.partition} offsets {self.first}-{self.end - 1}"


def missing_history(start: Offsets | None, until: Offsets, beginnings: Offsets) -> list[Gap]:
    """The records from ``start`` (default: offset 0) up to ``until`` that the topics no longer
    begin early enough to hold, given each partition's first offset (``beginnings``)."""
    gaps = []
    for (topic, partition), end in sorted(until.items()):
        first = (start or {}).get((topic, partition), 0)
        begins = beginnings.get((topic, partition), 0)
        if first < end and begins > first:
            gaps.append(Gap(topic, partition, first, min(begins, end)))
    return gaps
