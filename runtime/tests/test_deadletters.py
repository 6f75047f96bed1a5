"""Dead letters listed with their reasons and sent back to their topic (real Kafka)."""

from __future__ import annotations

from typing import Any

import pytest
from vrac_contracts.catalogue import by_type, consumer_group
from vrac_contracts.envelope import Envelope, new_envelope
from vrac_contracts.events.intake import CaseOpened
from vrac_runtime.consumer import EventConsumer
from vrac_runtime.deadletters import read_dead_letters, redrive
from vrac_runtime.kafka import ensure_topics, make_broker
from vrac_runtime.settings import ServiceSettings
from vrac_testing.kafka import publish
from vrac_testing.polling import eventually

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")


def case_opened(case_id: str) -> Envelope[Any]:
    return new_envelope(OPENED.model.model_validate({**OPENED.example, "case_id": case_id}))


async def consume_with(settings: ServiceSettings, handler: Any) -> Any:
    """A started broker whose network group hands case-opened to ``handler``."""
    broker = make_broker(settings)
    consumer = EventConsumer(broker, settings, consumer_group("network"))
    consumer.on(CaseOpened, handler)
    consumer.register()
    await ensure_topics(settings, [*consumer.topics, *consumer.dlq_topics])
    await broker.start()
    return broker


async def test_a_dead_letter_is_listed_and_handled_once_it_is_re_driven(make_settings) -> None:
    settings = make_settings("network", handler_max_attempts=1)
    sent = case_opened("case_redriven00001")

    async def broken(_: Envelope[CaseOpened]) -> None:
        raise RuntimeError("store unreachable")

    broker = await consume_with(settings, broken)
    try:
        await publish(settings, sent)
        letters = await eventually(lambda: read_dead_letters(settings), "the dead letter")
    finally:
        await broker.stop()

    [(letter, _)] = letters
    assert letter.event_id == sent.id
    assert letter.reason == "exhausted"
    assert letter.error == "RuntimeError: store unreachable"
    assert letter.topic == settings.topic(OPENED.topic)
    assert letter.group == settings.group("vrac.network")
    # another service's dead letters of the same topic are not this one's to re-drive
    assert await read_dead_letters(settings.model_copy(update={"service_name": "screening"})) == []

    handled: list[str] = []

    async def fixed(envelope: Envelope[CaseOpened]) -> None:
        handled.append(envelope.id)

    broker = await consume_with(settings, fixed)
    try:
        # the group committed past the failed record: only the re-drive brings it back
        assert await redrive(settings, letters) == 1
        await eventually(lambda: handled == [sent.id], "the re-driven event to be handled")
    finally:
        await broker.stop()
