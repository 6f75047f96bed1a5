"""At-least-once consumption against the real broker: retry, no re-delivery, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import Envelope, encode, new_envelope
from vrac_contracts.events.intake import CaseOpened
from vrac_runtime.consumer import DLQ_ERROR, DLQ_REASON, EventConsumer
from vrac_runtime.kafka import ensure_topics, make_broker
from vrac_runtime.settings import ServiceSettings
from vrac_testing.kafka import publish, read_all, send_raw
from vrac_testing.polling import eventually

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")


def case_opened(case_id: str) -> Envelope[Any]:
    data = OPENED.model.model_validate({**OPENED.example, "case_id": case_id})
    return new_envelope(data)


class Consuming:
    """A broker with one consumer group, started and stopped like a service does."""

    def __init__(self, settings: ServiceSettings, handler: Callable[..., Any]) -> None:
        self.broker = make_broker(settings)
        consumer = EventConsumer(self.broker, settings, "vrac.test")
        consumer.on(CaseOpened, handler)
        consumer.register()
        self.topics = [*consumer.topics, *consumer.dlq_topics]
        self.settings = settings

    async def __aenter__(self) -> Consuming:
        await ensure_topics(self.settings, self.topics)
        await self.broker.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.broker.stop()


async def test_a_handler_that_fails_once_is_retried_and_nothing_is_lost(make_settings) -> None:
    settings = make_settings("runtime")
    calls: list[str] = []

    async def flaky(envelope: Envelope[Any]) -> None:
        calls.append(envelope.id)
        if len(calls) == 1:
            raise ConnectionError("store briefly unreachable")

    sent = case_opened("case_retry0000001")
    async with Consuming(settings, flaky):
        await publish(settings, sent)
        await eventually(lambda: len(calls) >= 2, "the retry")
        await asyncio.sleep(0.5)
    assert calls == [sent.id, sent.id]
    assert (
        await read_all(
            settings.kafka_bootstrap_servers, settings.topic(OPENED.dlq_topic), expect=0, timeout=1
        )
        == []
    )


async def test_a_handled_event_is_not_redelivered_after_a_restart(make_settings) -> None:
    settings = make_settings("runtime")
    seen: list[str] = []

    async def record(envelope: Envelope[Any]) -> None:
        seen.append(envelope.data.case_id)

    async with Consuming(settings, record):
        await publish(settings, case_opened("case_first00000001"))
        await eventually(lambda: len(seen) == 1, "the first event")
    async with Consuming(settings, record):
        await publish(settings, case_opened("case_second0000001"))
        await eventually(lambda: len(seen) == 2, "the second event")
        await asyncio.sleep(1.0)
    assert seen == ["case_first00000001", "case_second0000001"]


async def test_a_malformed_message_is_dead_lettered_and_the_next_one_handled(
    make_settings,
) -> None:
    settings = make_settings("runtime")
    seen: list[str] = []

    async def record(envelope: Envelope[Any]) -> None:
        seen.append(envelope.data.case_id)

    good = encode(case_opened("case_afterbad00001"))
    bad_headers = [(k, b"2.0" if k == "ce_specversion" else v) for k, v in good.headers]
    topic = settings.topic(OPENED.topic)
    async with Consuming(settings, record):
        await send_raw(
            settings.kafka_bootstrap_servers, topic, b"{not json", good.key, good.headers
        )
        await send_raw(settings.kafka_bootstrap_servers, topic, good.value, good.key, bad_headers)
        await send_raw(settings.kafka_bootstrap_servers, topic, good.value, good.key, good.headers)
        await eventually(lambda: seen == ["case_afterbad00001"], "the good event")
    dead = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(OPENED.dlq_topic), expect=2
    )
    assert len(dead) == 2
    errors = [dict(record.headers)[DLQ_ERROR].decode() for record in dead]
    assert "data" in errors[0] and "JSON" in errors[0]
    assert "ce_specversion" in errors[1]
    assert all(dict(r.headers)[DLQ_REASON] == b"undecodable" for r in dead)
    assert dead[0].value == b"{not json"


async def test_a_handler_that_keeps_failing_goes_to_the_dead_letter_topic(make_settings) -> None:
    settings = make_settings("runtime", handler_max_attempts=3)
    attempts: list[int] = []

    async def broken(_: Envelope[Any]) -> None:
        attempts.append(1)
        raise RuntimeError("template missing")

    sent = case_opened("case_alwaysfails01")
    async with Consuming(settings, broken):
        await publish(settings, sent)
        dead = await read_all(
            settings.kafka_bootstrap_servers, settings.topic(OPENED.dlq_topic), expect=1
        )
    assert len(attempts) == 3
    headers = dict(dead[0].headers)
    assert headers[DLQ_REASON] == b"exhausted"
    assert headers[DLQ_ERROR] == b"RuntimeError: template missing"
    assert headers["ce_id"] == sent.id.encode()


async def test_a_handler_cancelled_by_shutdown_is_not_counted_as_done(make_settings) -> None:
    settings = make_settings("runtime", shutdown_grace_seconds=0.5)
    started = asyncio.Event()
    finished: list[str] = []

    async def slow(envelope: Envelope[Any]) -> None:
        started.set()
        await asyncio.sleep(30)
        finished.append(envelope.id)

    sent = case_opened("case_cancelled0001")
    async with Consuming(settings, slow):
        await publish(settings, sent)
        await asyncio.wait_for(started.wait(), 20)
    # The next consumer of the same group gets the event again.
    redelivered: list[str] = []

    async def record(envelope: Envelope[Any]) -> None:
        redelivered.append(envelope.id)

    async with Consuming(settings, record):
        await eventually(lambda: redelivered == [sent.id], "the re-delivery")
    assert finished == []
