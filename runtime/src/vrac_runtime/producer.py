"""The relays' idempotent producer, replaced by a fresh one after a delivery failed.

An idempotent aiokafka producer (0.14) numbers each partition's batches when it first sends
them. When it gives a batch up (it expired while its partition had no leader, as happens while
a broker restarts), the numbers stay used, so the broker refuses every later batch of that
partition as out of order: without a new producer id nothing reaches that partition again, until
the process restarts. Kafka's Java client bumps its epoch in that case; aiokafka does not.

So a failed delivery marks the producer, and the next relay round starts on a new one (a new
producer id, sequences from zero). A renewal waits for the rounds already sending, so the records
of one partition are never split across two producers within a round: the relay keeps their
order. The old producer is stopped in the background; a record it still delivers late is a
duplicate with the same ``ce_id``, which consumers drop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.client import AIOKafkaClient

from vrac_runtime.errors import describe
from vrac_runtime.logging import get_logger

log = get_logger(__name__)

Headers = Sequence[tuple[str, bytes]]


class RenewingProducer:
    """An :class:`AIOKafkaProducer` made by ``make``, renewed between relay rounds after one
    of its deliveries failed. Publishers send inside :meth:`round`."""

    def __init__(self, make: Callable[[], AIOKafkaProducer]) -> None:
        self._make = make
        self._current = make()
        self._failed = False
        self._renewing = False
        self._open_rounds = 0
        self._changed = asyncio.Condition()
        self._retiring: set[asyncio.Task[None]] = set()
        self.renewals = 0

    @property
    def client(self) -> AIOKafkaClient:
        return self._current.client

    async def start(self) -> None:
        await self._current.start()

    async def stop(self) -> None:
        await self._current.stop()
        for task in list(self._retiring):
            task.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)

    async def send(
        self, topic: str, value: bytes, *, key: bytes, headers: Headers = ()
    ) -> asyncio.Future[Any]:
        """Hand one record to the producer; the returned future resolves on its delivery."""
        delivery: asyncio.Future[Any] = await self._current.send(
            topic, value=value, key=key, headers=list(headers)
        )
        delivery.add_done_callback(self._watch)
        return delivery

    def _watch(self, delivery: asyncio.Future[Any]) -> None:
        if not delivery.cancelled() and delivery.exception() is not None:
            self._failed = True

    @contextlib.asynccontextmanager
    async def round(self) -> AsyncIterator[None]:
        """One relay round's sends. A producer marked failed is renewed before the round,
        once no other round is sending."""
        async with self._changed:
            await self._changed.wait_for(lambda: not self._renewing)
            if self._failed:
                self._renewing = True
                try:
                    await self._changed.wait_for(lambda: self._open_rounds == 0)
                    await self._renew()
                finally:
                    self._renewing = False
                    self._changed.notify_all()
            self._open_rounds += 1
        try:
            yield
        finally:
            async with self._changed:
                self._open_rounds -= 1
                self._changed.notify_all()

    async def _renew(self) -> None:
        fresh = self._make()
        try:
            await fresh.start()
        except Exception as err:
            # Kafka away: go on with the old one, and try again before the next round
            log.warning("relay producer not renewed", error=describe(err))
            await fresh.stop()
            return
        old, self._current = self._current, fresh
        self._failed = False
        self.renewals += 1
        log.warning("relay producer renewed after a failed delivery")
        task = asyncio.create_task(old.stop())  # delivers or fails what it still holds
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
