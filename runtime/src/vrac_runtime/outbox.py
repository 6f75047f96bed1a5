"""The outbox inside the aggregate, and the relay that publishes it.

A command handler writes the aggregate and appends the events it caused to the document's
``outbox`` array in one single-document write (no multi-document transactions needed), and
wakes the relay, which publishes at once rather than at its next tick. The relay hands a
batch of pending entries to the idempotent producer without waiting for each (it keeps their
order per partition), then waits for Kafka's acknowledgements of the batch, and only then
removes exactly the acknowledged entries, with one bulk write per batch. A crash in between
re-publishes them with the same ``ce_id``: at-least-once, and consumers deduplicate.

The same write sets ``outbox_pending``, an indexed flag, and the relay clears it once the
outbox is empty: the relay's query then reads only the documents with something to send,
instead of scanning every document of the collection after every write.

Failures stay where they happen. Each topic's entries are published in their own task, in
order, within a time limit; a topic that fails (missing, not authorised, unreachable) is
left alone for a backoff that doubles up to a limit, while the other topics go on, and the
documents still holding its entries are not read until it is tried again. What Kafka
acknowledged is remembered until its removal from the document succeeds, so a store that
fails a removal does not make the relay publish the same entries round after round.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from pymongo import UpdateMany
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts.envelope import Envelope, encode, new_envelope
from vrac_contracts.events.base import EventData

from vrac_runtime.idempotency import insert_once
from vrac_runtime.logging import get_logger
from vrac_runtime.producer import RenewingProducer
from vrac_runtime.settings import ServiceSettings
from vrac_runtime.tracing import TRACEPARENT, TRACESTATE, extract, inject

OUTBOX = "outbox"
PENDING_FLAG = "outbox_pending"
PENDING = {PENDING_FLAG: True}
# the projection of an aggregate's reads: none of the outbox machinery
WITHOUT_OUTBOX = {OUTBOX: 0, PENDING_FLAG: 0}
# entries written without the flag (by an earlier version): adopted once when the relay starts
_UNFLAGGED = {f"{OUTBOX}.0": {"$exists": True}, PENDING_FLAG: {"$ne": True}}
_EMPTIED = {f"{OUTBOX}.0": {"$exists": False}}
# namespace of the event ids derived from a document's identity (``derived_outbox``)
_DERIVED_EVENTS = uuid.UUID("0d737425-0f4a-459c-8e62-c99c2de7777a")
log = get_logger(__name__)


def outbox_entries(envelopes: Iterable[Envelope[Any]]) -> list[dict[str, Any]]:
    """Encode events for storage in an aggregate's outbox, ready to publish as they are,
    with the trace context of the span that recorded them (``ce_traceparent``)."""
    entries = []
    for envelope in envelopes:
        record = encode(envelope)
        headers = {name: value.decode() for name, value in record.headers}
        inject(headers)
        entries.append(
            {
                "id": envelope.id,
                "topic": record.topic,
                "key": record.key.decode(),
                "value": record.value.decode(),
                "headers": headers,
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


# -- the same, from an aggregate's recorded events (each wrapped in a fresh envelope) --


def new_outbox(events: Iterable[EventData]) -> dict[str, Any]:
    """The fields of a new document whose outbox holds these events."""
    return outbox_fields(new_envelope(event) for event in events)


def derived_outbox(
    collection: str, document_id: Any, events: Iterable[EventData]
) -> dict[str, Any]:
    """The fields of a new document whose outbox holds these events, with ids that are the
    same whenever the same document (collection, ``_id``) is made again."""
    envelopes = (
        new_envelope(
            event, id=str(uuid.uuid5(_DERIVED_EVENTS, f"{collection}\x1f{document_id}\x1f{n}"))
        )
        for n, event in enumerate(events)
    )
    return outbox_fields(envelopes)


def append_outbox(events: Iterable[EventData]) -> dict[str, Any]:
    """The update fragment that appends these events to a document's outbox."""
    return push_outbox(new_envelope(event) for event in events)


