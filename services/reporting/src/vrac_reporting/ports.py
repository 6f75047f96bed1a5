"""What the handlers need from the outside world: Mongo and Kafka adapters, or test fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from vrac_contracts.envelope import Envelope

from vrac_reporting.domain.consent import Contribution
from vrac_reporting.domain.generations import (
    Gap,
    Generation,
    Offsets,
    Position,
    ReadModelState,
)
from vrac_reporting.domain.tally import Tally

# (pilot, month, {metric: count})
Bucket = tuple[str, str, Mapping[str, int]]
# a replayed record: where it was, and its event (None when it could not be decoded)
Replayed = tuple[Position, Envelope[Any] | None]


class ReadModels(Protocol):
    """Per generation, every case's contributions (each event's id counted once), and the
    read-model state."""

    async def initialize(self) -> None: ...

    async def state(self) -> ReadModelState: ...

    async def count_once(self, generation: str, tally: Tally) -> bool:
        """Record the event's contribution in the generation unless its id is there already;
        one single-document write, so a crash leaves it either recorded or not."""
        ...

    async def begin_build(
        self, generation: Generation, now: datetime, stale_before: datetime, force: bool
    ) -> None: ...

    async def heartbeat(self, generation: str, now: datetime) -> None: ...

    async def insert_tail(self, generation: str, tallies: Iterable[Tally]) -> set[str]:
        """Record replayed events one by one; returns the ids that were there already."""
        ...

    async def add_contributions(
        self, generation: str, contributions: Iterable[Contribution]
    ) -> None: ...

    async def activate(self, generation: str, now: datetime, stats: Mapping[str, Any]) -> None: ...

    async def fail_build(
        self, generation: str, now: datetime, error: str, stats: Mapping[str, Any]
    ) -> None: ...

    async def refuse_build(
        self, generation: str, now: datetime, gaps: Sequence[Gap], stats: Mapping[str, Any]
    ) -> None:
        """Record the rebuild as ``refused`` with the records it misses; reports stay on
        the active generation."""
        ...

    async def monthly_counts(self, generation: str, pilot: str | None) -> list[Bucket]:
        """The counts per pilot-month of the cases whose parents consent to reporting."""
        ...

    async def rebuild_status(self, generation: str) -> dict[str, Any] | None: ...


class ReplaySource(Protocol):
    """The public topics of one rebuild, read from the earliest offset."""

    async def end_offsets(self) -> dict[tuple[str, int], int]: ...

    async def beginning_offsets(self) -> dict[tuple[str, int], int]:
        """The first offset each partition still holds (0 until records were removed)."""
        ...

    def read(self, start: Offsets | None, until: Offsets) -> AsyncIterator[list[Replayed]]:
        """Records from ``start`` (default: offset 0) up to, not including, ``until``;
        ``HistoryMissing`` when some of them are no longer on the topics."""
        ...

    async def commit(self, offsets: Offsets) -> None: ...


class ReplaySources(Protocol):
    def __call__(self, generation: str, /) -> AbstractAsyncContextManager[ReplaySource]:
        """A replay source of its own for the rebuild filling ``generation``, open within."""
        ...


class Background(Protocol):
    """Work that outlives the request that started it (a rebuild over HTTP)."""

    def spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None: ...

    async def stop(self) -> None:
        """Cancel what still runs and wait for it to end."""
        ...
