"""The live subscriber on FastStream's in-memory broker, with the in-memory store."""

from __future__ import annotations

from faststream.kafka import KafkaBroker, TestKafkaBroker
from vrac_contracts.catalogue import consumed_by
from vrac_contracts.envelope import encode
from vrac_contracts.faststream import publish_envelope
from vrac_reporting.bootstrap import build
from vrac_reporting.settings import ReportingSettings
from vrac_runtime.consumer import EventConsumer

from services.reporting.tests.fakes import FakeReadModels
from services.reporting.tests.reporting_testkit import event, grants


def consuming(models: FakeReadModels) -> tuple[KafkaBroker, EventConsumer]:
    """The app's broker and its one consumer, counting into ``models``."""
    app = build(ReportingSettings(handler_backoff_seconds=0), models=models)
    runtime = app.state.runtime
    (consumer,) = runtime.consumers
    consumer.register()
    return runtime.broker, consumer


async def test_every_public_event_type_and_the_network_measure_are_subscribed(
    fake_models: FakeReadModels,
) -> None:
    _, consumer = consuming(fake_models)
    assert consumer.topics == sorted(spec.topic for spec in consumed_by("reporting"))
    # and two internal topics: the wellbeing outcomes and the networks' measures
    internal = sorted(topic for topic in consumer.topics if ".public." not in topic)
    assert internal == [
        "vrac.internal.network.network-measured.v1",
        "vrac.internal.screening.wellbeing-measured.v1",
    ]


async def test_a_published_event_is_counted_once_however_often_it_arrives(
    fake_models: FakeReadModels,
) -> None:
    broker, _ = consuming(fake_models)
    assigned = event("assigned", assignee_kind="agency", pilot="east-sussex")
    async with TestKafkaBroker(broker):
        for grant in grants("east-sussex"):
            await publish_envelope(broker, grant)
        await publish_envelope(broker, assigned)
        await publish_envelope(broker, assigned)
        await publish_envelope(broker, event("diploma", pilot="east-sussex"))
    assert fake_models.figures() == {
        ("east-sussex", "2025-03"): {
            "tasks_assigned": 1,
            "tasks_professional": 1,
            "diplomas_issued": 1,
        }
    }


async def test_an_undecodable_message_is_not_counted_and_the_next_one_is(
    fake_models: FakeReadModels,
) -> None:
    broker, _ = consuming(fake_models)
    good = encode(event("opened"))
    async with TestKafkaBroker(broker):
        for grant in grants("leiden"):
            await publish_envelope(broker, grant)
        await broker.publish(b"{}", topic=good.topic, key=good.key, headers=good.headers_dict())
        await publish_envelope(broker, event("opened"))
    assert fake_models.figures() == {("leiden", "2025-03"): {"cases_opened": 1}}
