"""Recipients that are away, ask to come back later, refuse, or trickle; and two replicas.

The real service against the real Kafka and store, a real SMTP server (aiosmtpd) and real
HTTP servers, each scripted to misbehave the way mail servers and agencies' endpoints do.
Backoffs are short here, so each test ends in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from vrac_contracts.envelope import Envelope
from vrac_contracts.events import (
    ConsentRecorded,
    NotificationDelivered,
    NotificationFailed,
    TaskAssigned,
)
from vrac_testing.polling import eventually
from vrac_testing.processes import free_port
from vrac_testing.sinks import WebhookReceiver

from services.notifications.tests.notifications_testkit import YOUTH_TEAM
from services.notifications.tests.test_notifications_service import (
    CASE,
    GRANDMA,
    Service,
    agency_known,
    event,
    service_factory,
)

pytestmark = pytest.mark.integration
__all__ = ["service_factory"]  # the fixture, shared with the service tests

NOTIFICATION = "X-VRAC-Notification"


class ScriptedSmtp:
    """An aiosmtpd server that first gives the queued refusals, ``("rcpt" | "data", reply)``
    each at its stage, then accepts; it keeps what it accepted."""

    def __init__(
        self,
        port: int,
        refusals: list[tuple[str, str]] | None = None,
        *,
        slow_sessions: int = 0,
    ) -> None:
        self.port = port
        self.refusals = list(refusals or [])
        self.accepted: list[email.message.EmailMessage] = []
        # this many sessions answer MAIL, RCPT and DATA each a little late: every reply comes
        # within a client's per-reply timeout, the whole session takes longer
        self.slow_sessions = slow_sessions
        self.slow_ended: list[str] = []  # how each slow session ended
        self._controller: Any = None

    def _refusal(self, stage: str) -> str | None:
        if self.refusals and self.refusals[0][0] == stage:
            return self.refusals.pop(0)[1]
        return None

    def start(self) -> ScriptedSmtp:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        smtp = self

        class Handler:
            async def handle_MAIL(self, server, session, envelope, address, options) -> str:
                if smtp.slow_sessions:
                    smtp.slow_sessions -= 1
                    session.slow = True
                await self._late(server, session)
                envelope.mail_from = address
                return "250 OK"

            async def _late(self, server, session) -> None:
                if getattr(session, "slow", False):
                    await asyncio.sleep(0.7)

            async def handle_RCPT(self, server, session, envelope, address, options) -> str:
                await self._late(server, session)
                refusal = smtp._refusal("rcpt")
                if refusal:
                    return refusal
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope) -> str:
                session.got_data = True
                await self._late(server, session)
                refusal = smtp._refusal("data")
                if refusal:
                    return refusal
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                smtp.accepted.append(message)  # type: ignore[arg-type]
                return "250 OK"

        class Server(SMTP):
            def connection_lost(self, error: Exception | None) -> None:
                if getattr(self.session, "slow", False):
                    got_data = getattr(self.session, "got_data", False)
                    smtp.slow_ended.append("after data" if got_data else "before data")
                super().connection_lost(error)

        class Tracking(Controller):
            def factory(self) -> SMTP:
                return Server(self.handler, **self.SMTP_kwargs)

        self._controller = Tracking(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def ids(self) -> list[str]:
        return [str(m[NOTIFICATION]) for m in self.accepted]


async def row(svc: Service, holds: Callable[[dict[str, Any]], bool], what: str) -> dict:
    """The case's only delivery, once it shows what the test waits for."""

    async def probe() -> dict[str, Any] | None:
        reply = await svc.http.get(f"/cases/{CASE}/deliveries", headers=svc.token())
        rows = reply.json().get("deliveries", []) if reply.status_code == 200 else []
        return rows[0] if len(rows) == 1 and holds(rows[0]) else None

    return await eventually(probe, what, timeout=20)


