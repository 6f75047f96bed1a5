"""Idempotent-friendly event consumption: decode, retry with backoff, dead-letter, commit.

One FastStream batch subscriber per consumer group covers all the topics the group reads and
fetches records in batches; :mod:`vrac_runtime.consumer_flow` handles them with keyed
concurrency: records of different keys (case ids) at once, records of one key one after
another in their order, at most ``VRAC_CONSUMER_MAX_IN_FLIGHT`` records in flight. For each
record it decodes the CloudEvent with the contracts codec, dispatches on ``ce_type`` to the
handler registered for it and, only when the effect is durable (the handler returned), counts
it finished; per partition the offset below which every record is finished is committed. A
record that cannot be decoded, or whose handler keeps failing, goes to its dead-letter topic
(``vrac.dlq.<audience>.<service>.<event>.v<n>``, see the catalogue) with the error in its
headers, and its key moves on. If even the dead-letter publish fails the record is not
finished: it is handled again, and stays uncommitted until it is settled.

A record's attempts and backoffs share one deadline (``VRAC_HANDLER_DEADLINE_SECONDS``); a
record still failing then is dead-lettered with reason ``deadline``. While a record waits
between attempts only its key waits: the subscriber goes on fetching and handling other keys,
so the consumer keeps its place in the group. Rebalances and failed commits are logged;
progress, assignment and lag feed readiness (:meth:`EventConsumer.readiness`) and the metrics.

One case, one member at a time. Every event is keyed by its case id, and the group uses the
range assignor: with the same partition count on every topic it reads, partition ``n`` of
each topic goes to the same member, so all of one case's events are handled by one replica.
When partitions move, a member gives them up only after the records it is handling from them
are finished and committed (the ones still waiting are left to the next owner), and Kafka
assigns none before every member has given its up: a case is never in two replicas' hands at
once. (FerretDB does not apply a guarded update of one document atomically across processes;
this keeps a service's writes to one case in one process.)

Without a Kafka consumer behind it (FastStream's in-memory test broker) each delivered record
is handled before the publish returns, one after another.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import trace
from opentelemetry.trace import Tracer
from vrac_contracts.catalogue import EventSpec, spec_for
from vrac_contracts.envelope import ContractError, Envelope, decode
from vrac_contracts.events.base import EventData

from vrac_runtime.consumer_flow import KeyedFlow, describe
from vrac_runtime.http import NotReady
from vrac_runtime.kafka import AUTO_OFFSET_RESET
from vrac_runtime.logging import bound_event, get_logger
from vrac_runtime.metrics import Metrics
from vrac_runtime.retry import with_retries
from vrac_runtime.settings import ServiceSettings
from vrac_runtime.tracing import TRACEPARENT, TRACESTATE, consumer_span, failed

E = TypeVar("E", bound=EventData)
Handler = Callable[[Envelope[E]], Awaitable[None]]
log = get_logger(__name__)

DLQ_ERROR = "vrac_dlq_error"
DLQ_REASON = "vrac_dlq_reason"
# how long one fetch waits for records (and, when none came, the subscriber before the next):
# short, so that an idle group picks a new record up quickly
_FETCH_WAIT_MS = 50
_SETTLE_AGAIN_SECONDS = 1.0  # before handling again a record whose dead letter was refused


class PermanentError(Exception):
    """A handler failure that retrying cannot fix: the event goes straight to the DLQ."""


@dataclasses.dataclass(frozen=True)
class RecordPosition:
    """Where the record being handled sits in Kafka."""

    topic: str
    partition: int
    offset: int


_position: ContextVar[RecordPosition | None] = ContextVar("vrac_record_position", default=None)


def current_position() -> RecordPosition | None:
    """The position of the record whose handler is running (None outside a handler).

    For a handler whose effect depends on where its event sits in the log, such as a read
    model that is rebuilt from the earliest offset.
    """
    return _position.get()


@dataclasses.dataclass(frozen=True)
class Failure:
    reason: str  # "undecodable" | "permanent" | "exhausted" | "deadline"
    error: str
    attempts: int


class EventConsumer:
    """The events one consumer group handles, and the subscriber that delivers them."""

    def __init__(
        self,
        broker: KafkaBroker,
        settings: ServiceSettings,
        group: str,
        metrics: Metrics | None = None,
        *,
        tracer: Tracer | None = None,
    ) -> None:
        self._broker = broker
        self._settings = settings
        self._group = group
        self._handlers: dict[str, tuple[EventSpec, Handler[Any]]] = {}
        self._metrics = metrics or Metrics()
        self._tracer = tracer or trace.get_tracer(__name__)  # no-op unless one is given
        self._counters = _Counters(self._metrics, group, self._types)
        self._progress = _Progress()
        poll_interval = settings.max_poll_interval_ms / 1000
        self._flow = KeyedFlow(
            self.process,
            group=group,
            limit=settings.consumer_max_in_flight,
            # a fetcher waiting for room polls (paused) well within the poll interval
            keepalive_seconds=min(poll_interval / 4, 10.0),
            # past the rebalance timeout the broker drops this member anyway
            revoke_wait_seconds=poll_interval,
            settle_backoff_seconds=_SETTLE_AGAIN_SECONDS,
        )
        self._kafka: Callable[[], AIOKafkaConsumer | None] = lambda: None
        self._lag_shown: set[tuple[str, str, str]] = set()

    @property
    def group(self) -> str:
        """The group's name as the catalogue writes it (without the topic prefix)."""
        return self._group

    @property
    def group_id(self) -> str:
        return self._settings.group(self._group)

    def on(self, event: type[E], handler: Handler[E]) -> None:
        """Handle ``event`` with ``handler``, which receives exactly that event's envelope."""
        spec = spec_for(event)
        if spec.ce_type in self._handlers:
            raise ValueError(f"{spec.ce_type} already has a handler in {self._group}")
        self._handlers[spec.ce_type] = (spec, handler)

    @property
    def events(self) -> list[EventSpec]:
        """The catalogue entries of the events this group handles."""
        return [spec for spec, _ in self._handlers.values()]

    @property
    def topics(self) -> list[str]:
        return sorted({self._settings.topic(spec.topic) for spec, _ in self._handlers.values()})

    @property
    def dlq_topics(self) -> list[str]:
        return sorted(self._dead_letters.values())

    def _types(self) -> dict[str, str]:
        """Physical topic -> the event type it carries."""
        topic = self._settings.topic
        return {topic(spec.topic): spec.ce_type for spec, _ in self._handlers.values()}

    @property
    def _dead_letters(self) -> dict[str, str]:
        """Physical topic -> its physical dead-letter topic."""
        topic = self._settings.topic
        return {topic(spec.topic): topic(spec.dlq_topic) for spec, _ in self._handlers.values()}

    def register(self) -> None:
        """Attach the subscriber to the broker (before the broker starts)."""
        if not self._handlers:
            raise ValueError(f"consumer group {self._group} has no handlers")

        flow = self._flow
        subscription: _Subscription | None = None

        async def consume(message: KafkaMessage) -> None:
            nonlocal subscription
            records: Sequence[ConsumerRecord[Any, Any]] = message.raw_message
            if not isinstance(message.consumer, AIOKafkaConsumer):
                # the in-memory test broker: handled before its publish returns
                for record in records:
                    await self.process(record)
                return
            if subscription is None:
                subscription = _Subscription(subscriber, flow)
                flow.bind(subscription)
            subscription.watch()
            await flow.take(records)

        # Offsets are the flow's to commit (MANUAL: FastStream commits nothing itself).
        subscriber = self._broker.subscriber(
            *self.topics,
            batch=True,
            max_records=self._settings.consumer_max_in_flight,
            batch_timeout_ms=_FETCH_WAIT_MS,
            group_id=self.group_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset=AUTO_OFFSET_RESET,
            max_poll_interval_ms=self._settings.max_poll_interval_ms,
            parser=_tolerant_parser,
            decoder=_raw_body,
            title=self._group,
            partition_assignment_strategy=(RangePartitionAssignor,),
            listener=_Rebalances(self._group, self._progress, flow),
        )
        subscriber(consume)
        self._kafka = lambda: subscriber.consumer

    def started(self) -> None:
        """The broker started: grace periods of readiness count from now."""
        now = time.monotonic()
        self._progress.last_moved = now
        if self._progress.unassigned_since is not None:
            self._progress.unassigned_since = now

    @property
    def in_flight(self) -> int:
        """Records fetched and not yet finished (waiting behind their key or being handled)."""
        return self._flow.in_flight

    async def lag(self) -> dict[TopicPartition, int]:
        """Records not yet handled per assigned partition: the high watermark of the last
        fetch minus the lowest unfinished record (or, with none in flight, the position). No
        broker round trip; partitions never fetched are left out.
        """
        kafka = self._kafka()
        if kafka is None:
            return {}
        lags: dict[TopicPartition, int] = {}
        for partition in kafka.assignment():
            try:
                high = kafka.highwater(partition)
                if high is None:
                    continue
                position = self._flow.lowest_unfinished(partition)
                if position is None:
                    # immediate once the partition was fetched; bounded in case it was reset
                    async with asyncio.timeout(0.5):
                        position = await kafka.position(partition)
            except Exception:  # reassigned meanwhile, or no position yet: not known
                continue
            lags[partition] = max(high - position, 0)
        return lags

    async def refresh_metrics(self) -> None:
        """Set the group's lag and assignment gauges (called before a scrape)."""
        kafka = self._kafka()
        assigned = kafka.assignment() if kafka is not None else set()
        self._metrics.consumer_assigned_partitions.labels(self._group).set(len(assigned))
        shown: set[tuple[str, str, str]] = set()
        for partition, lag in (await self.lag()).items():
            labels = (self._group, partition.topic, str(partition.partition))
            self._metrics.consumer_lag.labels(*labels).set(lag)
            shown.add(labels)
        # a partition that went to another replica is no longer this one's to report
        for labels in self._lag_shown - shown:
            self._metrics.consumer_lag.remove(*labels)
        self._lag_shown = shown

    async def readiness(self) -> None:
        """Raises :class:`NotReady` when the group has had no partition for longer than the
        grace, or records wait and none has been handled (or dead-lettered) for
        ``ready_stall_seconds``."""
        kafka = self._kafka()
        if kafka is None:
            raise NotReady("consumer not started")
        progress, settings = self._progress, self._settings
        now = time.monotonic()
        if not kafka.assignment():
            progress.waiting_since = None
            if progress.unassigned_since is None:
                progress.unassigned_since = now
            unassigned = now - progress.unassigned_since
            if unassigned > settings.ready_assignment_grace_seconds:
                raise NotReady(f"no partition assigned for {unassigned:.0f} s")
            return
        busy = self._flow.started_at or progress.record_since
        waiting = busy is not None or any(lag > 0 for lag in (await self.lag()).values())
        if not waiting:
            progress.waiting_since = None
            return
        if progress.waiting_since is None:
            progress.waiting_since = now
        since = progress.waiting_since if busy is None else min(progress.waiting_since, busy)
        stalled = now - max(since, progress.last_moved)
        if stalled > settings.ready_stall_seconds:
            raise NotReady(f"records waiting, none handled for {stalled:.0f} s")

    async def process(self, record: ConsumerRecord[Any, Any]) -> None:
        """Handle one record; returns when it is settled (handled or dead-lettered), raises
        when it is not (the dead-letter publish failed)."""
        self._progress.record_started()
        try:
            with self._span(record):
                await self._process(record)
        finally:
            self._progress.record_ended()
        # handled or dead-lettered: its key moves on
        self._progress.moved()

    def _span(self, record: ConsumerRecord[Any, Any]) -> Any:
        """The record's span, continuing the trace of whatever published it."""
        headers = {
            name: value.decode("utf-8", "replace")
            for name, value in record.headers or ()
            if name in (TRACEPARENT, TRACESTATE, "ce_id") and value is not None
        }
        attributes = {
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": self.group_id,
            "messaging.message.id": headers.get("ce_id", ""),
        }
        event_type = self._counters.type_of(record.topic)
        return consumer_span(self._tracer, event_type, headers, attributes)

    async def _process(self, record: ConsumerRecord[Any, Any]) -> None:
        try:
            envelope = decode(record.headers, record.value or b"")
            spec, handler = self._route(envelope)
        except ContractError as err:
            await self._dead_letter(record, Failure("undecodable", str(err), 0))
            return
        position = RecordPosition(record.topic, record.partition, record.offset)
        token = _position.set(position)
        try:
            with bound_event(envelope.id, envelope.subject, envelope.type):
                failure = await self._run(handler, envelope, record.topic)
        finally:
            _position.reset(token)
        if failure is None:
            self._counters.handled(record.topic).inc()
            log.info("event handled", group=self._group, topic=spec.topic)
            return
        await self._dead_letter(record, failure)

    def _route(self, envelope: Envelope[Any]) -> tuple[EventSpec, Handler[Any]]:
        try:
            return self._handlers[envelope.type]
        except KeyError:
            raise ContractError("ce_type", f"{envelope.type} is not handled here") from None

    async def _run(
        self, handler: Handler[Any], envelope: Envelope[Any], topic: str
    ) -> Failure | None:
        """Run the handler, retrying with exponential backoff within the record's deadline;
        the failure that ends it."""
        settings = self._settings
        failed = self._counters.failed(topic)
        retried = self._counters.retried(topic)
        made = 0
        last: Exception | None = None

        async def attempt() -> None:
            nonlocal made, last
            made += 1
            try:
                async with asyncio.timeout(settings.handler_timeout_seconds):
                    await handler(envelope)
            except Exception as error:
                failed.inc()
                last = error
                raise

        deadline = asyncio.get_running_loop().time() + settings.handler_deadline_seconds
        # armed at the first retry: a first attempt is bounded by its own timeout, which the
        # settings keep within the deadline, so a record that succeeds sets no extra timer
        scope = asyncio.timeout(None)

        def on_retry(number: int, error: Exception) -> None:
            retried.inc()
            _log_retry(number, error)
            if scope.when() is None:
                scope.reschedule(deadline)

        try:
            async with scope:
                ended = await with_retries(
                    attempt,
                    attempts=settings.handler_max_attempts,
                    first_wait=settings.handler_backoff_seconds,
                    max_wait=5.0,
                    retry_if=lambda error: not isinstance(error, PermanentError),
                    on_retry=on_retry,
                )
        except TimeoutError:
            error = describe(last) if last is not None else "no attempt finished"
            return Failure("deadline", error, made)
        if ended.error is None:
            return None
        reason = "permanent" if isinstance(ended.error, PermanentError) else "exhausted"
        return Failure(reason, describe(ended.error), ended.count)

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], failure: Failure) -> None:
        headers = {key: value.decode("utf-8", "replace") for key, value in record.headers or ()}
        headers |= {
            DLQ_REASON: failure.reason,
            DLQ_ERROR: failure.error,
            "vrac_dlq_topic": record.topic,
            "vrac_dlq_partition": str(record.partition),
            "vrac_dlq_offset": str(record.offset),
            "vrac_dlq_group": self.group_id,
            "vrac_dlq_attempts": str(failure.attempts),
        }
        # Raises when Kafka refuses: the record is then not committed and is read again.
        await self._broker.publish(
            record.value or b"",
            topic=self._dead_letters[record.topic],
            key=record.key,
            headers=headers,
        )
        self._counters.dead_lettered(record.topic, failure.reason).inc()
        failed(failure.reason)
        log.error(
            "event dead-lettered",
            reason=failure.reason,
            error=failure.error,
            topic=record.topic,
            offset=record.offset,
        )


