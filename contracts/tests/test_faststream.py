from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.message import StreamMessage
from vrac_contracts import (
    CaseClosed,
    CaseOpened,
    CloseReason,
    ContractError,
    Envelope,
    Pilot,
    encode,
    new_envelope,
    spec_for,
)
from vrac_contracts.faststream import envelope_decoder, expecting, publish_envelope

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
OPENED = CaseOpened(
    case_id="case_FastStream0001",
    pilot=Pilot.LILLE,
    occurred_at=NOW,
    programme="pit",
    opened_at=NOW,
)


async def test_subscriber_receives_the_typed_envelope() -> None:
    broker = KafkaBroker()
    received: list[Envelope[CaseOpened]] = []
    topic = spec_for(CaseOpened).topic

    @broker.subscriber(topic, decoder=envelope_decoder)
    async def on_case_opened(envelope: Envelope[CaseOpened]) -> None:
        received.append(envelope)

    sent = new_envelope(OPENED)
    async with TestKafkaBroker(broker):
        await publish_envelope(broker, sent)

    assert len(received) == 1
    assert received[0] == sent
    assert isinstance(received[0].data, CaseOpened)
    assert received[0].data.pilot is Pilot.LILLE


async def test_published_message_carries_key_and_cloudevents_headers() -> None:
    broker = KafkaBroker()
    records: list[Any] = []
    topic = spec_for(CaseOpened).topic

    def spying_decoder(msg: StreamMessage[Any]) -> Envelope[Any]:
        records.append(msg.raw_message)
        return envelope_decoder(msg)

    @broker.subscriber(topic, decoder=spying_decoder)
    async def on_case_opened(envelope: Envelope[CaseOpened]) -> None:
        pass

    sent = new_envelope(OPENED)
    async with TestKafkaBroker(broker):
        await publish_envelope(broker, sent)

    (record,) = records
    expected = encode(sent)
    assert record.topic == expected.topic
    assert record.key == b"case_FastStream0001"
    assert record.value == expected.value
    headers = dict(record.headers)
    for name, value in expected.headers:
        assert headers[name] == value, name


async def test_decoder_error_is_a_contract_error() -> None:
    broker = KafkaBroker()
    topic = spec_for(CaseOpened).topic
    errors: list[BaseException] = []
    handled = asyncio.Event()

    @broker.subscriber(topic, decoder=envelope_decoder)
    async def on_case_opened(envelope: Envelope[CaseOpened]) -> None:
        handled.set()

    async with TestKafkaBroker(broker):
        try:
            await broker.publish(b"{}", topic, key=b"case_x", headers={"ce_id": "1"})
        except ContractError as exc:
            errors.append(exc)

    assert not handled.is_set()
    assert len(errors) == 1
    assert isinstance(errors[0], ContractError)


async def test_expecting_refuses_other_event_types() -> None:
    broker = KafkaBroker()
    topic = "vrac.test.mixed"
    got: list[Envelope[Any]] = []

    @broker.subscriber(topic, decoder=expecting(CaseOpened))
    async def on_event(envelope: Envelope[Any]) -> None:
        got.append(envelope)

    closed = CaseClosed(
        case_id=OPENED.case_id, pilot=Pilot.LILLE, occurred_at=NOW, reason=CloseReason.COMPLETED
    )
    async with TestKafkaBroker(broker):
        record = encode(new_envelope(OPENED))
        await broker.publish(record.value, topic, key=record.key, headers=record.headers_dict())
        record = encode(new_envelope(closed))
        with pytest.raises(ContractError) as caught:
            await broker.publish(record.value, topic, key=record.key, headers=record.headers_dict())
    assert caught.value.attribute == "ce_type"
    assert [e.data for e in got] == [OPENED]
