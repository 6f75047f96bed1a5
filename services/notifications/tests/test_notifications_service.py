"""The whole service against the real Kafka, FerretDB, an SMTP server and a webhook receiver."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import Envelope, decode, encode, new_envelope
from vrac_contracts.events import (
    ConsentRecorded,
    FamilyRegisteredV2,
    FindingsRecorded,
    MemberAddedV2,
    NotificationDelivered,
    NotificationFailed,
    ScreeningCompleted,
    TaskAssigned,
    TaskOverdue,
)
from vrac_contracts.events.base import EventData
from vrac_notifications.bootstrap import build
from vrac_notifications.settings import NotificationsSettings
from vrac_runtime.auth import DEVELOPMENT_ISSUER, Tokens
from vrac_runtime.consumer import DLQ_REASON
from vrac_runtime.settings import ServiceSettings
from vrac_testing.kafka import read_all, send_raw
from vrac_testing.polling import eventually
from vrac_testing.sinks import SmtpSink, WebhookReceiver
from vrac_testing.tokens import bearer

from services.notifications.tests.conftest import KeyOwner
from services.notifications.tests.notifications_testkit import (
    AGENCY,
    YOUTH_TEAM,
    family_registered,
    member_added,
)

pytestmark = pytest.mark.integration

CASE = "case_7Hq2mX9aK3pL0sVd"
SECRET = "whsec_YS13ZWJob29rLXNlY3JldC1vZi10aGUteW91dGgtdGVhbQ=="
NEXT_SECRET = "whsec_dGhlLW5leHQtc2VjcmV0LW9mLXRoZS15b3V0aC10ZWFtIQ=="
GRANDMA = {"member_id": "mbr_4d5e6f7a8b9c", "email": "ria@example.org", "language": "nl"}
TEACHER = {
    "member_id": "mbr_teacher000001",
    "kind": "professional",
    "role": "teacher",
    "display_name": "Ms Taylor",
    "relationship": None,
    "email": "taylor@school.example.org",
    "channel": "email",
    "language": "en",
}
NEIGHBOUR = {
    "member_id": "mbr_neighbour0001",
    "kind": "informal",
    "display_name": "Kees",
    "relationship": "neighbour",
    "email": "kees@example.org",
    "language": "nl",
}


AGENCY_CONSENT = f"share-with-agency:{AGENCY}"
# the advice of the screening-completed v1 example, which findings-recorded carries now
ADVICE = spec_for(ScreeningCompleted).example["advice"]


def agency_known(case_file: dict[str, Any]) -> bool:
    granted = case_file["consents"].get(AGENCY_CONSENT, {}).get("granted", False)
    return granted and "mbr_youthteam0001" in case_file["contacts"]


def event(model: type[EventData], **overrides: Any) -> Envelope[Any]:
    data = model.model_validate({**spec_for(model).example, **overrides})
    return new_envelope(data)


@dataclass
class Service:
    settings: NotificationsSettings
    http: httpx.AsyncClient
    smtp: SmtpSink
    hooks: WebhookReceiver
    owner: KeyOwner

    async def member(self, **fields: Any) -> Envelope[MemberAddedV2]:
        """``member-added`` v2, its details sealed by the key owner."""
        return await member_added(self.owner.keys.seal, **fields)

    async def family(self, **fields: Any) -> Envelope[FamilyRegisteredV2]:
        return await family_registered(self.owner.keys.seal, **fields)

    async def publish(self, *envelopes: Envelope[Any]) -> None:
        for envelope in envelopes:
            record = encode(envelope)
            await self.send(record.topic, record.value, record.key, record.headers)

    async def send(self, topic: str, value: bytes, key: bytes, headers: list) -> None:
        await send_raw(
            self.settings.kafka_bootstrap_servers, self.settings.topic(topic), value, key, headers
        )

    async def published(self, model: type[EventData], expect: int) -> list[Envelope[Any]]:
        topic = self.settings.topic(spec_for(model).topic)
        records = await read_all(self.settings.kafka_bootstrap_servers, topic, expect=expect)
        return [decode(r.headers, r.value) for r in records]

    async def dead_letters(self, model: type[EventData], expect: int) -> list[Any]:
        topic = self.settings.topic(spec_for(model).dlq_topic)
        return await read_all(self.settings.kafka_bootstrap_servers, topic, expect=expect)

    def token(self, role: str = "coach", pilot: str = "leiden", subject: str = "u1") -> dict:
        return bearer(role, pilot, subject)

    async def register_webhook(self, url: str | None = None, secret: str = SECRET) -> None:
        reply = await self.put_webhook(url or self.hooks.url, secret)
        assert reply.status_code == 200, reply.text

    async def put_webhook(self, url: str, secret: str = SECRET) -> httpx.Response:
        return await self.http.put(
            f"/agencies/{AGENCY}/webhook",
            json={"url": url, "secret": secret},
            headers=self.token("agency", subject=AGENCY),
        )

    async def until_directory(self, what: str, holds: Callable[[dict[str, Any]], bool]) -> None:
        """Wait until the case file shows an event was applied; events of different topics
        are handled in any order, and some tests need one before the next."""
        client: AsyncMongoClient[Any] = AsyncMongoClient(self.settings.mongodb_url)
        try:
            files = client[self.settings.database]["case_files"]
            for _ in range(300):
                doc = await files.find_one({"_id": CASE})
                if doc is not None and holds(doc):
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"timed out waiting for {what}")
        finally:
            await client.close()

    async def deliveries(self) -> list[dict[str, Any]]:
        reply = await self.http.get(f"/cases/{CASE}/deliveries", headers=self.token())
        assert reply.status_code == 200, reply.text
        return reply.json()["deliveries"]


@pytest.fixture
def service_factory(make_settings, key_owner: KeyOwner) -> Callable[..., Any]:
    import contextlib

    @contextlib.asynccontextmanager
    async def start(
        fail_hooks: int = 0, deps: dict[str, Any] | None = None, **overrides: Any
    ) -> AsyncIterator[Service]:
        """``overrides`` replace settings, ``deps`` fields of the handlers' ``Deps``."""
        smtp = SmtpSink().start()
        hooks = WebhookReceiver(fail_first=fail_hooks).start()
        base = make_settings("notifications").model_dump()
        values = base | {
            "smtp_port": smtp.port,
            "delivery_backoff_seconds": 0.05,
            "delivery_max_backoff_seconds": 0.4,
            "delivery_poll_seconds": 0.1,
            "screening_public_url": "https://screening.vrac.example.org",
            "screening_url": key_owner.screening_url,  # where the links are asked for
            "network_url": key_owner.network_url,  # and the helpers' answer links
            # the test kit's tokens, also where a test turns development off
            "trusted_issuers": {DEVELOPMENT_ISSUER: key_owner.issuer_jwks_url},
            "key_owner_urls": key_owner.owner_urls,
            "delivery_hold_seconds": 0,  # tests of the hold set their own
            "development": True,  # the receiver listens on loopback, over plain http
        }
        settings = NotificationsSettings(**(values | overrides))
        app = build(settings, **(deps or {}))
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                    yield Service(settings, http, smtp, hooks, key_owner)
        finally:
            smtp.stop()
            hooks.stop()

    return start