class _Counters:
    """The group's counters, labelled by event type, one child per topic made once: the
    per-record path only adds. A topic carries one event type (the catalogue's rule), so a
    record that could not be decoded still counts under its topic's type, and no header a
    sender wrote can make a label."""

    def __init__(self, metrics: Metrics, group: str, types: Callable[[], dict[str, str]]) -> None:
        self._metrics = metrics
        self._group = group
        self._types = types
        self._children: dict[tuple[str, str], Any] = {}

    def type_of(self, topic: str) -> str:
        return self._types().get(topic, "unknown")

    def _child(self, kind: str, topic: str) -> Any:
        child = self._children.get((kind, topic))
        if child is None:
            metric = {
                "handled": self._metrics.events_handled,
                "failed": self._metrics.events_failed,
                "retried": self._metrics.events_retried,
            }[kind]
            child = metric.labels(self._group, self.type_of(topic))
            self._children[(kind, topic)] = child
        return child

    def handled(self, topic: str) -> Any:
        return self._child("handled", topic)

    def failed(self, topic: str) -> Any:
        return self._child("failed", topic)

    def retried(self, topic: str) -> Any:
        return self._child("retried", topic)

    def dead_lettered(self, topic: str, reason: str) -> Any:
        return self._metrics.events_dead_lettered.labels(self._group, self.type_of(topic), reason)


