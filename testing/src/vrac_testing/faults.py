"""Fault tests' kit: break a running platform the way production breaks, and say what a user
would see afterwards.

- ``LocalBroker`` stops and starts the local stack's Kafka broker (``stack.py kafka-stop`` and
  ``kafka-start``), on its own storage; only when that broker is the one the tests use.
- ``Faults`` SIGKILLs a service's process and starts it again; ``Gate`` keeps a test's HTTP
  calls and a kill of the service they go to apart, so no request straddles the kill (its
  answer would be lost and the test could not know whether to send it again), while
  everything the service does in the background (relaying its outbox, handling events,
  sending messages) is cut off in the middle.
- ``CaseStream`` drives cases through intake, screening and network over HTTP, as coaches do,
  and knows what each case is owed: one diploma, two e-mails to the guardian (the diploma's
  link, the screening's advice for the family), one to a helper and one webhook to the youth
  team.
- ``verify`` checks, at the end, what the users got (``Outcome``: diplomas, e-mails,
  webhooks, the deliveries the coach sees, ``notification-delivered`` events), then the dead
  letters and the pilot's report.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from vrac_contracts.catalogue import consumed_by, spec_for
from vrac_contracts.events import NotificationDelivered

from vrac_testing.builders import family_registration
from vrac_testing.infrastructure import Infrastructure, local_stack_ports, stack
from vrac_testing.polling import eventually
from vrac_testing.processes import SERVICES, Platform
from vrac_testing.sinks import ReceivedHook, ReceivedMail, SmtpSink, WebhookReceiver
from vrac_testing.tokens import bearer

# Set to ``local-stack`` to let fault tests stop the broker of this checkout's local stack
# while the tests were given explicit Kafka and MongoDB URLs (a private stack on other ports).
BROKER_CONTROL = "VRAC_FAULTS_BROKER"

SCORES = {
    "scores": [
        {"domain": "working-memory", "kind": "percentile", "score": 88},
        {"domain": "creativity", "kind": "percentile", "score": 91},
    ]
}
CONSENTS = ("screening", "diploma", "reporting", "share-with-agency")


# --- the broker ----------------------------------------------------------------------------------


@dataclass
class LocalBroker:
    """The local stack's broker, stopped and started through ``stack.py``."""

    bootstrap: str

    def stop(self) -> None:
        self._run("kafka-stop")

    def start(self) -> None:
        self._run("kafka-start")

    def _run(self, command: str) -> None:
        done = stack(command)
        if done.returncode != 0:
            raise RuntimeError(f"stack.py {command} failed: {done.stderr.strip()}")


def local_broker(infra: Infrastructure) -> tuple[LocalBroker | None, str]:
    """The broker the tests use, if this run may stop it; else None and why not.

    Under ``make test`` the harness found (or started) this checkout's local stack itself, so
    its broker is ours to stop. With explicit URLs the broker could be anyone's: it is
    stopped only when ``VRAC_FAULTS_BROKER=local-stack`` says it is this checkout's stack.
    """
    kafka_port, _ = local_stack_ports()
    own = f"127.0.0.1:{kafka_port}"
    allowed = infra.source == "local stack" or os.environ.get(BROKER_CONTROL) == "local-stack"
    if not allowed:
        return None, (
            f"the broker ({infra.kafka_bootstrap}, from the {infra.source}) is not this "
            f"checkout's local stack: run under `make test`, or set {BROKER_CONTROL}=local-stack "
            "with VRAC_KAFKA_PORT naming a local stack of your own"
        )
    if infra.kafka_bootstrap != own:
        return None, f"the tests use {infra.kafka_bootstrap}, the local stack serves {own}"
    if "kafka     running" not in stack("status").stdout:
        return None, "the local stack's broker is not running from this checkout's state folder"
    return LocalBroker(own), ""


# --- killing services ----------------------------------------------------------------------------