async def test_each_recipient_hears_in_their_language_through_their_channel(
    service_factory,
) -> None:
    async with service_factory() as svc:
        await svc.register_webhook()
        await svc.publish(
            await svc.family(),  # guardian Fatima, sms -> falls back to her e-mail
            event(ConsentRecorded, purpose="share-with-school", agency_id=None),
            event(ConsentRecorded),  # share-with-agency for the youth team
            await svc.member(**GRANDMA),
            await svc.member(**TEACHER),
            await svc.member(**YOUTH_TEAM),
        )
        for_grandma = event(TaskAssigned)
        for_agency = event(
            TaskAssigned,
            task_id="task_referral00001",
            assignee_id="mbr_youthteam0001",
            assignee_kind="agency",
            category="referral",
        )
        await svc.publish(for_grandma, for_agency, event(FindingsRecorded, advice=ADVICE))
        await svc.publish(event(spec_for_diploma()))
        await eventually(lambda: len(svc.smtp.messages) >= 3, "three e-mails", timeout=30)
        await eventually(lambda: len(svc.hooks.hooks) >= 1, "the webhook", timeout=30)

        [ria] = svc.smtp.to("ria@example.org")
        assert ria.subject == "Nieuwe taak: helpen met huiswerk"
        assert "Beste Oma Ria" in ria.text and "28 maart 2025" in ria.text
        [taylor] = svc.smtp.to("taylor@school.example.org")
        assert taylor.subject == "Advice for school: what helps Sam"
        assert "working memory" in taylor.text
        [fatima] = svc.smtp.to("fatima@example.org")
        assert fatima.subject == "Het diploma van Sam is klaar!"
        # the link opens that one diploma for the family, without an account
        path = "/diplomas/dip_0c1d2e3f4a5b6c7d.pdf"
        found = re.search(rf"https://screening\.vrac\.example\.org{path}\?link=(\S+)", fatima.text)
        assert found, fatima.text
        # signed by screening, with screening's key: notifications only asked for it
        screening = Tokens.from_settings(
            ServiceSettings(service_name="screening", development=True)
        )
        assert screening.verify_link(found.group(1), path).path == path

        [hook] = svc.hooks.hooks
        assert hook.signed_with(SECRET)
        assert not hook.signed_with(NEXT_SECRET)
        body = json.loads(hook.body)
        assert (body["kind"], body["task_id"], body["category"]) == (
            "task-assigned",
            "task_referral00001",
            "referral",
        )
        assert "Sam" not in hook.body.decode()  # an agency gets the case id, not the name
        assert (
            hook.headers["webhook-id"] == hook.headers["x-vrac-delivery"] == body["notification_id"]
        )

        delivered = await svc.published(NotificationDelivered, expect=4)
        assert len(delivered) == 4
        triggers = {e.data.trigger_event_id for e in delivered}
        assert {for_grandma.id, for_agency.id} <= triggers
        rows = await svc.deliveries()
        # the family's advice waits for the screening consent, which this case never got
        [advice] = [r for r in rows if r["kind"] == "family-advice"]
        assert (advice["status"], advice["error_code"]) == ("withheld", "no-consent")
        rows = [r for r in rows if r is not advice]
        assert sorted(r["channel"] for r in rows) == ["email", "email", "email", "webhook"]
        assert {r["status"] for r in rows} == {"delivered"}


