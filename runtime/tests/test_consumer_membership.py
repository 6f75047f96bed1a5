"""A record retried for longer than the poll interval keeps its consumer in the group, and its
deadline sends it to the dead letters once (real Kafka)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import Envelope, new_envelope
from vrac_contracts.events.intake import CaseOpened
from vrac_runtime.consumer import DLQ_ERROR, DLQ_REASON, EventConsumer
from vrac_runtime.kafka import ensure_topics, make_broker
from vrac_runtime.logging import configure_logging
from vrac_runtime.settings import ServiceSettings
from vrac_testing.kafka import publish, read_all
from vrac_testing.polling import eventually

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")


def case_opened(case_id: str) -> Envelope[Any]:
    return new_envelope(OPENED.model.model_validate({**OPENED.example, "case_id": case_id}))


class Consuming:
    """A broker with one consumer group, started and stopped like a service does."""

    def __init__(self, settings: ServiceSettings, handler: Callable[..., Any]) -> None:
        self.broker = make_broker(settings)
        self.consumer = EventConsumer(self.broker, settings, "vrac.test")
        self.consumer.on(CaseOpened, handler)
        self.consumer.register()
        self.settings = settings

    async def __aenter__(self) -> Consuming:
        await ensure_topics(self.settings, [*self.consumer.topics, *self.consumer.dlq_topics])
        await self.broker.start()
        self.consumer.started()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.broker.stop()


def logged(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


async def test_a_record_failing_longer_than_the_poll_interval_is_dead_lettered_once(
    make_settings, capsys
) -> None:
    # a 2 s poll interval; the record fails for 6 s, with backoffs up to 3.2 s between
    # attempts: sleeping through them would drop the consumer from its group
    settings = make_settings(
        "runtime",
        max_poll_interval_ms=2000,
        handler_timeout_seconds=0.5,
        handler_backoff_seconds=0.2,
        handler_max_attempts=100,
        handler_deadline_seconds=6,
    )
    configure_logging("runtime")
    attempts: list[str] = []
    handled: list[str] = []

    async def handler(envelope: Envelope[Any]) -> None:
        if envelope.data.case_id == "case_poison0000001":
            attempts.append(envelope.id)
            raise ConnectionError("partner unreachable")
        handled.append(envelope.data.case_id)

    poison, after = case_opened("case_poison0000001"), case_opened("case_after00000001")
    async with Consuming(settings, handler):
        await eventually(
            lambda: any(
                line["event"] == "partitions assigned" for line in logged(capsys.readouterr().out)
            ),
            "the group's assignment",
        )
        await publish(settings, poison, after)
        # a record read again would be retried and dead-lettered again before this one
        await eventually(lambda: handled == ["case_after00000001"], "the next record", 30)
        dead = await read_all(
            settings.kafka_bootstrap_servers, settings.topic(OPENED.dlq_topic), expect=1
        )
        lines = logged(capsys.readouterr().out)

    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers[DLQ_REASON] == b"deadline"
    assert headers[DLQ_ERROR] == b"ConnectionError: partner unreachable"
    assert headers["ce_id"] == poison.id.encode()
    assert set(attempts) == {poison.id} and len(attempts) >= 5
    events = [line["event"] for line in lines]
    assert "partitions revoked" not in events
    assert "partitions assigned" not in events  # no second assignment: no rebalance
    assert "offset commit failed" not in events
    assert not [
        line
        for line in lines
        if line.get("level") in ("error", "critical") and line["event"] != "event dead-lettered"
    ]
