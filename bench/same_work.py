"""The ``same_work`` run: a hand-written pipeline doing the platform's essential work per case.

Two processes like the platform's two hops (``bench/same_work_stage.py``): a diploma maker
that reads the case, writes the diploma and publishes ``diploma-issued``, and a notifier
that records the message owed in the case file, records the delivery, claims it, e-mails the
guardian through the same SMTP sink, records the outcome and publishes
``notification-delivered``. Plain aiokafka, PyMongo and aiosmtplib; the bench sends the same
``findings-recorded`` records as in the platform run and times them the same way.

The cases are registered by writing, in bulk, the documents the services hold once intake's
events were handled (``bench.seed``): the registration is not on the measured path.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import encode, new_envelope
from vrac_contracts.events import (
    DiplomaIssued,
    FindingsRecorded,
    NotificationDelivered,
    NotificationFailed,
)
from vrac_runtime.kafka import ensure_topics
from vrac_runtime.settings import ServiceSettings
from vrac_testing.processes import free_port

from bench import seed
from bench.measure import Path, Run, timed_run
from bench.memory import peak_mib
from bench.platform import HOPS, findings_round

STAGES = ("diploma", "notify")


@dataclass
class SameWork:
    settings: ServiceSettings
    stages: dict[str, subprocess.Popen[str]]
    sink: subprocess.Popen[str]
    cases: list[str]
    producer: AIOKafkaProducer
    rounds: int = 0

    def topic(self, model: type[Any]) -> str:
        return self.settings.topic(spec_for(model).topic)

    @property
    def prefix(self) -> str:
        return self.settings.topic_prefix.rstrip(".")


def _event(settings: ServiceSettings, model: type[Any]) -> dict[str, str]:
    spec = spec_for(model)
    return {"topic": settings.topic(spec.topic), "type": spec.ce_type}


async def start_same_work(bootstrap: str, mongodb_url: str, cases: int) -> SameWork:
    """The two stages and the SMTP sink running, ``cases`` registered in their stores."""
    tag = uuid.uuid4().hex[:8]
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap, topic_prefix=f"bench{tag}.")
    models = (FindingsRecorded, DiplomaIssued, NotificationDelivered, NotificationFailed)
    await ensure_topics(settings, [settings.topic(spec_for(m).topic) for m in models], partitions=3)
    databases = {role: f"bench{tag}_same_work_{role}" for role in ("screening", "notifications")}
    case_ids = [f"case_{tag}sw{i:08d}" for i in range(cases)]
    await _register(mongodb_url, databases, case_ids)

    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.smtp_sink", str(port)], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None
    sink.stdout.readline()  # "ready"
    common: dict[str, Any] = {
        "findings": settings.topic(spec_for(FindingsRecorded).topic),
        "diploma_issued": _event(settings, DiplomaIssued),
    }
    configs = {
        "diploma": common | {"group": f"bench{tag}.diploma", "database": databases["screening"]},
        "notify": common
        | {
            "group": f"bench{tag}.notify",
            "database": databases["notifications"],
            "delivered": _event(settings, NotificationDelivered),
            "failed": _event(settings, NotificationFailed),
            "smtp_port": port,
        },
    }
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "MONGODB_URL": mongodb_url}
    stages = {
        name: subprocess.Popen(
            [sys.executable, "-m", "bench.same_work_stage", name, json.dumps(configs[name])],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in STAGES
    }
    for stage in stages.values():
        assert stage.stdout is not None
        stage.stdout.readline()  # "ready"
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5
    )
    await producer.start()
    return SameWork(settings, stages, sink, case_ids, producer)


async def _register(mongodb_url: str, databases: dict[str, str], case_ids: list[str]) -> None:
    at = dt.datetime.now(dt.UTC)
    documents = seed.Documents()
    for case_id in case_ids:
        documents.add("screening", "cases", seed.screening_case(case_id, at))
        documents.add("notifications", "case_files", seed.registered_case_file(case_id, at))
    await seed.insert(mongodb_url, databases, [documents])
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
    try:  # the indexes the services' adapters make for these reads
        await client[databases["notifications"]]["deliveries"].create_index("case_id")
    finally:
        await client.close()


async def run_same_work(sw: SameWork, rate: float | None, count: int | None = None) -> Run:
    """Offer one ``findings-recorded`` per case (the first ``count``), as the platform run
    does."""
    sw.rounds += 1
    label = f"same_work {'saturation' if rate is None else f'{rate:.0f}/s'}"
    keys, findings = findings_round(sw.cases, sw.rounds, count)

    async def send(i: int) -> Any:
        record = encode(new_envelope(findings(i)))
        return await sw.producer.send(
            sw.settings.topic(record.topic),
            value=record.value,
            key=record.key,
            headers=record.headers,
        )

    path = Path([sw.topic(DiplomaIssued), sw.topic(NotificationDelivered)], HOPS)
    run = await timed_run(
        label, sw.settings.kafka_bootstrap_servers, path, keys, rate, send, 120 + len(keys) / 10
    )
    run.peak_memory_mib = {name: peak_mib(stage.pid) for name, stage in sw.stages.items()}
    run.peak_memory_mib["smtp sink"] = peak_mib(sw.sink.pid)
    return run


async def stop_same_work(sw: SameWork) -> int:
    """Stop everything; returns how many e-mails the SMTP sink received."""
    await sw.producer.stop()
    for stage in sw.stages.values():
        stage.terminate()
    for stage in sw.stages.values():
        stage.wait(timeout=30)
    sw.sink.terminate()
    out, _ = sw.sink.communicate(timeout=30)
    for line in out.splitlines():
        if line.startswith("received "):
            return int(line.split()[1])
    return 0