def spec_for_diploma() -> type[EventData]:
    from vrac_contracts.events import DiplomaIssued

    return DiplomaIssued


async def test_the_same_event_delivered_twice_sends_one_email(service_factory) -> None:
    async with service_factory() as svc:
        await svc.publish(await svc.member(**GRANDMA), await svc.member(**NEIGHBOUR))
        assigned = event(TaskAssigned)
        await svc.publish(assigned, assigned)
        # a later task on the same partition: once it is handled, so is the duplicate
        later = event(
            TaskAssigned,
            task_id="task_transport0001",
            assignee_id="mbr_neighbour0001",
            category="transport",
        )
        await svc.publish(later)
        await eventually(lambda: svc.smtp.to("kees@example.org"), "later mail", timeout=30)
        assert len(svc.smtp.to("ria@example.org")) == 1
        delivered = await svc.published(NotificationDelivered, expect=2)
        assert sorted(e.data.trigger_event_id for e in delivered) == sorted([assigned.id, later.id])


async def test_a_webhook_failing_past_the_retry_time_is_recorded_failed_once(
    service_factory,
) -> None:
    # retried for 1.8 s only, so that the test ends; the triggering event is handled fine
    async with service_factory(fail_hooks=1000, delivery_retry_hours=0.0005) as svc:
        await svc.register_webhook()
        await svc.publish(event(ConsentRecorded), await svc.member(**YOUTH_TEAM))
        await svc.until_directory("the agency and its consent", agency_known)
        assigned = event(TaskAssigned, assignee_id="mbr_youthteam0001", assignee_kind="agency")
        await svc.publish(assigned)
        failed = await svc.published(NotificationFailed, expect=2)
        assert [(f.data.error_code, f.data.final) for f in failed] == [
            ("http-error", False),
            ("http-error", True),
        ]
        [row] = await svc.deliveries()
        assert (row["status"], row["error_code"], row["next_attempt_at"]) == (
            "failed",
            "http-error",
            None,
        )
        assert row["attempts"] == svc.hooks.attempts >= 2


async def test_a_webhook_that_fails_once_is_delivered_on_the_retry(service_factory) -> None:
    async with service_factory(fail_hooks=1) as svc:
        await svc.register_webhook()
        await svc.publish(event(ConsentRecorded), await svc.member(**YOUTH_TEAM))
        await svc.publish(event(TaskAssigned, assignee_id="mbr_youthteam0001"))
        await eventually(lambda: svc.hooks.hooks, "the webhook", timeout=30)
        assert svc.hooks.hooks[0].signed_with(SECRET)
        [delivered] = await svc.published(NotificationDelivered, expect=1)
        # every attempt is counted: the refused one, and any answer that came too late
        assert delivered.data.attempts == svc.hooks.attempts >= 2


