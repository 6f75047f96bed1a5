"""The subscribers wired by the composition root, through FastStream's in-memory broker."""

from __future__ import annotations

from typing import Any

from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import Envelope, new_envelope
from vrac_contracts.events import TaskAssigned
from vrac_contracts.events.base import EventData
from vrac_notifications.bootstrap import build
from vrac_notifications.handlers import send_due
from vrac_notifications.settings import NotificationsSettings
from vrac_testing.subscribing import in_memory

from services.notifications.tests.notifications_testkit import member_added


def event(model: type[EventData], **overrides: Any) -> Envelope[Any]:
    return new_envelope(model.model_validate({**spec_for(model).example, **overrides}))


async def test_the_app_routes_each_event_to_its_subscriber(world) -> None:
    settings = NotificationsSettings(topic_prefix="inmemory.", delivery_hold_seconds=0)
    # the same handlers, over the in-memory fakes instead of MongoDB, SMTP and HTTP
    swapped = (
        *("case_files", "deliveries", "webhooks", "mailer", "poster", "clock", "sleep"),
        *("opener", "audit", "task_link"),
    )
    app = build(settings, **{name: getattr(world.deps, name) for name in swapped})
    runtime = app.state.runtime
    for consumer in runtime.consumers:
        consumer.register()
    async with in_memory(runtime, world.deps) as delivery:
        for envelope in (event(TaskAssigned), await member_added(world.keys.seal)):
            await delivery.deliver(envelope.data, envelope)
    await send_due(app.state.deps)  # what the app's scheduler does
    assert [m.to_address for m in world.mailer.sent] == ["ria@example.org"]
    assert world.mailer.sent[0].subject == "Nieuwe taak: helpen met huiswerk"
