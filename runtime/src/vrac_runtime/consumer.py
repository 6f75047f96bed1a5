"""Idempotent-friendly event consumption: decode, retry with backoff, dead-letter, commit.

One FastStream subscriber per consumer group covers all the topics the group reads. For each
record it decodes the CloudEvent with the contracts codec, dispatches on ``ce_type`` to the
handler registered for it and, only when the effect is durable (the handler returned), lets
FastStream commit the offset. A record that cannot be decoded, or whose handler keeps
failing, goes to its dead-letter topic (``vrac.dlq.<audience>.<service>.<event>.v<n>``, see
the catalogue) with the error in its headers, and the partition moves on.
If even the dead-letter publish fails the record is not committed: it is read again.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from vrac_contracts.catalogue import EventSpec, spec_for
from vrac_contracts.envelope import ContractError, Envelope, decode
from vrac_contracts.events.base import EventData

from vrac_runtime.kafka import AUTO_OFFSET_RESET, CONSUMER_ACK_POLICY
from vrac_runtime.logging import bound_event, get_logger
from vrac_runtime.retry import with_retries
from vrac_runtime.settings import ServiceSettings

E = TypeVar("E", bound=EventData)
Handler = Callable[[Envelope[E]], Awaitable[None]]
log = get_logger(__name__)

DLQ_ERROR = "vrac_dlq_error"
DLQ_REASON = "vrac_dlq_reason"


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
    reason: str  # "undecodable" | "permanent" | "exhausted"
    error: str
    attempts: int


class EventConsumer:
    """The events one consumer group handles, and the subscriber that delivers them."""

    def __init__(self, broker: KafkaBroker, settings: ServiceSettings, group: str) -> None:
        self._broker = broker
        self._settings = settings
        self._group = group
        self._handlers: dict[str, tuple[EventSpec, Handler[Any]]] = {}

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

    @property
    def _dead_letters(self) -> dict[str, str]:
        """Physical topic -> its physical dead-letter topic."""
        topic = self._settings.topic
        return {topic(spec.topic): topic(spec.dlq_topic) for spec, _ in self._handlers.values()}

    def register(self) -> None:
        """Attach the subscriber to the broker (before the broker starts)."""
        if not self._handlers:
            raise ValueError(f"consumer group {self._group} has no handlers")

        async def consume(message: KafkaMessage) -> None:
            await self.process(message.raw_message)

        subscriber = self._broker.subscriber(
            *self.topics,
            group_id=self.group_id,
            ack_policy=CONSUMER_ACK_POLICY,
            auto_offset_reset=AUTO_OFFSET_RESET,
            max_poll_interval_ms=self._settings.max_poll_interval_ms,
            max_poll_records=1,
            parser=_tolerant_parser,
            decoder=_raw_body,
            title=self._group,
        )
        subscriber(consume)

    async def process(self, record: ConsumerRecord[Any, Any]) -> None:
        """Handle one record; returns when it is safe to commit its offset."""
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
                failure = await self._run(handler, envelope)
        finally:
            _position.reset(token)
        if failure is None:
            log.info("event handled", group=self._group, topic=spec.topic)
            return
        await self._dead_letter(record, failure)

    def _route(self, envelope: Envelope[Any]) -> tuple[EventSpec, Handler[Any]]:
        try:
            return self._handlers[envelope.type]
        except KeyError:
            raise ContractError("ce_type", f"{envelope.type} is not handled here") from None

    async def _run(self, handler: Handler[Any], envelope: Envelope[Any]) -> Failure | None:
        """Run the handler, retrying with exponential backoff; the failure that ends it."""
        settings = self._settings

        async def attempt() -> None:
            async with asyncio.timeout(settings.handler_timeout_seconds):
                await handler(envelope)

        ended = await with_retries(
            attempt,
            attempts=settings.handler_max_attempts,
            first_wait=settings.handler_backoff_seconds,
            max_wait=5.0,
            retry_if=lambda error: not isinstance(error, PermanentError),
            on_retry=_log_retry,
        )
        if ended.error is None:
            return None
        reason = "permanent" if isinstance(ended.error, PermanentError) else "exhausted"
        return Failure(reason, _describe(ended.error), ended.count)

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
        log.error(
            "event dead-lettered",
            reason=failure.reason,
            error=failure.error,
            topic=record.topic,
            offset=record.offset,
        )


def _log_retry(attempt: int, error: Exception) -> None:
    log.warning("handler failed", attempt=attempt, error_type=type(error).__name__)


def _describe(err: BaseException) -> str:
    """Type and message of an error, one line, bounded: never a payload dump."""
    text = " ".join(str(err).split())[:300]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


async def _raw_body(message: Any, _original: Any = None) -> Any:
    # The codec decodes; FastStream's JSON decoding would fail on bad data before we see it.
    return message.body


async def _tolerant_parser(record: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream's parser, but a header that is not UTF-8 cannot make a poison record."""
    try:
        return await original(record)
    except UnicodeDecodeError:
        cleaned = dataclasses.replace(
            record,
            headers=[
                (key, value.decode("utf-8", "replace").encode()) for key, value in record.headers
            ],
        )
        if hasattr(record, "consumer"):
            cleaned.consumer = record.consumer
        return await original(cleaned)


def consumer_topics(consumers: Sequence[EventConsumer]) -> list[str]:
    """Every topic a service's consumers read, with their dead-letter topics."""
    names: set[str] = set()
    for consumer in consumers:
        names.update(consumer.topics, consumer.dlq_topics)
    return sorted(names)
