"""The background job that sends what the stored schedule says is due.

Each due delivery is attempted in its own task, so a slow or failing recipient holds up
nobody else; at most ``capacity`` run at once. Handlers wake it when they schedule something,
so a first send does not wait for the next scan.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from vrac_runtime.logging import get_logger
from vrac_runtime.tasks import cancel_all

from vrac_notifications import handlers
from vrac_notifications.handlers import Deps

log = get_logger(__name__)
_LATE = 0.05  # seconds added to a hold, for clock granularity


class DeliveryScheduler:
    def __init__(self, poll_seconds: float, *, capacity: int = 32, drain_seconds: float = 5):
        self._poll = poll_seconds
        self._capacity = capacity
        self._drain = drain_seconds
        self._woken = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._told: set[str] = set()  # due now, said a handler: start them without a scan

    def wake(self, delivery_ids: Iterable[str] = (), after: float = 0.0) -> None:
        """Start these deliveries now, or ``after`` seconds (when their hold ends)."""
        if after > 0:
            ids = list(delivery_ids)
            # a little late rather than early: an attempt before it is due does nothing
            asyncio.get_running_loop().call_later(after + _LATE, self.wake, ids)
            return
        self._told.update(delivery_ids)
        self._woken.set()

    async def tick(self, deps: Deps) -> None:
        """One round of the job: wait for a wake-up or the poll interval, then start what is
        due (the runtime runs it again and again)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll):
                await self._woken.wait()
        self._woken.clear()
        told, self._told = self._told, set()
        if told:
            self._start_all(deps, told)  # the next scan finds any left over
        else:
            await self.start_due(deps)

    async def start_due(self, deps: Deps) -> None:
        free = self._capacity - len(self._running)
        if free <= 0 or self._stopping:
            return
        # those running here are claimed, so not due; ask for a few more in case
        self._start_all(deps, await handlers.due_deliveries(deps, free + len(self._running)))

    def _start_all(self, deps: Deps, delivery_ids: Iterable[str]) -> None:
        for delivery_id in delivery_ids:
            if len(self._running) >= self._capacity or self._stopping:
                break
            if delivery_id not in self._running:
                self._start(deps, delivery_id)

    def _start(self, deps: Deps, delivery_id: str) -> None:
        task = asyncio.create_task(handlers.attempt_delivery(deps, delivery_id))
        self._running[delivery_id] = task
        task.add_done_callback(lambda done: self._done(delivery_id, done))

    def _done(self, delivery_id: str, task: asyncio.Task[None]) -> None:
        self._running.pop(delivery_id, None)
        if not task.cancelled() and task.exception() is not None:
            error = type(task.exception()).__name__
            log.warning("delivery attempt failed", delivery_id=delivery_id, error=error)
        self.wake()  # a place is free: more may be waiting

    async def stop(self, _: Deps) -> None:
        """At shutdown: let running sends end for a moment, then cancel the rest (their
        claims expire and another replica, or the next start, takes them over)."""
        self._stopping = True
        running = list(self._running.values())
        if not running:
            return
        pending = (await asyncio.wait(running, timeout=self._drain))[1]
        await cancel_all(list(pending))
