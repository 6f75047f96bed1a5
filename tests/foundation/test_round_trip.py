"""A CloudEvent through the real broker and back, with the at-least-once producer."""

from __future__ import annotations

import pytest
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import decode, encode, new_envelope
from vrac_runtime.kafka import make_producer
from vrac_testing.kafka import read_all

pytestmark = pytest.mark.integration


async def test_an_event_goes_through_kafka_and_decodes_to_the_same_event(make_settings) -> None:
    settings = make_settings("intake")
    spec = by_type("org.vrac.intake.case-opened.v1")
    sent = new_envelope(spec.model.model_validate(spec.example))
    record = encode(sent)
    producer = make_producer(settings)
    await producer.start()
    try:
        delivery = await producer.send(
            settings.topic(record.topic), record.value, key=record.key, headers=record.headers
        )
        await delivery
    finally:
        await producer.stop()
    [received] = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(record.topic), expect=1
    )
    assert received.key == sent.data.case_id.encode()
    assert decode(received.headers, received.value) == sent