async def test_an_smtp_server_that_is_down_then_up_gets_the_mail_once(service_factory) -> None:
    port = free_port()  # nothing listens there yet: connections are refused
    async with service_factory(smtp_port=port) as svc:
        await svc.publish(await svc.member(**GRANDMA), event(TaskAssigned))
        waiting = await row(
            svc, lambda r: r["status"] == "scheduled" and r["attempts"] >= 1, "a retry"
        )
        assert waiting["error_code"] == "unreachable" and waiting["next_attempt_at"]
        smtp = ScriptedSmtp(port).start()
        try:
            done = await row(svc, lambda r: r["status"] == "delivered", "the delivery")
            assert smtp.ids() == [done["delivery_id"]]
            assert done["next_attempt_at"] is None
            [delivered] = await svc.published(NotificationDelivered, expect=1)
            assert delivered.data.notification_id == done["delivery_id"]
            # what the operator sees: the outage as retries, then the one delivery
            metrics = (await svc.http.get("/metrics")).text
            outcomes = {
                sample.labels["outcome"]: sample.value
                for family in text_string_to_metric_families(metrics)
                for sample in family.samples
                if sample.name == "vrac_deliveries_total"
                and sample.labels["service"] == "notifications"
                and sample.labels["channel"] == "email"
            }
            assert outcomes["delivered"] == 1
            assert outcomes["scheduled"] >= 1
        finally:
            smtp.stop()


async def test_an_smtp_server_asking_to_come_back_later_gets_the_mail(service_factory) -> None:
    port = free_port()
    later = [("data", "421 4.3.2 Service shutting down"), ("rcpt", "451 4.7.1 Greylisted")]
    smtp = ScriptedSmtp(port, later).start()
    try:
        async with service_factory(smtp_port=port) as svc:
            await svc.publish(await svc.member(**GRANDMA), event(TaskAssigned))
            done = await row(svc, lambda r: r["status"] == "delivered", "the delivery")
            assert done["attempts"] == 3
            assert smtp.ids() == [done["delivery_id"]]
            [failed] = await svc.published(NotificationFailed, expect=1)
            assert (failed.data.final, failed.data.error_code) == (False, "unreachable")
            [delivered] = await svc.published(NotificationDelivered, expect=1)
            assert delivered.data.attempts == 3
    finally:
        smtp.stop()


async def test_an_smtp_session_past_its_deadline_is_given_up_and_sends_nothing(
    service_factory,
) -> None:
    """The first session answers each step a little late, so only the attempt's total
    deadline ends it: the client closes the connection and nothing of it is sent (a client
    left running in a thread would have finished that session and sent a second copy)."""
    port = free_port()
    smtp = ScriptedSmtp(port, slow_sessions=1).start()
    try:
        async with service_factory(smtp_port=port, smtp_timeout_seconds=1) as svc:
            await svc.publish(await svc.member(**GRANDMA), event(TaskAssigned))
            done = await row(svc, lambda r: r["status"] == "delivered", "the delivery")
            assert done["attempts"] == 2
            await eventually(lambda: smtp.slow_ended, "the end of the slow session")
            assert smtp.slow_ended == ["before data"]
            assert smtp.ids() == [done["delivery_id"]]
    finally:
        smtp.stop()


async def test_an_address_the_smtp_server_refuses_fails_at_once(service_factory) -> None:
    port = free_port()
    smtp = ScriptedSmtp(port, [("rcpt", "550 5.1.1 No such user")]).start()
    try:
        async with service_factory(smtp_port=port) as svc:
            await svc.publish(await svc.member(**GRANDMA), event(TaskAssigned))
            failed = await row(svc, lambda r: r["status"] == "failed", "the refusal")
            assert (failed["attempts"], failed["error_code"]) == (1, "invalid-address")
            [told] = await svc.published(NotificationFailed, expect=1)
            assert (told.data.final, told.data.error_code) == (True, "invalid-address")
            assert smtp.accepted == []
    finally:
        smtp.stop()


