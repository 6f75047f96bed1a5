"""Readiness that follows the consumers, and ``/metrics`` after real events (real Kafka and
store, the app served in process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client.parser import text_string_to_metric_families
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import Envelope, encode, new_envelope
from vrac_contracts.events.intake import CaseOpened
from vrac_runtime.kafka import ensure_topics
from vrac_runtime.metrics import Metrics
from vrac_runtime.outbox import OUTBOX, PENDING_FLAG, OutboxRelay, outbox_fields
from vrac_runtime.service import ServiceRuntime, build_runtime, create_app
from vrac_runtime.settings import ServiceSettings
from vrac_testing.kafka import publish, send_raw
from vrac_testing.polling import eventually

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")
GROUP = "vrac.test"
CHECK = f"consumer {GROUP}"
SERVICE_GROUP = {"service": "runtime", "group": GROUP}


def case_opened(case_id: str) -> Envelope[Any]:
    return new_envelope(OPENED.model.model_validate({**OPENED.example, "case_id": case_id}))


@asynccontextmanager
async def serving(
    settings: ServiceSettings, handler: Callable[..., Any], routers: list[APIRouter] = ()
) -> AsyncIterator[httpx.AsyncClient]:
    """The app of a service with one consumer group, started, and a client to it."""
    runtime: ServiceRuntime = build_runtime(settings)
    consumer = runtime.consumer(GROUP)
    consumer.on(CaseOpened, handler)
    await ensure_topics(settings, [*consumer.topics, *consumer.dlq_topics])
    app: FastAPI = create_app(runtime, list(routers), title="health test")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def samples(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[Any]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_readiness_fails_while_records_wait_behind_a_blocked_handler_and_recovers(
    make_settings,
) -> None:
    settings = make_settings(
        "runtime",
        handler_timeout_seconds=30,
        handler_deadline_seconds=60,
        max_poll_interval_ms=60_000,
        ready_stall_seconds=1,
    )
    release = asyncio.Event()
    handled: list[str] = []

    async def blocked_until_released(envelope: Envelope[Any]) -> None:
        await release.wait()
        handled.append(envelope.data.case_id)

    async with serving(settings, blocked_until_released) as client:

        async def readiness() -> httpx.Response:
            return await client.get("/health/ready")

        def gauges() -> Callable[[], Any]:
            async def probe() -> tuple[float | None, float | None]:
                found = await samples(client)
                lag = {**SERVICE_GROUP, "topic": settings.topic(OPENED.topic), "partition": "0"}
                return (
                    found.get(("vrac_consumer_lag", frozenset(lag.items()))),
                    found.get(("vrac_ready", frozenset({"service": "runtime"}.items()))),
                )

            return probe

        ready = await eventually(
            lambda: _status(readiness, 200), "ready once the group has its partition"
        )
        assert ready.json()["checks"][CHECK] == "ok"
        await publish(
            settings, case_opened("case_blocked000001"), case_opened("case_queued0000001")
        )
        stalled = await eventually(lambda: _status(readiness, 503), "not ready while stalled")
        assert stalled.json()["checks"][CHECK].startswith("failing: records waiting")
        assert stalled.json()["checks"]["mongodb"] == "ok"
        # both records wait: a backlog of two, and the service says it is not ready
        await eventually(lambda: _equal(gauges(), (2, 0)), "a backlog of 2, not ready")

        release.set()
        await eventually(lambda: _status(readiness, 200), "ready again once it moves")
        await eventually(lambda: len(handled) == 2, "both records")
        assert handled == ["case_blocked000001", "case_queued0000001"]
        await eventually(lambda: _equal(gauges(), (0, 1)), "no backlog, ready")


async def _equal(probe: Callable[[], Any], expected: Any) -> bool:
    return bool(await probe() == expected)


async def _status(request: Callable[[], Any], status: int) -> httpx.Response | None:
    response = await request()
    return response if response.status_code == status else None


async def test_metrics_count_handled_failed_and_dead_lettered_events_and_requests(
    make_settings,
) -> None:
    settings = make_settings("runtime", handler_max_attempts=2)

    async def handler(envelope: Envelope[Any]) -> None:
        if envelope.data.case_id == "case_broken0000001":
            raise RuntimeError("template missing")

    things = APIRouter()

    @things.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"thing": thing_id}

    topic = settings.topic(OPENED.topic)
    async with serving(settings, handler, [things]) as client:
        good = encode(case_opened("case_fine00000001"))
        await send_raw(settings.kafka_bootstrap_servers, topic, b"{not json", good.key, [])
        await publish(
            settings,
            case_opened("case_fine00000001"),
            case_opened("case_broken0000001"),
            case_opened("case_fine00000002"),
        )
        assert (await client.get("/things/case_private0001")).status_code == 200

        def count(name: str, **labels: str) -> Callable[[], Any]:
            async def probe() -> float | None:
                key = (name, frozenset({**SERVICE_GROUP, **labels}.items()))
                return (await samples(client)).get(key)

            return probe

        def reaches(value: float, name: str, **labels: str) -> Callable[[], Any]:
            async def probe() -> bool:
                return await count(name, **labels)() == value

            return probe

        opened = {"type": OPENED.ce_type}
        await eventually(reaches(2, "vrac_events_handled_total", **opened), "2 handled", 30)
        await eventually(
            reaches(1, "vrac_events_dead_lettered_total", **opened, reason="exhausted"),
            "a dead letter",
        )
        await eventually(
            reaches(1, "vrac_events_dead_lettered_total", **opened, reason="undecodable"),
            "undecodable",
        )
        assert await count("vrac_events_failed_total", **opened)() == 2
        assert await count("vrac_events_retried_total", **opened)() == 1
        partition = {"topic": topic, "partition": "0"}
        await eventually(reaches(0, "vrac_consumer_lag", **partition), "no lag once all is handled")
        found = await samples(client)
        text = (await client.get("/metrics")).text

    request = (
        "vrac_http_requests_total",
        frozenset(
            {
                "service": "runtime",
                "method": "GET",
                "route": "/things/{thing_id}",
                "status": "200",
            }.items()
        ),
    )
    assert found[request] == 1
    assert "case_private0001" not in text
    assert found[("vrac_consumer_assigned_partitions", frozenset(SERVICE_GROUP.items()))] == 1


def test_each_metrics_registry_counts_on_its_own() -> None:
    first, second = Metrics("intake"), Metrics("intake")
    first.events_handled.labels("g", "t").inc()
    labels = {"service": "intake", "group": "g", "type": "t"}
    assert first.registry.get_sample_value("vrac_events_handled_total", labels) == 1
    assert second.registry.get_sample_value("vrac_events_handled_total", labels) is None


async def test_a_relay_topic_failing_too_long_makes_the_service_not_ready(make_settings) -> None:
    settings = make_settings("runtime", ready_relay_failing_seconds=0.5)

    async def handler(_: Envelope[Any]) -> None:
        return None

    runtime = build_runtime(settings)
    # a short send timeout: the broken topic fails within a second
    runtime.relay = OutboxRelay(runtime.db, ["cases"], runtime.producer, settings, send_timeout=1)
    consumer = runtime.consumer(GROUP)
    consumer.on(CaseOpened, handler)
    await ensure_topics(settings, [*consumer.topics, *consumer.dlq_topics])
    app = create_app(runtime, [], title="relay health test")
    entry = outbox_fields([case_opened("case_stuck00000001")])[OUTBOX][0]
    # Kafka refuses this name, as it would refuse a topic the service may not write
    broken = {**entry, "topic": "vrac.internal.intake.no such topic!.v1"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await runtime.db.cases.insert_one(
                {"_id": "case_stuck00000001", OUTBOX: [broken], PENDING_FLAG: True}
            )

            async def readiness() -> httpx.Response:
                return await client.get("/health/ready")

            failing = await eventually(lambda: _status(readiness, 503), "the relay failing")
            check = failing.json()["checks"]["outbox relay"]
            assert check.startswith("failing: topic vrac.internal.intake.no such topic!.v1")
            found = await samples(client)
    service = {"service": "runtime"}
    assert found[("vrac_relay_failing_topics", frozenset(service.items()))] == 1
    pending = {**service, "collection": "cases"}
    assert found[("vrac_outbox_pending", frozenset(pending.items()))] == 1
    assert found[("vrac_ready", frozenset(service.items()))] == 0


async def test_a_replica_left_without_a_partition_is_not_ready_after_the_grace(
    make_settings,
) -> None:
    # one partition, two replicas of the same group: one of them holds nothing
    settings = make_settings("runtime", ready_assignment_grace_seconds=1)

    async def handler(_: Envelope[Any]) -> None:
        return None

    async with serving(settings, handler) as first, serving(settings, handler) as second:

        async def checks() -> list[str] | None:
            answers = [await first.get("/health/ready"), await second.get("/health/ready")]
            verdicts = sorted(answer.json()["checks"][CHECK] for answer in answers)
            statuses = sorted(answer.status_code for answer in answers)
            return verdicts if statuses == [200, 503] else None

        verdicts = await eventually(checks, "one replica ready, the other not", 30)
    assert verdicts[0].startswith("failing: no partition assigned for")
    assert verdicts[1] == "ok"
