"""Kafka security settings: checked at start-up, and used by every client, on a real broker.

The local stack opens a second listener, SASL_SSL with SCRAM-SHA-512 (what Strimzi's
``scram-sha-512`` users meet), with a certificate of its own CA."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError
from pydantic import ValidationError
from vrac_runtime.kafka import client_options, ensure_topics, make_broker, make_producer
from vrac_runtime.settings import ServiceSettings
from vrac_testing.infrastructure import secured_listener

SECRET = "a-password-that-must-never-be-printed"


def refused(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        ServiceSettings(**values)
    return str(caught.value)


# -- settings, without I/O --


def test_sasl_needs_a_user_and_a_password_and_never_echoes_it() -> None:
    message = refused(kafka_security_protocol="SASL_SSL", kafka_sasl_password=SECRET)
    assert "VRAC_KAFKA_SASL_USERNAME" in message and "VRAC_KAFKA_SASL_PASSWORD" in message
    assert SECRET not in message


def test_tls_files_must_exist_and_go_with_tls(tmp_path: Path) -> None:
    missing = refused(kafka_security_protocol="SSL", kafka_ssl_cafile=str(tmp_path / "ca.pem"))
    assert "VRAC_KAFKA_SSL_CAFILE: no such file" in missing
    cafile = tmp_path / "ca.pem"
    cafile.write_text("not used")
    plain = refused(kafka_ssl_cafile=str(cafile))
    assert "only apply with SSL or SASL_SSL" in plain
    half = refused(kafka_security_protocol="SSL", kafka_ssl_certfile=str(cafile))
    assert "VRAC_KAFKA_SSL_CERTFILE and VRAC_KAFKA_SSL_KEYFILE go together" in half


def test_plaintext_clients_carry_no_security() -> None:
    assert client_options(ServiceSettings(kafka_bootstrap_servers="k:9092")) == {
        "bootstrap_servers": "k:9092"
    }


# -- against the local stack's secured listener --


@pytest.fixture
def secured(test_prefix: str) -> dict[str, Any]:
    listener = secured_listener()
    if listener is None:
        pytest.fail("the local stack has no secured listener yet: run `make down` and `make up`")
    return {
        "kafka_bootstrap_servers": listener["bootstrap_servers"],
        "kafka_security_protocol": listener["security_protocol"],
        "kafka_sasl_mechanism": listener["sasl_mechanism"],
        "kafka_sasl_username": listener["username"],
        "kafka_sasl_password": listener["password"],
        "kafka_ssl_cafile": listener["cafile"],
        "topic_prefix": f"{test_prefix}.",
    }


@pytest.mark.integration
async def test_a_scram_user_over_tls_produces_and_consumes(secured: dict[str, Any]) -> None:
    settings = ServiceSettings(**secured)
    topic = settings.topic("secured.events")
    await ensure_topics(settings, [topic], partitions=1)
    producer = make_producer(settings)
    broker = make_broker(settings)
    consumer = AIOKafkaConsumer(
        topic, **client_options(settings), auto_offset_reset="earliest", group_id=topic
    )
    await producer.start()
    await broker.connect()
    await consumer.start()
    try:
        await (await producer.send(topic, b"from the relay", key=b"case_a"))
        await broker.publish(b"from the broker", topic=topic, key=b"case_a")
        values: list[bytes] = []
        while len(values) < 2:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, "nothing arrived over the secured listener"
            values += [r.value for records in batch.values() for r in records]
    finally:
        await consumer.stop()
        await broker.stop()
        await producer.stop()
    assert values == [b"from the relay", b"from the broker"]


@pytest.mark.integration
async def test_a_wrong_password_is_refused_without_showing_it(
    secured: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    producer = make_producer(ServiceSettings(**{**secured, "kafka_sasl_password": wrong}))
    with pytest.raises(KafkaConnectionError) as caught:
        await producer.start()
    await producer.stop()
    said = caplog.text + str(caught.value)
    assert "Authentication failed" in said and "invalid credentials" in said
    assert wrong not in said


@pytest.mark.integration
async def test_a_broker_certificate_from_an_unknown_ca_is_refused(
    secured: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # without the stack's CA file only the system's CAs are trusted: the handshake fails
    untrusting = {**secured, "kafka_ssl_cafile": ""}
    producer = make_producer(ServiceSettings(**untrusting))
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