class Gate:
    """Lets HTTP calls to one service through, or holds them while the service is killed and
    started again (as a user would wait for it and try again)."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._busy = 0
        self._closed = False

    @asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._closed)
            self._busy += 1
        try:
            yield
        finally:
            async with self._changed:
                self._busy -= 1
                self._changed.notify_all()

    @asynccontextmanager
    async def closed(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._closed and self._busy == 0)
            self._closed = True
        try:
            yield
        finally:
            async with self._changed:
                self._closed = False
                self._changed.notify_all()


@dataclass
class Faults:
    """The faults done to one platform, and when (monotonic clock)."""

    platform: Platform
    gates: dict[str, Gate] = field(default_factory=lambda: {s: Gate() for s in SERVICES})
    kills: list[tuple[str, float]] = field(default_factory=list)

    async def kill_and_restart(self, name: str) -> None:
        """SIGKILL ``name`` (a service or a replica) and start it again, waiting until ready."""
        service = self.platform.services[name].service
        async with self.gates[service].closed():
            self.kills.append((service, time.monotonic()))
            await asyncio.to_thread(self.platform.kill, name)
            await asyncio.to_thread(self.platform.start, (name,), 120.0)

    def killed_just_before(self, service: str, moment: float, window: float) -> bool:
        """Whether ``service`` was killed within ``window`` seconds after ``moment``."""
        return any(s == service and 0 <= at - moment <= window for s, at in self.kills)


# --- driving cases -------------------------------------------------------------------------------


GUARDIAN_MESSAGES = 2  # the diploma's link and the screening's advice for the family


@dataclass
class Case:
    """One case and what it is owed: by default four messages (the guardian's diploma and
    advice e-mails, the helper's task e-mail, the youth team's webhook). A test that adds messages
    says so: ``extra_emails`` must arrive like the others; a message to one of
    ``doubtful_recipients`` (a member whose name no current version accepts) need only be
    settled, delivered or failed, never left pending."""

    case_id: str
    guardian_email: str
    helper_email: str
    tasks: int = 0
    owed: int = 4
    extra_emails: list[str] = field(default_factory=list)
    doubtful_recipients: set[str] = field(default_factory=set)


@dataclass
class CaseStream:
    """Cases of one pilot through intake, consent, screening (the diploma), network (a helper
    reached by e-mail, the youth team by signed webhook) and one task for each."""

    platform: Platform
    faults: Faults
    hooks: WebhookReceiver
    pilot: str
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    timeout: float = 180.0
    cases: list[Case] = field(default_factory=list)
    started: int = 0
    # A fresh connection per request: a kept-alive one the server closes as idle just as a
    # request goes out fails that request without the service having seen it.
    http: httpx.AsyncClient = field(
        default_factory=lambda: httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        )
    )

    def __post_init__(self) -> None:
        self.agency_id = f"agy_{self.tag}"
        # a Standard Webhooks secret: whsec_ + base64 of at least 24 bytes
        self.hook_secret = (
            "whsec_" + base64.b64encode(f"webhook-secret-of-agency-{self.tag}".encode()).decode()
        )
        self.coach = bearer("coach", self.pilot, "coach")
        self.lead = bearer("pilot-lead", self.pilot, "lead")
        self.agency = bearer("agency", self.pilot, self.agency_id)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self, method: str, service: str, path: str, headers: dict[str, str], **kwargs: Any
    ) -> httpx.Response:
        """One request, sent again only when it never reached the service (connection
        refused): a request the service received is never repeated."""
        deadline = time.monotonic() + self.timeout
        while True:
            async with self.faults.gates[service].call():
                try:
                    return await self.http.request(
                        method, self.platform.url(service) + path, headers=headers, **kwargs
                    )
                except httpx.ConnectError:
                    if time.monotonic() > deadline:
                        raise
            await asyncio.sleep(0.5)

    async def ok(
        self,
        method: str,
        service: str,
        path: str,
        headers: dict[str, str],
        not_yet: Iterable[int] = (),
        **kwargs: Any,
    ) -> Any:
        """The JSON answer; statuses in ``not_yet`` (the service has not heard of the case
        yet) are asked again until the timeout, any other error fails."""
        waiting = set(not_yet)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = await self.call(method, service, path, headers, **kwargs)
            if reply.status_code < 400:
                return reply.json()
            if reply.status_code not in waiting or time.monotonic() > deadline:
                raise AssertionError(f"{method} {service}{path}: {reply.status_code} {reply.text}")
            await asyncio.sleep(0.5)

    async def register_webhook(self) -> None:
        body = {"url": self.hooks.url, "secret": self.hook_secret}
        await self.ok(
            "PUT", "notifications", f"/agencies/{self.agency_id}/webhook", self.agency, json=body
        )

    async def one_case(self, index: int) -> Case:
        self.started += 1
        guardian = f"guardian-{self.tag}-{index}@example.org"
        helper = f"helper-{self.tag}-{index}@example.org"
        opened = await self.ok(
            "POST",
            "intake",
            "/cases",
            self.coach,
            json=family_registration(
                {"name": "Fatima", "email": guardian, "preferred_channel": "email"},
                pilot=self.pilot,
            ),
        )
        case = Case(opened["case_id"], guardian, helper)
        self.cases.append(case)
        base = f"/cases/{case.case_id}"
        recorded_by = {"guardian_id": opened["guardians"][0]["guardian_id"]}
        for purpose in CONSENTS:
            body: dict[str, Any] = {"purpose": purpose, "granted": True, "recorded_by": recorded_by}
            if purpose == "share-with-agency":
                body["agency_id"] = self.agency_id
            await self.ok("POST", "intake", f"{base}/consents", self.coach, json=body)
        await self.ok(
            "POST", "screening", f"{base}/screenings", self.coach, not_yet=(404, 409), json=SCORES
        )
        members = [
            {
                "kind": "informal",
                "role": "base-worker",
                "display_name": "Oma",
                "relationship": "grandmother",
                "email": helper,
                "channel": "email",
                "language": "nl",
            },
            {
                "kind": "agency",
                "role": "spider-in-the-web",
                "display_name": "Jeugdteam",
                "agency_id": self.agency_id,
                "channel": "webhook",
                "language": "nl",
            },
        ]
        for member in members:
            added = await self.ok(
                "POST", "network", f"{base}/members", self.coach, not_yet=(404, 409), json=member
            )
            task = {"category": "homework-support", "assignee_id": added["member_id"]}
            # 409 until network has read the parents' share-with-agency decision
            await self.ok("POST", "network", f"{base}/tasks", self.coach, not_yet=(409,), json=task)
            case.tasks += 1
        return case

    async def run(self, count: int, concurrency: int = 3) -> list[Case]:
        """``count`` cases, ``concurrency`` at a time."""
        slots = asyncio.Semaphore(concurrency)
        first = len(self.cases)

        async def limited(index: int) -> Case:
            async with slots:
                return await self.one_case(index)

        return await asyncio.gather(*(limited(first + i) for i in range(count)))

    async def wait_started(self, count: int) -> None:
        await eventually(lambda: self.started >= count, f"{count} cases to start", self.timeout)

    # what the users got

    async def diplomas(self, case: Case) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.ok(
            "GET", "screening", f"/cases/{case.case_id}/diplomas", self.coach
        )
        return found

    async def deliveries(self, case: Case) -> list[dict[str, Any]]:
        found = await self.ok(
            "GET",
            "notifications",
            f"/cases/{case.case_id}/deliveries",
            self.coach,
            not_yet=(404,),
        )
        return list(found["deliveries"])

    async def report_totals(self) -> dict[str, Any]:
        """The pilot's report, every month added up (a run may cross midnight at a month's
        end); a suppressed cell stays the marker."""
        found = await self.ok("GET", "reporting", f"/reports/pilots/{self.pilot}", self.lead)
        totals: dict[str, Any] = {}
        for month in found["months"]:
            for name, value in month.items():
                if isinstance(value, str) and name != "month":
                    totals[name] = value  # suppressed: the sum is unknown
                elif isinstance(value, int) and not isinstance(totals.get(name), str):
                    totals[name] = totals.get(name, 0) + value
        return totals


# --- reading topics ------------------------------------------------------------------------------


async def read_to_end(bootstrap: str, topics: Iterable[str]) -> list[ConsumerRecord[Any, Any]]:
    """Every record the topics hold now (topics that do not exist hold none)."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        existing = await reader.topics()
        # topics() asks the broker but does not fill the client's own metadata
        await reader._client.force_metadata_update()
        partitions = [
            TopicPartition(topic, p)
            for topic in sorted(set(topics) & existing)
            for p in sorted(reader.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return []
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        records: list[ConsumerRecord[Any, Any]] = []

        async def behind() -> bool:
            return any([await reader.position(tp) < end for tp, end in ends.items()])

        while await behind():
            batch = await reader.getmany(*partitions, timeout_ms=500)
            for part in batch.values():
                records.extend(part)
        return records
    finally:
        await reader.stop()


def dead_letter_topics(prefix: str) -> set[str]:
    return {prefix + spec.dlq_topic for service in SERVICES for spec in consumed_by(service)}


async def dead_letters(platform: Platform) -> list[ConsumerRecord[Any, Any]]:
    return await read_to_end(platform.kafka_bootstrap, dead_letter_topics(platform.prefix))


def header(record: ConsumerRecord[Any, Any], name: str) -> str:
    for key, value in record.headers:
        if key == name:
            return bytes(value).decode()
    return ""


async def delivered_events(platform: Platform) -> list[ConsumerRecord[Any, Any]]:
    topic = platform.prefix + spec_for(NotificationDelivered).topic
    return await read_to_end(platform.kafka_bootstrap, [topic])


# --- what the users got, checked -----------------------------------------------------------------


@dataclass
class Outcome:
    """What one stream's users received, gathered once everything owed has arrived."""

    mails: list[ReceivedMail]
    hooks: list[ReceivedHook]
    diplomas: dict[str, list[dict[str, Any]]]
    deliveries: dict[str, list[dict[str, Any]]]
    delivered: Counter[str]

    def doubled_mails(self) -> dict[str, int]:
        counts = Counter(m.notification_id for m in self.mails)
        return {k: n for k, n in counts.items() if n > 1}

    def doubled_hooks(self) -> dict[str, int]:
        counts = Counter(str(h.json["notification_id"]) for h in self.hooks)
        return {k: n for k, n in counts.items() if n > 1}


async def gather_outcome(stream: CaseStream, smtp: SmtpSink, timeout: float = 120.0) -> Outcome:
    """Wait until every case has its diploma, its two e-mails, its webhook and every delivery
    recorded as delivered, then collect what was received."""
    cases = list(stream.cases)
    ids = {c.case_id for c in cases}
    addresses = {a for c in cases for a in (c.guardian_email, c.helper_email, *c.extra_emails)}

    def mails() -> list[ReceivedMail]:
        return [m for m in list(smtp.messages) if addresses & set(m.recipients)]

    def hooks() -> list[ReceivedHook]:
        return [h for h in list(stream.hooks.hooks) if h.json.get("case_id") in ids]

    async def diplomas_made() -> bool:
        return all([await stream.diplomas(c) for c in cases])

    def everything_received() -> bool:
        received = {a for m in mails() for a in m.recipients}
        return received >= addresses and {h.json["case_id"] for h in hooks()} >= ids

    try:
        await eventually(diplomas_made, "every case's diploma", timeout, interval=1)
        await eventually(
            everything_received, "every e-mail and webhook owed", timeout, interval=0.5
        )
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}; {await _missing(stream, mails(), hooks())}") from None

    async def all_delivered() -> dict[str, list[dict[str, Any]]] | None:
        found = {c.case_id: await stream.deliveries(c) for c in cases}
        done = all(
            len(found[c.case_id]) == c.owed and all(_settled(c, d) for d in found[c.case_id])
            for c in cases
        )
        return found if done else None

    try:
        deliveries = await eventually(all_delivered, "every delivery recorded", timeout, 1)
    except AssertionError:
        found = {c.case_id: await stream.deliveries(c) for c in cases}
        pending = {
            case_id: [(d["kind"], d["channel"], d["status"], d["attempts"]) for d in listed]
            for case_id, listed in found.items()
            if any(d["status"] != "delivered" for d in listed)
        }
        raise AssertionError(
            f"deliveries not delivered (kind, channel, status, attempts): {pending}"
        ) from None
    delivery_ids = {
        d["delivery_id"]
        for found in deliveries.values()
        for d in found
        if d["status"] == "delivered"
    }

    async def delivered_counted() -> Counter[str] | None:
        published = await _notification_ids(stream.platform)
        counted = Counter({i: published[i] for i in delivery_ids if i in published})
        return counted if set(counted) == delivery_ids else None

    try:
        delivered = await eventually(
            delivered_counted, "a notification-delivered event per delivery", timeout, interval=1
        )
    except AssertionError:
        published = await _notification_ids(stream.platform)
        missing = sorted(delivery_ids - set(published))
        raise AssertionError(
            f"no notification-delivered for {len(missing)} of {len(delivery_ids)} delivered "
            f"deliveries ({len(published)} published in all), e.g. {missing[:3]}"
        ) from None
    return Outcome(
        mails(),
        hooks(),
        {c.case_id: await stream.diplomas(c) for c in cases},
        deliveries,
        delivered,
    )


async def _missing(stream: CaseStream, mails: list[ReceivedMail], hooks: list[ReceivedHook]) -> str:
    """What each incomplete case lacks, and its deliveries as the coach sees them."""
    received = {a for m in mails for a in m.recipients}
    hooked = {h.json["case_id"] for h in hooks}
    lines = []
    for case in stream.cases:
        lacks = [
            what
            for what, missing in (
                ("diploma", not await stream.diplomas(case)),
                ("guardian e-mail", case.guardian_email not in received),
                ("helper e-mail", case.helper_email not in received),
                ("webhook", case.case_id not in hooked),
                *((f"e-mail to {a}", a not in received) for a in case.extra_emails),
            )
            if missing
        ]
        if lacks:
            reply = await stream.call(
                "GET", "notifications", f"/cases/{case.case_id}/deliveries", stream.coach
            )
            listed = reply.json().get("deliveries", []) if reply.status_code == 200 else []
            seen = [
                (d["kind"], d["channel"], d["status"], d["attempts"], d["error_code"])
                for d in listed
            ]
            lines.append(f"{case.case_id} lacks {lacks}; deliveries {seen}")
    return " | ".join(lines) or "nothing missing now"


def _settled(case: Case, delivery: dict[str, Any]) -> bool:
    if delivery["recipient_id"] in case.doubtful_recipients:
        return str(delivery["status"]) in ("delivered", "failed")
    return bool(delivery["status"] == "delivered")


async def _notification_ids(platform: Platform) -> Counter[str]:
    """How many ``notification-delivered`` events each delivery id has: distinct ``ce_id``s,
    since a relay may publish one event twice (at least once, the same ``ce_id``) and
    consumers drop such a copy; two ids would be two events."""
    events = {
        (str(json.loads(r.value)["notification_id"]), header(r, "ce_id"))
        for r in await delivered_events(platform)
    }
    return Counter(notification_id for notification_id, _ in events)


def expected_report(cases: int) -> dict[str, int]:
    """The report cells a stream of ``cases`` cases fills, each case counted once."""
    return {
        "cases_opened": cases,
        "screenings_completed": cases,
        "diplomas_issued": cases,
        "tasks_assigned": 2 * cases,
        "tasks_informal_network": cases,
        "tasks_professional": cases,
    }


async def report_matches(stream: CaseStream, timeout: float = 60.0) -> dict[str, Any]:
    expected = expected_report(len(stream.cases))

    async def matches() -> dict[str, Any] | None:
        totals = await stream.report_totals()
        return totals if all(totals.get(k) == v for k, v in expected.items()) else None

    try:
        return await eventually(matches, "the report to count every case once", timeout, 1)
    except AssertionError:
        totals = await stream.report_totals()
        shown = {k: totals.get(k) for k in expected}
        raise AssertionError(f"report {shown} != expected {expected}") from None


async def verify(
    stream: CaseStream,
    smtp: SmtpSink,
    poison: set[str] | None = None,
    crash_window: float = 5.0,
    timeout: float = 120.0,
    report: bool = True,
) -> Outcome:
    """Nothing lost, nothing done twice, nothing dead-lettered but ``poison`` (``ce_id``s),
    as the users see it: the end check of every fault test.

    The one duplicate allowed is the documented window: the receiving server took the
    message, and notifications was killed (within ``crash_window`` seconds after) before it
    recorded the send.
    """
    outcome = await gather_outcome(stream, smtp, timeout)
    made = {case: len(found) for case, found in outcome.diplomas.items()}
    assert all(n == 1 for n in made.values()), f"diplomas per case: {made}"

    def outside_window(sent: list[float]) -> bool:
        first = min(sent)
        return not stream.faults.killed_just_before("notifications", first, crash_window)

    mail_times: dict[str, list[float]] = {}
    for mail in outcome.mails:
        mail_times.setdefault(mail.notification_id, []).append(mail.received_at)
    twice = {i: n for i, n in outcome.doubled_mails().items() if outside_window(mail_times[i])}
    assert not twice, f"e-mails received more than once (X-VRAC-Notification: count): {twice}"
    per_address = Counter(a for m in outcome.mails for a in m.recipients)
    distinct = {
        a: len({m.notification_id for m in outcome.mails if a in m.recipients}) for a in per_address
    }
    owed = Counter(a for c in stream.cases for a in (c.helper_email, *c.extra_emails))
    for case in stream.cases:
        owed[case.guardian_email] += GUARDIAN_MESSAGES
    assert distinct == {a: owed[a] for a in distinct}, f"distinct messages per address: {distinct}"

    hook_times: dict[str, list[float]] = {}
    for hook in outcome.hooks:
        hook_times.setdefault(str(hook.json["notification_id"]), []).append(hook.received_at)
    twice = {i: n for i, n in outcome.doubled_hooks().items() if outside_window(hook_times[i])}
    assert not twice, f"webhooks received more than once (notification_id: count): {twice}"
    per_case = Counter(h.json["case_id"] for h in outcome.hooks)
    assert set(per_case) == {c.case_id for c in stream.cases}

    published = {i: n for i, n in outcome.delivered.items() if n != 1}
    assert not published, f"notification-delivered events (distinct ce_id) per id: {published}"

    await assert_no_dead_letters(stream, poison or set())
    if report:
        await report_matches(stream)
    return outcome


async def assert_no_dead_letters(stream: CaseStream, poison: set[str]) -> None:
    """No dead letter of the stream's cases (the platform is shared by the fault tests, so a
    dead letter is this test's when its key is one of its cases) but the ``poison``."""
    ids = {c.case_id.encode() for c in stream.cases}
    letters = [
        r
        for r in await dead_letters(stream.platform)
        if r.key in ids and header(r, "ce_id") not in poison
    ]
    found = [
        (
            r.topic,
            header(r, "vrac_dlq_group"),
            header(r, "vrac_dlq_reason"),
            header(r, "vrac_dlq_error"),
        )
        for r in letters
    ]
    assert not found, f"dead-lettered (topic, group, reason, error): {found}"
