"""Running a rebuild: once from the command line, or in the background of the service."""

from __future__ import annotations

import asyncio
import contextlib

from vrac_runtime.kafka import client_options
from vrac_runtime.logging import get_logger

from vrac_reporting.adapters.replay_source import KafkaReplaySource
from vrac_reporting.handlers import RebuildStats, begin_rebuild, complete_rebuild, new_rebuild_id
from vrac_reporting.ports import ReadModels
from vrac_reporting.settings import ReportingSettings

log = get_logger(__name__)


def replay_source(settings: ReportingSettings, generation: str) -> KafkaReplaySource:
    return KafkaReplaySource(
        client_options(settings),
        settings.public_topics(),
        settings.rebuild_group(generation),
        fetch_records=settings.rebuild_fetch_records,
    )


async def rebuild_now(
    settings: ReportingSettings, models: ReadModels, *, force: bool = False
) -> RebuildStats:
    """Replay every public topic into a fresh generation and switch reports to it."""
    generation_id = new_rebuild_id()
    async with replay_source(settings, generation_id) as source:
        generation = await begin_rebuild(
            models, source, generation_id, stale_after=settings.rebuild_stale_seconds, force=force
        )
        return await complete_rebuild(
            models,
            source,
            generation,
            tail=settings.rebuild_dedupe_tail,
            heartbeat_seconds=settings.rebuild_heartbeat_seconds,
        )


class BackgroundRebuilds:
    """Rebuilds started over HTTP: registered before the request returns, run in a task."""

    def __init__(self, settings: ReportingSettings, models: ReadModels) -> None:
        self._settings = settings
        self._models = models
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, *, force: bool = False) -> str:
        """Begin a rebuild; RebuildRunning when another one is alive."""
        generation_id = new_rebuild_id()
        stack = contextlib.AsyncExitStack()
        source = await stack.enter_async_context(replay_source(self._settings, generation_id))
        try:
            generation = await begin_rebuild(
                self._models,
                source,
                generation_id,
                stale_after=self._settings.rebuild_stale_seconds,
                force=force,
            )
        except BaseException:
            await stack.aclose()
            raise

        async def run() -> None:
            async with stack:
                try:
                    stats = await complete_rebuild(
                        self._models,
                        source,
                        generation,
                        tail=self._settings.rebuild_dedupe_tail,
                        heartbeat_seconds=self._settings.rebuild_heartbeat_seconds,
                    )
                except Exception as err:
                    log.error("rebuild failed", generation=generation_id, error=repr(err))
                else:
                    log.info("rebuild finished", **stats.as_dict())

        task = asyncio.create_task(run(), name=f"rebuild-{generation_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return generation_id

    async def stop(self) -> None:
        """Cancel running rebuilds (their generation is marked failed)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