async def insert_with_events(
    collection: AsyncCollection[Any],
    document: dict[str, Any],
    events: Iterable[EventData],
    on_events: Callable[[], None],
) -> bool:
    """Insert a document with a deterministic ``_id`` and its events queued; False when it
    existed already. Only a new document wakes the relay: a repeat queues nothing.

    The events' ids derive from the collection and the document's ``_id``: a document made
    again after its store was restored from a backup (its event handled once more) publishes
    the same ``ce_id`` as the first time, which consumers drop as a duplicate."""
    outbox = derived_outbox(collection.name, document["_id"], events)
    inserted = await insert_once(collection, document | outbox)
    if inserted:
        on_events()
    return inserted


@dataclass
class _Backoff:
    """A topic that failed: not tried again before ``until`` (monotonic seconds); failing
    since ``since``."""

    until: float
    delay: float
    since: float


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, then removes them."""

    def __init__(
        self,
        database: AsyncDatabase[Any],
        collections: Sequence[str],
        producer: RenewingProducer,
        settings: ServiceSettings,
        *,
        batch_size: int = 500,
        send_timeout: float = 10.0,
        first_backoff: float = 1.0,
        max_backoff: float = 60.0,
        tracer: Tracer | None = None,
    ) -> None:
        self._db = database
        self._collections = tuple(collections)
        self._producer = producer
        self._settings = settings
        self._batch = batch_size
        self._send_timeout = send_timeout
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._tracer = tracer or trace.get_tracer(__name__)  # no-op unless one is given
        self._wakeup = asyncio.Event()
        self._failing: dict[str, _Backoff] = {}
        # ids of entries Kafka acknowledged whose removal from their document is still due
        self._acknowledged: set[str] = set()

    def wake(self) -> None:
        """Called after a command wrote events, so they go out without waiting a tick."""
        self._wakeup.set()

    @property
    def failing_topics(self) -> list[str]:
        """Catalogue topics the relay is backing off from (for health and metrics)."""
        return sorted(self._failing)

    def failing_for(self) -> dict[str, float]:
        """How long (seconds) each failing topic has been failing, for health and metrics."""
        now = time.monotonic()
        return {topic: now - state.since for topic, state in self._failing.items()}

    async def backlog(self) -> dict[str, int]:
        """Documents with entries still to publish, per collection (one indexed count each)."""
        return {name: await self._db[name].count_documents(PENDING) for name in self._collections}

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
        async with self._producer.round():
            for name in self._collections:
                sent += await self._flush(self._db[name])
        return sent

    async def _flush(self, collection: Any) -> int:
        blocked = self._blocked_topics()
        docs, by_topic = await self._pending(collection, blocked)
        if not docs:
            return 0
        results = await asyncio.gather(
            *(self._publish(topic, entries) for topic, entries in by_topic.items())
        )
        await self._remove_acknowledged(collection, docs)
        return sum(results)

    async def _pending(
        self, collection: Any, blocked: list[str]
    ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        """Up to a batch of documents with something to do, and their entries per topic.

        Documents whose every entry waits for a failing topic are passed over, so they
        cannot fill the batch and starve the others. (The query leaves them out where the
        store applies ``$nin`` to an array's fields; FerretDB does not, hence the check.)
        """
        query = {**PENDING, f"{OUTBOX}.topic": {"$nin": blocked}} if blocked else PENDING
        docs: list[dict[str, Any]] = []
        by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
        async for doc in collection.find(query, {OUTBOX: 1}):
            entries = doc.get(OUTBOX, [])
            to_send = [
                e
                for e in entries
                if e["id"] not in self._acknowledged and e["topic"] not in blocked
            ]
            if not to_send and not any(e["id"] in self._acknowledged for e in entries):
                continue
            docs.append(doc)
            for entry in to_send:
                by_topic[entry["topic"]].append(entry)
            if len(docs) >= self._batch:
                break
        return docs, by_topic

    async def _publish(self, topic: str, entries: list[dict[str, Any]]) -> int:
        """Send one topic's entries in order; on failure the topic backs off, others go on.

        Each entry gets a producer span continuing the trace stored with it; the record
        carries that span's context, so its consumers continue from the publish."""
        spans = [self._publish_span(topic, entry) for entry in entries]
        try:
            async with asyncio.timeout(self._send_timeout):
                deliveries = [
                    await self._producer.send(
                        self._settings.topic(topic),
                        value=entry["value"].encode(),
                        key=entry["key"].encode(),
                        headers=_traced_headers(entry["headers"], span),
                    )
                    for entry, span in zip(entries, spans, strict=True)
                ]
                # one wait for the topic's whole batch, not one per event
                await asyncio.gather(*deliveries)
        except asyncio.CancelledError:
            _end(spans, "cancelled")
            raise
        except Exception as err:
            _end(spans, type(err).__name__)
            self._back_off(topic, err)
            return 0
        _end(spans)
        self._failing.pop(topic, None)
        self._acknowledged.update(entry["id"] for entry in entries)
        return len(entries)

    def _publish_span(self, topic: str, entry: dict[str, Any]) -> Span:
        return self._tracer.start_span(
            f"publish {entry['headers'].get('ce_type', topic)}",
            context=extract(entry["headers"]),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": self._settings.topic(topic),
                "messaging.message.id": entry["id"],
            },
            record_exception=False,
            set_status_on_exception=False,
        )

    async def _remove_acknowledged(self, collection: Any, docs: list[dict[str, Any]]) -> None:
        """Remove the acknowledged entries of a batch's documents in one write of two
        statements: pull exactly those entries from the batch's documents, then clear the
        pending flag of those whose outbox is empty (not of one a write appended to
        meanwhile: that write set the flag)."""
        done = [e for doc in docs for e in doc.get(OUTBOX, []) if e["id"] in self._acknowledged]
        if not done:
            return
        ids = sorted({doc["_id"] for doc in docs})
        batch = {"_id": {"$in": ids}}
        # $pullAll by exact entry: only what was published goes, even if the aggregate
        # appended more meanwhile (a conditional $pull is not applied by every store). An
        # entry lives in one document only, so pulling the batch's entries from each of its
        # documents removes that document's own. Two multi-document statements rather than
        # two per document: FerretDB 1.24 stops answering altogether when one bulk write
        # carries about a hundred statements.
        removals = [
            UpdateMany(batch, {"$pullAll": {OUTBOX: done}}),
            UpdateMany({**batch, **_EMPTIED}, {"$set": {PENDING_FLAG: False}}),
        ]
        try:
            await collection.bulk_write(removals, ordered=True)
        except Exception as err:
            # kept as acknowledged: the next round retries the removal, not the publish
            # (pulling an entry already gone changes nothing)
            log.warning("outbox removal failed", error_type=type(err).__name__)
            return
        self._acknowledged.difference_update(e["id"] for e in done)

    def _blocked_topics(self) -> list[str]:
        now = time.monotonic()
        return sorted(topic for topic, state in self._failing.items() if state.until > now)

    def _back_off(self, topic: str, err: BaseException) -> None:
        previous = self._failing.get(topic)
        delay = self._first_backoff if previous is None else previous.delay * 2
        delay = min(delay, self._max_backoff)
        now = time.monotonic()
        since = now if previous is None else previous.since
        self._failing[topic] = _Backoff(now + delay, delay, since)
        log.warning(
            "outbox topic failing",
            topic=topic,
            error_type=type(err).__name__,
            retry_in_seconds=round(delay, 1),
        )


def _traced_headers(stored: dict[str, str], span: Span) -> list[tuple[str, bytes]]:
    """The stored headers, the trace context replaced by the publish span's."""
    headers = {k: v for k, v in stored.items() if k not in (TRACEPARENT, TRACESTATE)}
    inject(headers, trace.set_span_in_context(span))
    return [(k, v.encode()) for k, v in headers.items()]


def _end(spans: list[Span], error: str | None = None) -> None:
    for span in spans:
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()
