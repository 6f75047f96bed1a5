"""Keyed concurrency for one consumer group: records of different keys are handled at once,
records of one key one after another, in the order they were fetched.

The Kafka key is the case id, so this is "cases in parallel, each case in order". A key's
records wait in its own queue while one of them is handled (retried, dead-lettered), so a
failing case holds back only itself. At most ``limit`` records are in flight (fetched and not
yet finished, whether waiting behind their key or being handled); the fetcher waits for room.

Offsets: per partition, only the offset below which every record is finished is committed
(:class:`Ledger`), so a crash re-reads whatever was not finished, and records finished above
it are read and handled again (consumers are idempotent). Commits of many records are joined
into one request (:class:`Commits`).

Rebalances: when partitions are revoked the waiting records of those partitions are dropped
(the next owner reads them from the committed offset) and the revocation waits for the ones
being handled, so a case is never in two members' hands. Shutdown: no new record starts, the
running ones are waited for by the subscription (within the grace period) and the rest are
cancelled, uncommitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from vrac_runtime.errors import describe
from vrac_runtime.logging import get_logger

log = get_logger(__name__)

_POLL_CHUNK = 1.0  # longest single poll while the fetcher waits for room (bounds a cancel)


class Ledger:
    """The records of one partition taken in one assignment, and the commit position: the
    offset below which every one of them is finished."""

    def __init__(self) -> None:
        self._taken: deque[int] = deque()  # in offset order, finished or not
        self._finished: set[int] = set()
        self._after_last: int | None = None
        self.retired = False  # revoked: its records' outcomes commit nothing any more

    def take(self, offset: int) -> None:
        self._taken.append(offset)
        self._after_last = offset + 1

    def finish(self, offset: int) -> int | None:
        """Mark ``offset`` finished; the new commit position if it moved, else None."""
        before = self.position
        self._finished.add(offset)
        while self._taken and self._taken[0] in self._finished:
            self._finished.discard(self._taken.popleft())
        after = self.position
        return after if after != before else None

    @property
    def position(self) -> int | None:
        """The lowest unfinished offset, or one past the last taken record (None: none taken)."""
        return self._taken[0] if self._taken else self._after_last

    @property
    def lowest_unfinished(self) -> int | None:
        return self._taken[0] if self._taken else None


class Live(Protocol):
    """What the flow needs of the running subscription that fetches for it."""

    @property
    def consumer(self) -> AIOKafkaConsumer | None: ...

    @property
    def running(self) -> bool: ...

    def holding(self) -> contextlib.AbstractContextManager[Any]:
        """Held while a key's records are in hand: a stopping subscription waits for it."""
        ...


@dataclasses.dataclass(eq=False)
class _Entry:
    record: ConsumerRecord[Any, Any]
    partition: TopicPartition
    ledger: Ledger


class Commits:
    """Commits positions, one request at a time: positions asked for while a request is on its
    way go together in the next one."""

    def __init__(self, group: str) -> None:
        self._group = group
        self._wanted: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._lock = asyncio.Lock()

    async def commit(self, consumer: AIOKafkaConsumer, partition: TopicPartition, at: int) -> None:
        """Returns once ``at`` (or more) is committed for ``partition``, or the attempt failed
        (logged: the records are then read again by the partition's next owner)."""
        self._wanted[partition] = max(at, self._wanted.get(partition, at))
        async with self._lock:
            if self._committed.get(partition, -1) >= at:
                return  # a request sent while this one waited carried it
            batch, self._wanted = self._wanted, {}
            if not batch:
                return
            try:
                await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in batch.items()})
            except Exception as err:
                for tp, offset in sorted(batch.items()):
                    log.error(
                        "offset commit failed",
                        group=self._group,
                        topic=tp.topic,
                        partition=tp.partition,
                        offset=offset,
                        error=describe(err),
                    )
                return
            for tp, offset in batch.items():
                self._committed[tp] = max(offset, self._committed.get(tp, offset))

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """The partitions were revoked: a later owner may start them lower again."""
        for tp in partitions:
            self._committed.pop(tp, None)
            self._wanted.pop(tp, None)


