"""How long a rebuild by replay takes: ``uv run python services/reporting/bench/replay.py``.

Writes ``--events`` public events (every pilot, twenty cases each whose parents consent to
reporting, twelve months, every event type, one in a hundred delivered twice) to a fresh
topic prefix on the local Kafka, runs the rebuild
command (``python -m vrac_reporting.entrypoints.rebuild``) against them as its own process,
checks the rebuilt counts against what was sent, prints the timings, and removes its topics
and database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from vrac_contracts import events as ev
from vrac_contracts.catalogue import consumed_by, spec_for
from vrac_contracts.envelope import encode, new_envelope
from vrac_contracts.ids import derived_id
from vrac_contracts.values import Pilot
from vrac_reporting.adapters.read_models import MongoReadModels
from vrac_reporting.domain.tally import tally_of
from vrac_reporting.settings import ReportingSettings
from vrac_runtime.kafka import ensure_topics

MONTHS = [f"2025-{m:02d}-15T10:00:00Z" for m in range(1, 13)]
DUPLICATE_EVERY = 100
CASES_PER_PILOT = 20


def cases() -> list[tuple[Pilot, str]]:
    return [
        (pilot, derived_id("case", "bench", pilot, str(n)))
        for pilot in Pilot
        for n in range(CASES_PER_PILOT)
    ]


def record(settings: ReportingSettings, spec: Any, **fields: Any) -> tuple[str, Any, Any]:
    """One encoded record of ``spec``'s event type, with what it counts for."""
    data = spec.model.model_validate({**spec.example, **fields})
    return settings.topic(spec.topic), encode(new_envelope(data)), tally_of("x", data)


def templates(settings: ReportingSettings) -> list[tuple[str, Any, Any]]:
    """One record per event type, case and month."""
    return [
        record(settings, spec, case_id=case, pilot=pilot, occurred_at=moment)
        for spec in consumed_by("reporting")
        for pilot, case in cases()
        for moment in MONTHS
    ]


def grants(settings: ReportingSettings) -> list[tuple[str, Any, Any]]:
    """Every case's reporting consent: a case without it would not be counted."""
    spec = spec_for(ev.ConsentChangedV2)
    fields = {"purpose": "reporting", "granted": True}
    return [
        record(settings, spec, case_id=case, pilot=pilot, occurred_at=MONTHS[0], **fields)
        for pilot, case in cases()
    ]


async def produce(settings: ReportingSettings, events: int) -> Counter[tuple[str, str, str]]:
    await ensure_topics(settings, settings.public_topics())
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        linger_ms=20,
        max_batch_size=256 * 1024,
        enable_idempotence=True,
        acks="all",
    )
    expected: Counter[tuple[str, str, str]] = Counter()
    made = templates(settings)
    consents = grants(settings)
    await producer.start()
    try:
        pending = []
        last_id = ""
        for i in range(events):
            # the grants first (they are part of the count), then the events
            topic, record, counted = consents[i] if i < len(consents) else made[i % len(made)]
            duplicate = i > len(consents) and i % DUPLICATE_EVERY == DUPLICATE_EVERY - 1
            ce_id = last_id if duplicate else str(uuid.uuid4())
            if duplicate:
                previous = i - 1
                topic, record, counted = (
                    consents[previous] if previous < len(consents) else made[previous % len(made)]
                )
            else:
                for metric in counted.metrics:
                    expected[(counted.pilot, counted.month, str(metric))] += 1
            headers = [(k, ce_id.encode() if k == "ce_id" else v) for k, v in record.headers]
            pending.append(
                await producer.send(topic, value=record.value, key=record.key, headers=headers)
            )
            last_id = ce_id
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return expected


async def rebuilt(settings: ReportingSettings) -> Counter[tuple[str, str, str]]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        models = MongoReadModels(client[settings.database])
        active = (await models.state()).active.id
        found: Counter[tuple[str, str, str]] = Counter()
        for pilot, month, counts in await models.monthly_counts(active, None):
            for metric, n in counts.items():
                if n:
                    found[(pilot, month, metric)] = n
        return found
    finally:
        await client.close()


async def clean(settings: ReportingSettings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await admin.delete_topics([t for t in existing if t.startswith(settings.topic_prefix)])
    finally:
        await admin.close()
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url)
    await client.drop_database(settings.database)
    await client.close()


def rebuild(settings: ReportingSettings) -> tuple[float, float, str, int]:
    """Run the rebuild command as its own process: seconds, its peak memory in MiB (from the
    kernel's accounting of that one child), its output, its exit code."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URL": settings.mongodb_url,
        "VRAC_TOPIC_PREFIX": settings.topic_prefix,
        "VRAC_MONGODB_DATABASE": settings.database,
    }
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "vrac_reporting.entrypoints.rebuild"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    took = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return took, round(usage.ru_maxrss / 1024, 1), output.strip(), child.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the topics and database")
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    args = parser.parse_args()
    tag = f"bench-replay-{uuid.uuid4().hex[:8]}"
    settings = ReportingSettings(
        topic_prefix=f"{tag}.", mongodb_database=f"{tag.replace('-', '_')}_vrac_reporting"
    )
    started = time.monotonic()
    expected = asyncio.run(produce(settings, args.events))
    produced_in = time.monotonic() - started
    print(f"produced {args.events} events in {produced_in:.1f} s", flush=True)
    took, peak, output, code = rebuild(settings)
    print(output)
    print(f"the rebuild command took {took:.1f} s in all (start-up included), peak {peak} MiB")
    ok = code == 0 and asyncio.run(rebuilt(settings)) == expected
    print("rebuilt counts match what was sent" if ok else "REBUILT COUNTS DIFFER")
    if args.json:
        result = {
            "events": args.events,
            "produce_seconds": round(produced_in, 1),
            "rebuild_seconds": round(took, 1),
            "rebuild_peak_memory_mib": peak,
            "counts_match": ok,
        }
        args.json.write_text(json.dumps(result, indent=2))
    if not args.keep:
        asyncio.run(clean(settings))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
