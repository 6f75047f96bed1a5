"""The mail server and an agency's webhook endpoint away for more than a minute while cases
come in: every message waits in the store, visible to the coach as scheduled, and goes out
once they are back; none is lost, failed or sent twice, nothing is dead-lettered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from vrac_testing.faults import CaseStream, verify
from vrac_testing.polling import eventually
from vrac_testing.sinks import SmtpSink, WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.integration]

OUTAGE_SECONDS = 65.0  # how long both stay away: the fault, longer than a minute
WAITING = ("scheduled", "sending")


async def test_mail_and_webhook_outages_longer_than_a_minute_lose_nothing(
    new_stream: Callable[[str], CaseStream], smtp: SmtpSink, hooks: WebhookReceiver
) -> None:
    stream = new_stream("east-sussex")
    await stream.register_webhook()
    smtp.stop()  # the SMTP port is closed: connection refused
    hooks.unavailable = True  # the endpoint answers 503
    away_since = time.monotonic()
    try:
        await stream.run(5)

        async def all_waiting() -> list[dict] | None:
            found = [d for case in stream.cases for d in await stream.deliveries(case)]
            settled = len(found) == sum(case.owed for case in stream.cases)
            return found if settled and all(d["status"] in WAITING for d in found) else None

        try:
            await eventually(all_waiting, "every message to wait for a retry", 60, interval=1)
        except AssertionError:
            found = [d for case in stream.cases for d in await stream.deliveries(case)]
            seen = sorted({(d["channel"], d["status"], d["error_code"]) for d in found})
            raise AssertionError(f"during the outage, (channel, status, error): {seen}") from None
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - away_since)))

        # more than a minute later, still waiting, never given up, and retried meanwhile
        found = [d for case in stream.cases for d in await stream.deliveries(case)]
        assert all(d["status"] in WAITING for d in found), sorted({d["status"] for d in found})
        assert all(d["attempts"] >= 2 for d in found), sorted({d["attempts"] for d in found})
        assert all(d["next_attempt_at"] is not None for d in found if d["status"] == "scheduled")
    finally:
        smtp.start()
        hooks.unavailable = False
    await verify(stream, smtp)