@contextlib.asynccontextmanager
async def agency_with(
    service_factory, endpoint: WebhookReceiver, **settings: Any
) -> AsyncIterator[Service]:
    endpoint.start()
    try:
        async with service_factory(**settings) as svc:
            await svc.register_webhook(endpoint.url)
            await svc.publish(event(ConsentRecorded), await svc.member(**YOUTH_TEAM))
            await svc.until_directory("the agency and its consent", agency_known)
            await svc.publish(event(TaskAssigned, assignee_id="mbr_youthteam0001"))
            yield svc
    finally:
        endpoint.stop()


async def test_a_webhook_answering_503_then_429_is_delivered_after(service_factory) -> None:
    endpoint = WebhookReceiver(statuses=[503, 429])
    async with agency_with(service_factory, endpoint) as svc:
        done = await row(svc, lambda r: r["status"] == "delivered", "the delivery")
        assert (done["attempts"], endpoint.attempts, len(endpoint.hooks)) == (3, 3, 1)
        [delivered] = await svc.published(NotificationDelivered, expect=1)
        assert delivered.data.notification_id == done["delivery_id"]


async def test_a_webhook_refusing_with_a_4xx_fails_at_once(service_factory) -> None:
    endpoint = WebhookReceiver(statuses=[410])
    async with agency_with(service_factory, endpoint) as svc:
        failed = await row(svc, lambda r: r["status"] == "failed", "the refusal")
        assert (failed["attempts"], failed["error_code"]) == (1, "rejected")
        assert endpoint.attempts == 1


async def test_a_trickling_webhook_cannot_hold_an_attempt_past_its_deadline(
    service_factory,
) -> None:
    # every read gets a byte within httpx's per-read timeout; only a total deadline ends it
    endpoint = WebhookReceiver(trickle=0.3)
    async with agency_with(service_factory, endpoint, webhook_timeout_seconds=1) as svc:
        retried = await row(
            svc, lambda r: r["attempts"] >= 2 and r["error_code"] == "timeout", "a second try"
        )
        assert retried["status"] in ("scheduled", "sending")


async def test_two_replicas_send_each_message_once(service_factory) -> None:
    """Two instances share the consumer group and the database, and both schedulers race
    over the same due deliveries while the mail server is away and when it comes back."""
    port = free_port()
    cases = [f"case_race{n:04d}abcdefgh" for n in range(8)]
    async with service_factory(smtp_port=port) as one, service_factory(smtp_port=port) as two:
        assert one.settings.database == two.settings.database
        for case in cases:
            await one.publish(
                await one.member(case_id=case, **GRANDMA),
                event(TaskAssigned, case_id=case),
                event(TaskAssigned, case_id=case, task_id="task_transport0001"),
            )
        # two members joining one group over a dozen topics may rebalance a while first
        await eventually(
            lambda: _attempted(two, cases),
            "every delivery tried while the server is away",
            timeout=45,
        )
        smtp = ScriptedSmtp(port).start()
        try:
            expected = 2 * len(cases)
            await eventually(lambda: len(smtp.accepted) >= expected, "every mail", timeout=30)

            async def all_told() -> list[Envelope[Any]] | None:
                told = await one.published(NotificationDelivered, expect=expected)
                return told if len({e.data.notification_id for e in told}) >= expected else None

            delivered = await eventually(all_told, "every delivery told", timeout=30)
            # recorded once each: one event id per delivery (two relays may both publish an
            # entry before either removes it; that copy keeps its ce_id, and consumers drop it)
            ids = {e.id: e.data.notification_id for e in delivered}
            assert sorted(ids.values()) == sorted(set(ids.values()))
            assert len(ids) == expected
            assert sorted(smtp.ids()) == sorted(ids.values())  # each sent once
        finally:
            smtp.stop()


async def _attempted(svc: Service, cases: list[str]) -> bool:
    seen = 0
    for case in cases:
        reply = await svc.http.get(f"/cases/{case}/deliveries", headers=svc.token())
        if reply.status_code != 200:
            return False
        seen += sum(r["attempts"] >= 1 for r in reply.json()["deliveries"])
    return seen == 2 * len(cases)