class KeyedFlow:
    """Takes fetched records and handles them with keyed concurrency (see the module)."""

    def __init__(
        self,
        handle: Callable[[ConsumerRecord[Any, Any]], Awaitable[None]],
        *,
        group: str,
        limit: int,
        keepalive_seconds: float,
        revoke_wait_seconds: float,
        settle_backoff_seconds: float,
    ) -> None:
        self._handle = handle
        self._group = group
        self._limit = limit
        self._keepalive = keepalive_seconds
        self._revoke_wait = revoke_wait_seconds
        self._settle_backoff = settle_backoff_seconds
        self._live: Live | None = None
        self._commits = Commits(group)
        self._assigned: set[TopicPartition] = set()
        self._ledgers: dict[TopicPartition, Ledger] = {}
        # per partition, the next offset to take: records below it were taken already
        # (a batch fetched before a rebalance may still be handed over after it)
        self._next: dict[TopicPartition, int] = {}
        self._waiting: dict[Any, deque[_Entry]] = {}  # key -> its records not yet started
        self._running: dict[_Entry, asyncio.Future[None]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._room = asyncio.Event()
        self._room.set()
        self.started_at: float | None = None  # monotonic time since which records are in flight

    @property
    def in_flight(self) -> int:
        """Records taken and not yet finished (waiting behind their key or being handled)."""
        return self._in_flight

    def lowest_unfinished(self, partition: TopicPartition) -> int | None:
        ledger = self._ledgers.get(partition)
        return None if ledger is None else ledger.lowest_unfinished

    def bind(self, live: Live) -> None:
        self._live = live

    async def take(self, records: Iterable[ConsumerRecord[Any, Any]]) -> None:
        """Take fetched records (in fetch order), waiting for room when ``limit`` are in flight."""
        for record in records:
            await self._wait_for_room()
            live = self._live
            if live is None or not live.running:
                return
            self._take(record)

    def _take(self, record: ConsumerRecord[Any, Any]) -> None:
        tp = TopicPartition(record.topic, record.partition)
        if tp not in self._assigned:
            return  # fetched before the partition was revoked: its next owner reads it
        expected = self._next.get(tp)
        if expected is not None and record.offset < expected:
            return  # taken already (a batch fetched before a rebalance that kept it here)
        self._next[tp] = record.offset + 1
        ledger = self._ledgers.setdefault(tp, Ledger())
        ledger.take(record.offset)
        self._add(1)
        # a record without a key keeps its partition's order
        key = record.key if record.key is not None else tp
        entry = _Entry(record, tp, ledger)
        queue = self._waiting.get(key)
        if queue is not None:
            queue.append(entry)
            return
        self._waiting[key] = deque([entry])
        worker = asyncio.create_task(self._work(key))
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def _work(self, key: Any) -> None:
        """Handle one key's records in order until none waits."""
        live = self._live
        assert live is not None
        queue = self._waiting[key]
        try:
            with live.holding():
                while queue and live.running:
                    await self._one(queue.popleft())
        finally:
            # stopped (or cancelled): what still waits is dropped, uncommitted
            self._add(-len(queue))
            queue.clear()
            del self._waiting[key]

    async def _one(self, entry: _Entry) -> None:
        done = asyncio.get_running_loop().create_future()
        self._running[entry] = done
        try:
            if not await self._settle(entry.record):
                return  # stopping: left unfinished, read again by the next consumer
            position = None if entry.ledger.retired else entry.ledger.finish(entry.record.offset)
            live = self._live
            consumer = live.consumer if live is not None else None
            if position is not None and consumer is not None:
                await self._commits.commit(consumer, entry.partition, position)
        finally:
            del self._running[entry]
            done.set_result(None)
            self._add(-1)

    async def _settle(self, record: ConsumerRecord[Any, Any]) -> bool:
        """Handle the record until it is settled (handled or dead-lettered). A failure to
        settle it (the dead-letter publish refused) handles it again, as a re-read would;
        False when the subscription stops first."""
        live = self._live
        while True:
            try:
                await self._handle(record)
                return True
            except Exception as err:
                if live is None or not live.running:
                    return False
                log.error(
                    "record not settled, handling it again",
                    group=self._group,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    error=describe(err),
                )
                await asyncio.sleep(self._settle_backoff)

    def _add(self, count: int) -> None:
        if self._in_flight == 0 and count > 0:
            self.started_at = time.monotonic()
        self._in_flight += count
        if self._in_flight == 0:
            self.started_at = None
        if self._in_flight < self._limit:
            self._room.set()
        else:
            self._room.clear()

    async def _wait_for_room(self) -> None:
        """Wait while ``limit`` records are in flight. The fetcher does not poll meanwhile, so
        the wait polls with every partition paused now and then: the member stays in its
        group (a paused partition returns nothing and loses nothing)."""
        while not self._room.is_set():
            try:
                async with asyncio.timeout(self._keepalive):
                    await self._room.wait()
            except TimeoutError:
                live = self._live
                if live is not None and live.running and live.consumer is not None:
                    await _poll_paused(live.consumer)

    def assigned(self, partitions: Iterable[TopicPartition]) -> None:
        self._assigned |= set(partitions)

    async def revoke(self, partitions: Iterable[TopicPartition]) -> None:
        """Give partitions up: drop their waiting records, wait (bounded) for the ones being
        handled and their commits, then forget them."""
        revoked = set(partitions)
        self._assigned -= revoked
        for queue in self._waiting.values():
            kept = [entry for entry in queue if entry.partition not in revoked]
            self._add(len(kept) - len(queue))
            queue.clear()
            queue.extend(kept)
        handling = [done for e, done in self._running.items() if e.partition in revoked]
        if handling:
            _, late = await asyncio.wait(handling, timeout=self._revoke_wait)
            if late:
                log.error(
                    "record in flight outlived the rebalance", group=self._group, records=len(late)
                )
        for tp in revoked:
            ledger = self._ledgers.pop(tp, None)
            if ledger is None:
                continue
            ledger.retired = True
            if ledger.position is not None:
                # where the partition resumes if it comes back: everything from its lowest
                # unfinished record is taken again
                self._next[tp] = ledger.position
        self._commits.forget(revoked)

    def cancel(self) -> None:
        """The subscription stopped: what still runs is cancelled and not committed."""
        for worker in list(self._workers):
            worker.cancel()


async def _poll_paused(consumer: AIOKafkaConsumer) -> None:
    assigned = consumer.assignment()
    if not assigned:
        return
    paused = assigned - consumer.paused()
    consumer.pause(*paused)
    try:
        poll = asyncio.ensure_future(
            consumer.getmany(*assigned, timeout_ms=int(_POLL_CHUNK * 1000))
        )
        try:
            got = await asyncio.shield(poll)
        except asyncio.CancelledError:
            # a poll cancelled midway leaves aiokafka counting it as running for ever: let it
            # end by its own timeout
            await asyncio.wait([poll])
            raise
        except Exception as err:
            log.warning("polling while waiting for room failed", error=describe(err))
            return
        for partition, records in got.items():
            # not expected of a paused partition; if it happens, nothing may be skipped
            if records:
                consumer.seek(partition, records[0].offset)
    finally:
        still = paused & consumer.assignment()
        if still:
            consumer.resume(*still)
