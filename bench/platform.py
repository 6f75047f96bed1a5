"""The platform run: the same number of events through the real services, each its own process.

Timed from the moment the bench publishes a case's ``findings-recorded`` (what screening
publishes once a coach recorded a screening) to the moment it reads that case's
``notification-delivered``. Between them, the same three hops as the baseline: the diploma
maker (screening) consumes the event, makes the diploma and publishes ``diploma-issued``;
notifications consumes that, e-mails the guardian through the SMTP sink, records the
delivery and publishes ``notification-delivered``; the bench consumes it. Notifications holds
each first send ``VRAC_DELIVERY_HOLD_SECONDS`` (so a late withdrawal can still stop it); the
bench sets the hold it was given, 0 unless told otherwise, so that the figure is the
pipeline's own cost.

Before timing, every case is registered as intake would do it (``case-opened``,
``family-registered`` with the child's and one guardian's details sealed under intake's data
keys, ``consent-recorded`` granting the diploma), and the bench waits until both services have
consumed all of it. Intake runs too, only to serve those keys.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import consumed_by, spec_for
from vrac_contracts.envelope import encode, new_envelope
from vrac_contracts.events import (
    CaseOpened,
    ChildDetails,
    ConsentRecorded,
    DiplomaIssued,
    FamilyRegisteredV2,
    FindingsRecorded,
    GuardianDetails,
    NotificationDelivered,
)
from vrac_contracts.events.base import EventData
from vrac_runtime.keks import DEVELOPMENT_KEK, KeyEncryptionKeys
from vrac_runtime.sealing import DataKeys
from vrac_runtime.settings import ServiceSettings
from vrac_testing.cleanup import forget_prefixes
from vrac_testing.infrastructure import state_folder
from vrac_testing.processes import Platform, free_port

from bench.measure import Path, Progress, Run, timed_run
from bench.memory import peak_mib

SERVICES = ("screening", "notifications")  # the two services on the measured path
KEY_OWNER = "intake"  # serves the data keys of the family's sealed details
# the hops of the measured path, by the service that publishes on each topic
HOPS = ["diploma maker", "notifications"]


@dataclass
class PlatformUnderTest:
    platform: Platform
    sink: subprocess.Popen[str]
    settings: ServiceSettings
    cases: list[str]
    producer: AIOKafkaProducer
    rounds: int = 0
    memory: dict[str, float | None] = field(default_factory=dict)

    def topic(self, model: type[EventData]) -> str:
        return self.settings.topic(spec_for(model).topic)

    async def publish(self, data: EventData) -> Any:
        record = encode(new_envelope(data))
        return await self.producer.send(
            self.settings.topic(record.topic),
            value=record.value,
            key=record.key,
            headers=record.headers,
        )

    def peak_memory(self) -> dict[str, float | None]:
        found = {
            name: peak_mib(self.platform.services[name].process.pid)  # type: ignore[union-attr]
            for name in SERVICES
        }
        found["smtp sink"] = peak_mib(self.sink.pid)
        return found


def _case(tag: str, i: int) -> str:
    return f"case_{tag}{i:08d}"


async def _registration(keys: DataKeys, case_id: str) -> list[EventData]:
    now = dt.datetime.now(dt.UTC)
    base = {"case_id": case_id, "pilot": "leiden", "occurred_at": now}
    family = spec_for(FamilyRegisteredV2).example
    guardian_id = family["guardians"][0]["guardian_id"]
    child = ChildDetails(child_first_name="Sam", birth_year=2016)
    guardian = {
        **family["guardians"][0],
        "preferred_channel": "email",
        "details": await keys.seal(
            case_id, guardian_id, GuardianDetails(name="Fatima", email="fatima@example.org")
        ),
    }
    return [
        CaseOpened.model_validate({**base, "programme": "pit", "opened_at": now}),
        FamilyRegisteredV2.model_validate(
            {
                **family,
                **base,
                "child": await keys.seal(case_id, case_id, child),
                "guardians": [guardian],
            }
        ),
        ConsentRecorded.model_validate(
            {
                **spec_for(ConsentRecorded).example,
                **base,
                "purpose": "diploma",
                "agency_id": None,
                "changed_at": now,
            }
        ),
    ]


async def start_platform(
    bootstrap: str,
    mongodb_url: str,
    cases: int,
    logs: FilePath,
    before_start: Callable[[Platform], Awaitable[object]] | None = None,
) -> PlatformUnderTest:
    """The services running with ``cases`` registered; ``before_start`` may fill their
    databases first (the year of data of the data-growth run)."""
    tag = uuid.uuid4().hex[:8]
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.smtp_sink", str(port)], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None
    sink.stdout.readline()  # "ready"
    prefix = f"bench{tag}."
    platform = Platform(
        bootstrap,
        mongodb_url,
        prefix,
        logs,
        extra_env={
            "VRAC_SMTP_HOST": "127.0.0.1",
            "VRAC_SMTP_PORT": str(port),
            "VRAC_DELIVERY_HOLD_SECONDS": os.environ.get("VRAC_DELIVERY_HOLD_SECONDS", "0"),
        },
    )
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5
    )
    case_ids = [_case(tag, i) for i in range(cases)]
    put = PlatformUnderTest(platform, sink, settings, case_ids, producer)
    try:
        if before_start is not None:
            await before_start(platform)
        platform.start((KEY_OWNER, *SERVICES))
        await producer.start()
        await _register_all(put)
    except BaseException:
        await stop_platform(put)  # nothing of a failed start is left running or stored
        await forget_prefixes(bootstrap, mongodb_url, {prefix.rstrip(".")})
        raise
    return put


async def _register_all(put: PlatformUnderTest) -> None:
    progress = Progress("registering cases", len(put.cases))
    pending = []
    client: AsyncMongoClient[Any] = AsyncMongoClient(put.platform.mongodb_url)
    # the keys intake would have made: in its database, wrapped by the local default KEK
    database = put.platform.env(KEY_OWNER)["VRAC_MONGODB_DATABASE"]
    keys = DataKeys(client[database], KeyEncryptionKeys.parse(DEVELOPMENT_KEK))
    try:
        for case_id in put.cases:
            pending += [await put.publish(data) for data in await _registration(keys, case_id)]
            progress.advance()
    finally:
        await client.close()
    await asyncio.gather(*pending)
    # ten minutes, and a second more per ten events: a busy machine is slow, not stuck
    await _wait_consumed(put, "intake", timeout=600 + len(pending) / 10)


async def _wait_consumed(
    put: PlatformUnderTest, producer: str, stalled: float = 120, timeout: float = 600
) -> None:
    """Until every consumer group of the services has committed up to the end of the topics
    that ``producer`` publishes on; raises once they made no progress for ``stalled`` s, or
    are not done after ``timeout`` s."""
    pairs = [
        (put.settings.group(spec.group_for(service)), put.settings.topic(spec.topic))
        for service in SERVICES
        for spec in consumed_by(service)
        if spec.service == producer
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=put.settings.kafka_bootstrap_servers)
    reader = AIOKafkaConsumer(bootstrap_servers=put.settings.kafka_bootstrap_servers)
    await admin.start()
    await reader.start()
    progress = Progress("waiting for the services to catch up", 100)
    try:
        least, since = await _lag(admin, reader, pairs), time.monotonic()
        deadline = since + timeout
        while least > 0:
            if time.monotonic() - since > stalled or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the services are still {least} events of the registrations behind, "
                    f"after {timeout:.0f} s or {stalled:.0f} s without progress"
                )
            await asyncio.sleep(0.5)
            behind = await _lag(admin, reader, pairs)
            if behind < least:
                least, since = behind, time.monotonic()
        progress.advance(100)
    finally:
        await admin.close()
        await reader.stop()


async def _lag(
    admin: AIOKafkaAdminClient, reader: AIOKafkaConsumer, pairs: list[tuple[str, str]]
) -> int:
    behind = 0
    for group, topic in pairs:
        committed = await admin.list_consumer_group_offsets(group)
        [described] = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        ends = await reader.end_offsets(partitions)
        for tp, end in ends.items():
            done = committed.get(tp)
            behind += end - (done.offset if done is not None else 0)
    return behind


def findings_round(
    cases: list[str], round_no: int, count: int | None
) -> tuple[list[bytes], Callable[[int], FindingsRecorded]]:
    """One round's offer: the keys of its cases (the first ``count``), and the
    ``findings-recorded`` of the i-th, with a screening id of this round only."""
    example = spec_for(FindingsRecorded).example
    round_tag = f"r{round_no}{uuid.uuid4().hex[:6]}"

    def findings(i: int) -> FindingsRecorded:
        return FindingsRecorded.model_validate(
            {
                **example,
                "case_id": cases[i],
                "occurred_at": dt.datetime.now(dt.UTC),
                "screening_id": f"scr_{round_tag}{i:08d}",
            }
        )

    return [case_id.encode() for case_id in cases[:count]], findings


async def run_platform(
    put: PlatformUnderTest, rate: float | None, count: int | None = None, label: str = ""
) -> Run:
    """Offer one ``findings-recorded`` per case (the first ``count`` cases) at ``rate`` (None:
    as fast as possible)."""
    put.rounds += 1
    label = label or f"platform {'saturation' if rate is None else f'{rate:.0f}/s'}"
    keys, findings = findings_round(put.cases, put.rounds, count)

    async def send(i: int) -> Any:
        return await put.publish(findings(i))

    path = Path([put.topic(DiplomaIssued), put.topic(NotificationDelivered)], HOPS)
    timeout = 120 + len(keys) / 10
    run = await timed_run(
        label, put.settings.kafka_bootstrap_servers, path, keys, rate, send, timeout
    )
    run.peak_memory_mib.update(put.peak_memory())
    return run


async def dead_lettered(put: PlatformUnderTest) -> int:
    """How many events the two services dead-lettered (there should be none)."""
    reader = AIOKafkaConsumer(bootstrap_servers=put.settings.kafka_bootstrap_servers)
    await reader.start()
    try:
        await reader._client.force_metadata_update()
        total = 0
        topics = {put.settings.topic(s.dlq_topic) for svc in SERVICES for s in consumed_by(svc)}
        for topic in sorted(topics):
            partitions = reader.partitions_for_topic(topic) or set()
            ends = await reader.end_offsets([TopicPartition(topic, p) for p in partitions])
            total += sum(ends.values())
        return total
    finally:
        await reader.stop()


async def stop_platform(put: PlatformUnderTest) -> int:
    """Stop everything; returns how many e-mails the SMTP sink received."""
    await put.producer.stop()
    put.platform.stop((KEY_OWNER, *SERVICES))
    put.sink.terminate()
    out, _ = put.sink.communicate(timeout=30)
    for line in out.splitlines():
        if line.startswith("received "):
            return int(line.split()[1])
    return 0


def logs_folder(repo: FilePath) -> FilePath:
    return state_folder(repo) / "bench" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
