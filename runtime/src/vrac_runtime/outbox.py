"""The outbox inside the aggregate, and the relay that publishes it.

A command handler writes the aggregate and appends the events it caused to the document's
``outbox`` array in one single-document write (no multi-document transactions needed). The
relay publishes pending entries with the idempotent producer, waits for Kafka's
acknowledgement of the whole batch, and only then removes exactly those entries. A crash in
between re-publishes them with the same ``ce_id``: at-least-once, and consumers deduplicate.

The same write sets ``outbox_pending``, an indexed flag, and the relay clears it once the
outbox is empty: the relay's query then reads only the documents with something to send,
instead of scanning every document of the collection after every write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts.envelope import Envelope, encode

from vrac_runtime.logging import get_logger
from vrac_runtime.settings import ServiceSettings

OUTBOX = "outbox"
PENDING_FLAG = "outbox_pending"
PENDING = {PENDING_FLAG: True}
# the projection of an aggregate's reads: none of the outbox machinery
WITHOUT_OUTBOX = {OUTBOX: 0, PENDING_FLAG: 0}
# entries written without the flag (by an earlier version): adopted once when the relay starts
_UNFLAGGED = {f"{OUTBOX}.0": {"$exists": True}, PENDING_FLAG: {"$ne": True}}
_EMPTIED = {f"{OUTBOX}.0": {"$exists": False}}
log = get_logger(__name__)


def outbox_entries(envelopes: Iterable[Envelope[Any]]) -> list[dict[str, Any]]:
    """Encode events for storage in an aggregate's outbox, ready to publish as they are."""
    entries = []
    for envelope in envelopes:
        record = encode(envelope)
        entries.append(
            {
                "id": envelope.id,
                "topic": record.topic,
                "key": record.key.decode(),
                "value": record.value.decode(),
                "headers": {name: value.decode() for name, value in record.headers},
            }
        )
    return entries


def outbox_fields(envelopes: Iterable[Envelope[Any]]) -> dict[str, Any]:
    """The fields of a new document that carries these events in its outbox."""
    entries = outbox_entries(envelopes)
    return {OUTBOX: entries, PENDING_FLAG: bool(entries)}


def push_outbox(envelopes: Iterable[Envelope[Any]]) -> dict[str, Any]:
    """The update fragment that appends events to the outbox (and flags it pending)."""
    entries = outbox_entries(envelopes)
    update: dict[str, Any] = {"$push": {OUTBOX: {"$each": entries}}}
    if entries:
        update["$set"] = {PENDING_FLAG: True}
    return update


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, then removes them."""

    def __init__(
        self,
        database: AsyncDatabase[Any],
        collections: Sequence[str],
        producer: AIOKafkaProducer,
        settings: ServiceSettings,
        *,
        batch_size: int = 500,
    ) -> None:
        self._db = database
        self._collections = tuple(collections)
        self._producer = producer
        self._settings = settings
        self._batch = batch_size
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Called after a command wrote events, so they go out without waiting a tick."""
        self._wakeup.set()

    async def prepare(self) -> None:
        """Index the pending flag, and flag outbox entries written before it existed."""
        for name in self._collections:
            collection = self._db[name]
            await collection.create_index(PENDING_FLAG)
            async for doc in collection.find(_UNFLAGGED, {"_id": 1}):
                # one document at a time: each write by _id is serialised with the others
                await collection.update_one({"_id": doc["_id"]}, {"$set": {PENDING_FLAG: True}})

    async def run(self) -> None:
        """Relay until cancelled; a failed round is logged and tried again."""
        prepared = False
        while True:
            try:
                if not prepared:
                    await self.prepare()
                    prepared = True
                while await self.flush():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("outbox relay round failed", error_type=type(err).__name__)
            try:
                async with asyncio.timeout(self._settings.relay_interval_seconds):
                    await self._wakeup.wait()
            except TimeoutError:
                pass
            self._wakeup.clear()

    async def flush(self) -> int:
        """Publish one batch of pending entries per collection; returns how many went out."""
        sent = 0
        for name in self._collections:
            collection = self._db[name]
            docs = await collection.find(PENDING, {OUTBOX: 1}).limit(self._batch).to_list()
            if not docs:
                continue
            deliveries = [
                await self._producer.send(
                    self._settings.topic(entry["topic"]),
                    value=entry["value"].encode(),
                    key=entry["key"].encode(),
                    headers=[(k, v.encode()) for k, v in entry["headers"].items()],
                )
                for doc in docs
                for entry in doc.get(OUTBOX, [])
            ]
            # One wait for the whole batch, not one per event.
            await asyncio.gather(*deliveries)
            for doc in docs:
                # $pullAll by exact entry: only what was published goes, even if the
                # aggregate appended more meanwhile. (FerretDB ignores conditional $pull.)
                await collection.update_one(
                    {"_id": doc["_id"]}, {"$pullAll": {OUTBOX: doc.get(OUTBOX, [])}}
                )
                # pending no more, unless a write appended meanwhile (and set the flag)
                await collection.update_one(
                    {"_id": doc["_id"], **_EMPTIED}, {"$set": {PENDING_FLAG: False}}
                )
            sent += len(deliveries)
        return sent
