"""Two notifications processes sharing the consumer group and the database, the second one
joining in the middle of a stream (a rebalance, as in a rollout): each message is sent once
and recorded once, none is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from vrac_testing.faults import CaseStream, verify
from vrac_testing.processes import Platform
from vrac_testing.sinks import SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration]


async def test_two_notifications_replicas_send_each_message_once(
    new_stream: Callable[[str], CaseStream], platform: Platform, smtp: SmtpSink
) -> None:
    replica = platform.add_replica("notifications")
    stream = new_stream("norwich")
    await stream.register_webhook()
    try:
        running = asyncio.create_task(stream.run(6))
        await stream.wait_started(2)
        await asyncio.to_thread(platform.start, (replica,), 120.0)
        await running
        # no process was killed: no window in which a duplicate would be excused
        await verify(stream, smtp, crash_window=0.0)
    finally:
        await asyncio.to_thread(platform.stop, (replica,))