async def test_a_withdrawn_consent_stops_the_messages_it_covered(service_factory) -> None:
    async with service_factory() as svc:
        await svc.register_webhook()
        await svc.publish(
            event(ConsentRecorded, changed_at="2025-03-01T10:00:00Z"),
            await svc.member(**YOUTH_TEAM),
            await svc.member(**GRANDMA),
        )
        await svc.publish(event(TaskAssigned, assignee_id="mbr_youthteam0001"))
        await eventually(lambda: svc.hooks.hooks, "the first webhook", timeout=30)
        await svc.publish(
            event(ConsentRecorded, granted=False, changed_at="2025-03-20T10:00:00Z"),
            # an older grant arriving late must not revive it
            event(ConsentRecorded, granted=True, changed_at="2025-03-10T10:00:00Z"),
        )
        await svc.until_directory(
            "the withdrawal", lambda doc: not doc["consents"][AGENCY_CONSENT]["granted"]
        )
        overdue = event(TaskOverdue, assignee_id="mbr_youthteam0001")
        await svc.publish(overdue)
        # grandma's task, after the reminder on the same partition, shows it was handled
        await svc.publish(
            event(TaskOverdue, assignee_id="mbr_4d5e6f7a8b9c", assignee_kind="family")
        )
        await eventually(lambda: svc.smtp.to("ria@example.org"), "the mail", timeout=30)
        assert len(svc.hooks.hooks) == 1
        rows = {r["trigger_event_id"]: r for r in await svc.deliveries()}
        assert (rows[overdue.id]["status"], rows[overdue.id]["error_code"]) == (
            "withheld",
            "no-consent",
        )


async def test_a_malformed_message_is_dead_lettered_and_the_next_one_handled(
    service_factory,
) -> None:
    async with service_factory() as svc:
        await svc.publish(await svc.member(**GRANDMA))
        good = encode(event(TaskAssigned))
        await svc.send(good.topic, b'{"case_id": "case_7Hq2mX9aK3pL0sVd"', good.key, good.headers)
        await svc.send(good.topic, good.value, good.key, good.headers)
        [dead] = await svc.dead_letters(TaskAssigned, expect=1)
        assert dict(dead.headers)[DLQ_REASON] == b"undecodable"
        await eventually(lambda: svc.smtp.to("ria@example.org"), "the mail", timeout=30)


async def test_http_auth_validation_and_unknown_ids(service_factory) -> None:
    async with service_factory() as svc:
        await svc.publish(await svc.member(**GRANDMA))
        await wait_until_case_known(svc)
        url = f"/cases/{CASE}/deliveries"
        assert (await svc.http.get(url)).status_code == 401
        assert (await svc.http.get(url, headers=svc.token(pilot="mechelen"))).status_code == 403
        assert (await svc.http.get(url, headers=svc.token(role="agency"))).status_code == 403
        unknown = await svc.http.get("/cases/case_unknown000001/deliveries", headers=svc.token())
        assert unknown.status_code == 404
        bad = await svc.http.get("/cases/not-a-case/deliveries", headers=svc.token())
        assert bad.status_code == 422 and "case_id" in bad.json()["detail"]

        hook = f"/agencies/{AGENCY}/webhook"
        mine = svc.token("agency", subject=AGENCY)
        short = await svc.http.put(hook, json={"url": svc.hooks.url, "secret": "x"}, headers=mine)
        assert short.status_code == 422 and "secret" in short.json()["detail"]
        no_url = await svc.http.put(hook, json={"url": "ftp://x", "secret": SECRET}, headers=mine)
        assert no_url.status_code == 422 and "url" in no_url.json()["detail"]
        assert (await svc.http.get(hook, headers=mine)).status_code == 404
        other_agency = svc.token("agency", subject="agy_someoneelse01")
        put = {"url": svc.hooks.url, "secret": SECRET}
        assert (await svc.http.put(hook, json=put, headers=other_agency)).status_code == 403
        assert (await svc.http.put(hook, json=put, headers=svc.token())).status_code == 403
        assert (await svc.http.put(hook, json=put, headers=mine)).status_code == 200
        other_pilot = svc.token("agency", pilot="lille", subject=AGENCY)
        assert (await svc.http.put(hook, json=put, headers=other_pilot)).status_code == 403
        shown = (await svc.http.get(hook, headers=mine)).json()
        assert shown == shown | {"agency_id": AGENCY, "pilot": "leiden", "url": svc.hooks.url}
        assert "secret" not in shown and SECRET not in json.dumps(shown)
        admin = svc.token("admin", pilot="*")
        missing_pilot = await svc.http.put(hook, json=put, headers=admin)
        assert missing_pilot.status_code == 422 and "pilot" in missing_pilot.json()["detail"]


async def wait_until_case_known(svc: Service) -> None:
    async def known() -> bool:
        reply = await svc.http.get(f"/cases/{CASE}/deliveries", headers=svc.token())
        return reply.status_code == 200

    deadline = 30
    import asyncio

    for _ in range(deadline * 10):
        if await known():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the case never reached the directory")