class _Progress:
    """When the group last moved on, and what it is doing now (monotonic seconds)."""

    def __init__(self) -> None:
        now = time.monotonic()
        self.last_moved = now
        self.record_since: float | None = None
        self.unassigned_since: float | None = now
        self.waiting_since: float | None = None

    def record_started(self) -> None:
        self.record_since = time.monotonic()

    def record_ended(self) -> None:
        self.record_since = None

    def moved(self) -> None:
        self.last_moved = time.monotonic()

    def assigned(self, partitions: Iterable[TopicPartition]) -> None:
        if any(True for _ in partitions):
            self.unassigned_since = None
        elif self.unassigned_since is None:
            self.unassigned_since = time.monotonic()


class _Rebalances(ConsumerRebalanceListener):  # type: ignore[misc]
    """Logs the group's rebalances, remembers whether this member has partitions, and
    gives partitions up only once the records being handled from them are finished and
    committed."""

    def __init__(self, group: str, progress: _Progress, flow: KeyedFlow) -> None:
        self._group = group
        self._progress = progress
        self._flow = flow

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not revoked:
            return
        log.warning("partitions revoked", group=self._group, partitions=_names(revoked))
        await self._flow.revoke(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._progress.assigned(assigned)
        self._flow.assigned(assigned)
        log.info("partitions assigned", group=self._group, partitions=_names(assigned))


class _Subscription:
    """The FastStream batch subscriber that fetches for the flow, as the flow sees it.

    Its lock is what a stopping subscriber waits for (up to the broker's graceful timeout,
    the shutdown grace) before it cancels its tasks and closes the Kafka consumer: each key
    in hand holds it. A task of the subscriber's own cancels what still runs then.
    """

    def __init__(self, subscriber: Any, flow: KeyedFlow) -> None:
        self._subscriber = subscriber
        self._flow = flow
        self._watching = False

    @property
    def consumer(self) -> AIOKafkaConsumer | None:
        consumer = self._subscriber.consumer
        return consumer if isinstance(consumer, AIOKafkaConsumer) else None

    @property
    def running(self) -> bool:
        return bool(self._subscriber.running)

    def holding(self) -> Any:
        return self._subscriber.lock

    def watch(self) -> None:
        """Have the subscriber's stop cancel what the flow still runs (once per start)."""
        if not self._watching:
            self._watching = True
            self._subscriber.add_task(self._cancel_when_stopped, restart_on_failure=False)

    async def _cancel_when_stopped(self) -> None:
        try:
            await asyncio.Event().wait()  # until the subscriber stops and cancels its tasks
        finally:
            self._watching = False
            self._flow.cancel()


def _names(partitions: Iterable[TopicPartition]) -> list[str]:
    return sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions)


def _log_retry(attempt: int, error: Exception) -> None:
    log.warning("handler failed", attempt=attempt, error_type=type(error).__name__)


async def _raw_body(message: Any, _original: Any = None) -> Any:
    # The codec decodes; FastStream's JSON decoding would fail on bad data before we see it.
    return message.body


async def _tolerant_parser(records: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream's parser, but a header that is not UTF-8 cannot make a poison batch."""
    try:
        return await original(records)
    except UnicodeDecodeError:
        cleaned = tuple(
            dataclasses.replace(
                record,
                headers=[
                    (key, value.decode("utf-8", "replace").encode())
                    for key, value in record.headers
                ],
            )
            for record in records
        )
        return await original(cleaned)


def consumer_topics(consumers: Sequence[EventConsumer]) -> list[str]:
    """Every topic a service's consumers read, with their dead-letter topics."""
    names: set[str] = set()
    for consumer in consumers:
        names.update(consumer.topics, consumer.dlq_topics)
    return sorted(names)
