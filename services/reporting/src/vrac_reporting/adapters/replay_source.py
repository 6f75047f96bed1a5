"""Reading the public topics from the earliest offset with a consumer group of its own.

Partitions are assigned explicitly (no group rebalancing), fetched in large batches and
decoded with the contracts codec, exactly as the live consumer decodes them; a record the
codec rejects is reported as ``None`` (the live consumer dead-letters those).

A replay never skips what the topics no longer hold: the consumer resets no offset by itself
(``auto_offset_reset="none"``), and a partition that begins after the first record wanted,
when the replay seeks or while it reads, ends the replay with ``HistoryMissing`` naming it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, NoReturn

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import OffsetOutOfRangeError
from vrac_contracts.envelope import ContractError, decode
from vrac_runtime.kafka import existing_partitions

from vrac_reporting.domain.errors import HistoryMissing
from vrac_reporting.domain.generations import Offsets, Position, missing_history
from vrac_reporting.ports import Replayed

_POLL_MS = 500


class ReplayStalled(RuntimeError):
    """No progress for too long while records were still expected."""


class KafkaReplaySource:
    def __init__(
        self,
        client: Mapping[str, Any],
        topics: Sequence[str],
        group_id: str,
        *,
        fetch_records: int = 5000,
        stall_seconds: float = 60.0,
    ) -> None:
        self._client = dict(client)  # servers and security, from runtime.kafka.client_options
        self._topics = list(topics)
        self._fetch_records = fetch_records
        self._stall_seconds = stall_seconds
        self._consumer = AIOKafkaConsumer(
            **self._client,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="none",  # a removed record is an error, never skipped
            max_partition_fetch_bytes=2 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        self._partitions: list[TopicPartition] = []

    async def __aenter__(self) -> KafkaReplaySource:
        self._partitions = await existing_partitions(self._client, self._topics)
        await self._consumer.start()
        self._consumer.assign(self._partitions)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def end_offsets(self) -> dict[tuple[str, int], int]:
        if not self._partitions:
            return {}
        ends = await self._consumer.end_offsets(self._partitions)
        return {(tp.topic, tp.partition): end for tp, end in ends.items()}

    async def beginning_offsets(self) -> dict[tuple[str, int], int]:
        if not self._partitions:
            return {}
        firsts = await self._consumer.beginning_offsets(self._partitions)
        return {(tp.topic, tp.partition): first for tp, first in firsts.items()}

    async def read(self, start: Offsets | None, until: Offsets) -> AsyncIterator[list[Replayed]]:
        remaining = await self._seek(start, until)
        loop = asyncio.get_running_loop()
        progress_at = loop.time()
        while remaining:
            try:
                batches = await self._consumer.getmany(
                    *remaining, timeout_ms=_POLL_MS, max_records=self._fetch_records
                )
            except OffsetOutOfRangeError as err:
                # retention removed records while the replay was on its way to them
                await self._history_missing(err, remaining)
            chunk: list[Replayed] = []
            for tp, records in batches.items():
                end = remaining.get(tp)
                if end is None:
                    continue
                chunk.extend(_decoded(record) for record in records if record.offset < end)
            for tp in list(remaining):
                if await self._consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]
                    self._consumer.pause(tp)
            if chunk:
                progress_at = loop.time()
                yield chunk
            elif loop.time() - progress_at > self._stall_seconds:
                raise ReplayStalled(f"{len(remaining)} partitions made no progress")

    async def _seek(self, start: Offsets | None, until: Offsets) -> dict[TopicPartition, int]:
        wanted = [TopicPartition(topic, part) for topic, part in until]
        known = set(self._partitions)
        wanted = [tp for tp in wanted if tp in known]
        if not wanted:
            return {}
        beginnings = await self.beginning_offsets()
        gaps = missing_history(start, until, beginnings)
        if gaps:
            raise HistoryMissing(gaps)
        remaining: dict[TopicPartition, int] = {}
        for tp in wanted:
            first = (start or {}).get((tp.topic, tp.partition), 0)
            end = until[(tp.topic, tp.partition)]
            if first < end:
                self._consumer.seek(tp, first)
                remaining[tp] = end
        # Only the partitions still to read are fetched.
        self._consumer.resume(*remaining)
        self._consumer.pause(*(tp for tp in self._partitions if tp not in remaining))
        return remaining

    async def _history_missing(
        self, err: OffsetOutOfRangeError, remaining: Mapping[TopicPartition, int]
    ) -> NoReturn:
        asked: dict[TopicPartition, int] = err.args[0] if err.args else {}
        start = {(tp.topic, tp.partition): offset for tp, offset in asked.items()}
        until = {(tp.topic, tp.partition): remaining.get(tp, 0) for tp in asked}
        gaps = missing_history(start, until, await self.beginning_offsets())
        if not gaps:
            raise err
        raise HistoryMissing(gaps) from err

    async def commit(self, offsets: Offsets) -> None:
        """Record in the replay's group how far it read (for operators; never re-read)."""
        known = set(self._partitions)
        positions = {
            tp: end
            for (topic, part), end in offsets.items()
            if (tp := TopicPartition(topic, part)) in known and end > 0
        }
        if positions:
            await self._consumer.commit(positions)


def _decoded(record: Any) -> Replayed:
    position = Position(record.topic, record.partition, record.offset)
    try:
        return position, decode(record.headers, record.value)
    except ContractError:
        return position, None
