"""Configuration from the environment and log lines without personal data."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError
from vrac_runtime.logging import bound_event, configure_logging, get_logger
from vrac_runtime.settings import ServiceSettings


def test_standard_names_and_vrac_prefix_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092")
    monkeypatch.setenv("MONGODB_URL", "mongodb://store:27017")
    monkeypatch.setenv("VRAC_SERVICE_NAME", "network")
    monkeypatch.setenv("VRAC_TOPIC_PREFIX", "staging.")
    settings = ServiceSettings()
    assert settings.kafka_bootstrap_servers == "kafka-1:9092"
    assert settings.mongodb_url == "mongodb://store:27017"
    assert settings.database == "vrac_network"
    assert settings.topic("vrac.public.network.task-assigned.v1") == (
        "staging.vrac.public.network.task-assigned.v1"
    )


def test_the_vrac_name_wins_over_the_standard_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "plain:9092")
    monkeypatch.setenv("VRAC_KAFKA_BOOTSTRAP_SERVERS", "prefixed:9092")
    assert ServiceSettings().kafka_bootstrap_servers == "prefixed:9092"


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VRAC_HTTP_PORT", "eighty")
    with pytest.raises(ValueError, match="http_port"):
        ServiceSettings()


def test_log_lines_are_json_with_event_and_case_and_no_personal_data(capsys) -> None:
    configure_logging("intake")
    log = get_logger("test")
    with bound_event("evt-42", "case_abc", "org.vrac.intake.case-opened.v1"):
        log.info("family registered", first_name="Noor", email="noor@example.org")
    log.info("outside")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event_id"] == "evt-42"
    assert lines[0]["case_id"] == "case_abc"
    assert lines[0]["service"] == "intake"
    assert "Noor" not in json.dumps(lines) and "noor@example.org" not in json.dumps(lines)
    assert "event_id" not in lines[1]


def test_an_attempt_longer_than_half_the_poll_interval_is_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VRAC_HANDLER_TIMEOUT_SECONDS", "200")
    monkeypatch.setenv("VRAC_MAX_POLL_INTERVAL_MS", "300000")
    with pytest.raises(ValidationError) as refused:
        ServiceSettings()
    assert "VRAC_MAX_POLL_INTERVAL_MS=300000" in str(refused.value)
    assert "VRAC_HANDLER_TIMEOUT_SECONDS=200" in str(refused.value)


def test_a_record_deadline_shorter_than_one_attempt_is_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VRAC_HANDLER_TIMEOUT_SECONDS", "30")
    monkeypatch.setenv("VRAC_HANDLER_DEADLINE_SECONDS", "10")
    with pytest.raises(ValidationError) as refused:
        ServiceSettings()
    assert "VRAC_HANDLER_DEADLINE_SECONDS=10" in str(refused.value)
    assert "VRAC_HANDLER_TIMEOUT_SECONDS=30" in str(refused.value)


def test_a_record_deadline_may_outlast_the_poll_interval() -> None:
    # between attempts the consumer polls, so only one attempt has to fit
    settings = ServiceSettings(
        handler_timeout_seconds=60, handler_deadline_seconds=3600, max_poll_interval_ms=300_000
    )
    assert settings.record_deadline_seconds > settings.max_poll_interval_ms / 1000


def test_the_defaults_are_accepted_and_the_deadline_bounds_the_record() -> None:
    settings = ServiceSettings()
    assert settings.record_deadline_seconds == settings.handler_deadline_seconds
    assert settings.ready_stall_seconds > 0


def test_kafka_client_lines_are_json_too(capsys) -> None:
    configure_logging("intake")
    logging.getLogger("aiokafka.consumer.group_coordinator").info("LeaveGroup request succeeded")
    logging.getLogger("vrac.kafka").critical("CommitFailedError()", extra={"group_id": "g1"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["event"] for line in lines] == [
        "LeaveGroup request succeeded",
        "CommitFailedError()",
    ]
    assert lines[0]["logger"] == "aiokafka.consumer.group_coordinator"
    assert lines[1]["group_id"] == "g1"
    assert lines[1]["service"] == "intake"
