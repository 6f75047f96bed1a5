"""Crashes in the middle of a stream of cases: each service SIGKILLed and started again, and
the broker stopped and started. Afterwards every case has its one diploma, every e-mail and
webhook it was owed arrived once, the report counts each case once, nothing is dead-lettered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from vrac_testing.faults import CaseStream, Faults, local_broker, verify
from vrac_testing.infrastructure import Infrastructure
from vrac_testing.processes import SERVICES
from vrac_testing.sinks import SmtpSink

# five services killed and started one after another: each start may take two minutes on a
# busy machine, within the platform's own start-up limit
pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(900)]

CASES = 10
BROKER_DOWN_SECONDS = 15.0  # how long the broker stays away: the fault, not a wait


async def test_each_service_killed_mid_stream_loses_and_doubles_nothing(
    new_stream: Callable[[str], CaseStream], faults: Faults, smtp: SmtpSink
) -> None:
    stream = new_stream("leiden")
    await stream.register_webhook()
    running = asyncio.create_task(stream.run(CASES))
    for i, service in enumerate(SERVICES):
        await stream.wait_started(1 + 2 * i)
        await faults.kill_and_restart(service)
    await running
    killed = [service for service, _ in faults.kills]
    assert killed == list(SERVICES)
    await verify(stream, smtp)


async def test_broker_stopped_and_started_mid_stream_loses_and_doubles_nothing(
    new_stream: Callable[[str], CaseStream], infrastructure: Infrastructure, smtp: SmtpSink
) -> None:
    broker, why_not = local_broker(infrastructure)
    if broker is None:
        pytest.skip(why_not)
    stream = new_stream("mechelen")
    await stream.register_webhook()
    running = asyncio.create_task(stream.run(6))
    await stream.wait_started(3)
    await asyncio.to_thread(broker.stop)
    try:
        await asyncio.sleep(BROKER_DOWN_SECONDS)
    finally:
        await asyncio.to_thread(broker.start)
    await running
    await verify(stream, smtp)
