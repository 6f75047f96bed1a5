"""One function per thing reporting does: count an event, rebuild, report.

Handlers know nothing of HTTP, Kafka or Mongo: they talk to the ports in ``deps``.
"""

from __future__ import annotations

import contextlib
import gc
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any, NoReturn

from vrac_contracts.envelope import Envelope
from vrac_contracts.values import Pilot
from vrac_runtime.logging import get_logger
from vrac_runtime.values import Clock, utc_now

from vrac_reporting.domain.errors import HistoryMissing, UnknownPilot, UnknownRebuild
from vrac_reporting.domain.generations import (
    Gap,
    Generation,
    Position,
    ReadModelState,
    missing_history,
    new_generation_id,
)
from vrac_reporting.domain.replay import ReplayTally
from vrac_reporting.domain.report import (
    ConsortiumReport,
    MonthRange,
    PilotReport,
    Suppression,
    consortium_report,
    pilot_report,
)
from vrac_reporting.domain.tally import tally_of
from vrac_reporting.ports import Background, ReadModels, ReplaySource, ReplaySources

Authorize = Callable[[str], None]
PILOTS = frozenset(p.value for p in Pilot)
log = get_logger(__name__)


def _salt() -> str:
    return uuid.uuid4().hex


@dataclass
class StateView:
    """The read-model state this process saw last.

    Used only to skip records every generation already covers: a state read later can only
    have coverage captured later, which covers such a record too. Anything else reads the
    state afresh, so a rebuild that just started is never missed.
    """

    last: ReadModelState | None = None


@dataclass(frozen=True)
class RebuildPolicy:
    """How a rebuild runs (see the settings of the same names)."""

    dedupe_tail: int = 1000
    heartbeat_seconds: float = 5.0
    stale_seconds: float = 120.0


@dataclass
class Deps:
    models: ReadModels
    replay_sources: ReplaySources
    background: Background
    suppression: Suppression = field(default_factory=Suppression)
    rebuilds: RebuildPolicy = field(default_factory=RebuildPolicy)
    view: StateView = field(default_factory=StateView)
    clock: Clock = utc_now
    mint: Callable[[], str] = _salt  # the unique part of a generation id


# --- live events -------------------------------------------------------------------------


async def count_event(deps: Deps, event: Envelope[Any], position: Position | None) -> int:
    """Count a live event in every generation that has not counted it; returns how many.

    ``position`` is where the record sits in Kafka: a generation whose replay read past it
    has counted it already."""
    view = deps.view
    if view.last is not None and not view.last.targets(position):
        return 0
    state = view.last = await deps.models.state()
    tally = tally_of(event.id, event.data)
    counted = 0
    for generation in state.targets(position):
        if await deps.models.count_once(generation.id, tally):
            counted += 1
    return counted


# --- rebuild -------------------------------------------------------------------------------


@dataclass
class RebuildStats:
    generation: str
    events_read: int = 0
    events_counted: int = 0
    duplicates: int = 0
    undecodable: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"rebuilt read models into generation {self.generation}: read {self.events_read} "
            f"events ({self.events_counted} counted, {self.duplicates} duplicates, "
            f"{self.undecodable} undecodable) in {self.seconds:.1f} s"
        )


async def rebuild(deps: Deps, *, force: bool = False) -> RebuildStats:
    """Replay every public topic into a fresh generation and switch reports to it."""
    generation_id = _new_generation_id(deps)
    async with deps.replay_sources(generation_id) as source:
        generation = await begin_rebuild(deps, source, generation_id, force=force)
        return await complete_rebuild(deps, source, generation)


async def start_rebuild(deps: Deps, *, force: bool = False) -> str:
    """Register a rebuild now and run it in the background; returns its generation id.

    RebuildRunning when another rebuild is alive (and not ``force``)."""
    generation_id = _new_generation_id(deps)
    stack = contextlib.AsyncExitStack()
    source = await stack.enter_async_context(deps.replay_sources(generation_id))
    try:
        generation = await begin_rebuild(deps, source, generation_id, force=force)
    except BaseException:
        await stack.aclose()
        raise

    async def run() -> None:
        async with stack:
            try:
                stats = await complete_rebuild(deps, source, generation)
            except HistoryMissing:
                pass  # logged and recorded in its status when it was refused
            except Exception as err:
                log.error("rebuild failed", generation=generation_id, error=repr(err))
            else:
                log.info("rebuild finished", **stats.as_dict())

    deps.background.spawn(f"rebuild-{generation_id}", run())
    return generation_id


async def get_rebuild(deps: Deps, generation: str) -> dict[str, Any]:
    """Progress and statistics of a rebuild."""
    found = await deps.models.rebuild_status(generation)
    if found is None:
        raise UnknownRebuild("no such rebuild")
    return found


def _new_generation_id(deps: Deps) -> str:
    return new_generation_id(deps.clock(), deps.mint())


