"""Interoperability with the official CloudEvents Python SDK (Kafka binding, binary mode)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings import kafka as sdk_kafka
from cloudevents.core.v1.event import CloudEvent
from vrac_contracts import CATALOGUE, ContractError, decode, encode, new_envelope
from vrac_contracts.envelope import KafkaRecord


def _sdk_message(record: KafkaRecord) -> sdk_kafka.KafkaMessage:
    return sdk_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.ce_type)
def test_sdk_reads_our_messages(spec) -> None:  # type: ignore[no-untyped-def]
    envelope = new_envelope(spec.model.model_validate(spec.example))
    event = sdk_kafka.from_binary_event(_sdk_message(encode(envelope)))

    assert event.get_specversion() == "1.0"
    assert event.get_id() == envelope.id
    assert event.get_type() == spec.ce_type
    assert event.get_source() == spec.source
    assert event.get_subject() == envelope.data.case_id
    assert event.get_time() == envelope.time
    assert event.get_datacontenttype() == "application/json"
    assert event.get_extension("partitionkey") == envelope.data.case_id
    assert event.get_data() == envelope.data.model_dump(mode="json")


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.ce_type)
def test_we_read_the_sdks_messages(spec) -> None:  # type: ignore[no-untyped-def]
    event = CloudEvent(
        attributes={
            "type": spec.ce_type,
            "source": spec.source,
            "subject": spec.example["case_id"],
            "time": datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
            "datacontenttype": "application/json",
        },
        data=spec.example,
    )
    message = sdk_kafka.to_binary_event(event, key_mapper=lambda e: e.get_subject())

    envelope = decode(message.headers, message.value)

    assert envelope.id == event.get_id()
    assert envelope.type == spec.ce_type
    assert envelope.time == event.get_time()
    assert type(envelope.data) is spec.model
    assert envelope.data == spec.model.model_validate(spec.example)
    assert message.key == envelope.data.case_id


def test_an_sdk_event_of_an_unknown_type_is_a_contract_error() -> None:
    event = CloudEvent(
        attributes={"type": "com.example.other", "source": "/elsewhere"},
        data={"hello": "world"},
    )
    message = sdk_kafka.to_binary_event(event)
    with pytest.raises(ContractError) as caught:
        decode(message.headers, message.value)
    assert caught.value.attribute == "ce_type"