async def begin_rebuild(
    deps: Deps, source: ReplaySource, generation_id: str, *, force: bool = False
) -> Generation:
    """Register a fresh generation covering everything the topics hold right now.

    From here on the live path counts every later event into it as well. Refused, with
    ``HistoryMissing``, when the topics no longer begin at offset 0: a replay would publish
    a shorter history than the one reports show now.
    """
    coverage = await source.end_offsets()
    gaps = missing_history(None, coverage, await source.beginning_offsets())
    if gaps:
        await _refuse(deps, generation_id, gaps, RebuildStats(generation_id))
    generation = Generation(generation_id, coverage)
    now = deps.clock()
    stale_before = now - timedelta(seconds=deps.rebuilds.stale_seconds)
    await deps.models.begin_build(generation, now, stale_before, force)
    return generation


async def complete_rebuild(
    deps: Deps, source: ReplaySource, generation: Generation
) -> RebuildStats:
    """Replay the topics into the generation, then make it the one reports read."""
    models, clock = deps.models, deps.clock
    started = time.monotonic()
    stats = RebuildStats(generation.id)
    try:
        # Records that arrived while the generation was being registered may have been
        # handled by a live consumer that did not see it yet: they take the exact path below.
        registered = await source.end_offsets()
        tally = await _replay(deps, source, generation)
        tail = tally.tail()
        known = await models.insert_tail(generation.id, tail)
        tally.set_aside(tail, known)
        await models.add_contributions(generation.id, tally.contributions())
        stats.events_read, stats.duplicates = tally.read, tally.duplicates
        stats.events_counted, stats.undecodable = tally.counted, tally.undecodable
        await _count_stragglers(models, source, generation, registered, tally, stats)
        await source.commit({**generation.coverage, **registered})
        stats.seconds = round(time.monotonic() - started, 3)
        await models.activate(generation.id, clock(), stats.as_dict())
    except HistoryMissing as err:
        stats.seconds = round(time.monotonic() - started, 3)
        await _refuse(deps, generation.id, err.gaps, stats)
    except BaseException as err:
        stats.seconds = round(time.monotonic() - started, 3)
        try:
            await models.fail_build(generation.id, clock(), type(err).__name__, stats.as_dict())
        except Exception as also:
            # The registration then goes stale and the next rebuild replaces it.
            log.error("could not record the failed rebuild", error_type=type(also).__name__)
        raise
    return stats


async def _refuse(
    deps: Deps, generation: str, gaps: Sequence[Gap], stats: RebuildStats
) -> NoReturn:
    """Leave the read models as they are, record why in the rebuild's status, say so."""
    refusal = HistoryMissing(gaps, generation)
    log.error(
        "rebuild refused: history missing on the topics",
        generation=generation,
        missing_records=sum(gap.records for gap in gaps),
        missing=[str(gap) for gap in gaps],
    )
    await deps.models.refuse_build(generation, deps.clock(), gaps, stats.as_dict())
    raise refusal


async def _replay(deps: Deps, source: ReplaySource, generation: Generation) -> ReplayTally:
    heartbeat_seconds = deps.rebuilds.heartbeat_seconds
    tally = ReplayTally(deps.rebuilds.dedupe_tail)
    beat = time.monotonic()
    with _collector_paused():
        async for chunk in source.read(None, generation.coverage):
            for position, envelope in chunk:
                if envelope is None:
                    tally.skip_undecodable()
                else:
                    tally.add(tally_of(envelope.id, envelope.data), position)
            if time.monotonic() - beat >= heartbeat_seconds:
                await deps.models.heartbeat(generation.id, deps.clock())
                beat = time.monotonic()
    return tally


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while replaying.

    The replay allocates millions of short-lived objects next to an ever larger set of event
    ids, and every full collection walks that set: measured on a million events, collection
    took almost half the replay's time. Nothing the replay makes forms reference cycles.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _count_stragglers(
    models: ReadModels,
    source: ReplaySource,
    generation: Generation,
    registered: dict[tuple[str, int], int],
    tally: ReplayTally,
    stats: RebuildStats,
) -> None:
    async for chunk in source.read(generation.coverage, registered):
        for _, envelope in chunk:
            stats.events_read += 1
            if envelope is None:
                stats.undecodable += 1
            elif tally.has_seen(envelope.id):
                stats.duplicates += 1
            elif await models.count_once(generation.id, tally_of(envelope.id, envelope.data)):
                stats.events_counted += 1
            else:
                stats.duplicates += 1


# --- reports -------------------------------------------------------------------------------


async def report_pilot(
    deps: Deps, pilot: str, months: MonthRange, authorize: Authorize
) -> PilotReport:
    """The monthly figures of one pilot; ``authorize`` refuses a pilot the caller may not see."""
    if pilot not in PILOTS:
        raise UnknownPilot("no such pilot")
    authorize(pilot)
    generation = (await deps.models.state()).active.id
    buckets = await deps.models.monthly_counts(generation, pilot)
    rows = [(month, counts) for _, month, counts in buckets]
    return pilot_report(pilot, generation, rows, deps.suppression, months)


async def report_consortium(deps: Deps, months: MonthRange) -> ConsortiumReport:
    """Every pilot's monthly figures side by side."""
    generation = (await deps.models.state()).active.id
    buckets = await deps.models.monthly_counts(generation, None)
    return consortium_report(generation, buckets, deps.suppression, months)
