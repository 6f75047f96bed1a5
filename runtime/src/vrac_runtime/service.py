"""The service process: one FastAPI app whose lifespan runs the Kafka side as well.

Start-up order: topics exist, the relay's producer connects, the subscribers start, the
relay and periodic jobs run. Shutdown reverses it; the broker waits up to the grace period
for running handlers, and a handler cancelled by shutdown is not committed (its event is read
again by the next consumer), because only a handler that returned lets the offset move.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts.catalogue import CATALOGUE, spec_for

from vrac_runtime.auth import jwks_router, tokens_of, unsafe_settings
from vrac_runtime.consumer import E, EventConsumer, Handler, consumer_topics
from vrac_runtime.http import (
    BodyLimit,
    Check,
    NotReady,
    declare_errors,
    health_router,
    install_error_handlers,
    run_checks,
)
from vrac_runtime.kafka import ensure_topics, make_broker, make_producer
from vrac_runtime.logging import configure_logging, get_logger
from vrac_runtime.metrics import HttpMetrics, Metrics
from vrac_runtime.outbox import OutboxRelay
from vrac_runtime.producer import RenewingProducer
from vrac_runtime.settings import ServiceSettings
from vrac_runtime.store import SerialDatabase, is_ferretdb, service_database
from vrac_runtime.tasks import cancel_all
from vrac_runtime.tracing import HttpTracing, Tracing

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Job = Callable[[], Awaitable[None]]
log = get_logger(__name__)

D = TypeVar("D", bound="DataclassInstance")
S = TypeVar("S", bound=ServiceSettings)
Step = Callable[[D], Awaitable[object]]
"""Work on the service's final ``Deps`` (after the overrides), e.g. creating indexes."""


@dataclass
class ServiceRuntime:
    """The clients of one service process. Built without I/O; connected by the app's lifespan."""

    settings: ServiceSettings
    mongo: AsyncMongoClient[Any]
    broker: KafkaBroker
    producer: RenewingProducer
    relay: OutboxRelay | None = None
    consumers: list[EventConsumer] = field(default_factory=list)
    jobs: list[tuple[str, float, Job]] = field(default_factory=list)
    store_is_ferretdb: bool | None = None
    """What the store said it is at start-up (:meth:`detect_store`); None before that."""
    metrics: Metrics = field(init=False)
    """This process's metrics, exposed at ``/metrics``; a service adds its own on it."""
    tracing: Tracing = field(init=False)
    """This process's tracer (spans of requests, handled events and outbox publishes)."""

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.settings.service_name)
        self.tracing = Tracing(self.settings.service_name)

    @cached_property
    def db(self) -> AsyncDatabase[Any]:
        """This service's database: PyMongo's own on MongoDB; on FerretDB, or before the
        start-up asked the server, one whose writes to one document never overlap (see store).
        """
        return service_database(self.mongo, self.settings.database, ferretdb=self.store_is_ferretdb)

    async def detect_store(self) -> bool:
        """Ask the server whether it is FerretDB, and switch the database's locks to match.

        The lifespan calls it before anything writes; the database may already exist, since
        services take their collections while they are built.
        """
        if self.store_is_ferretdb is None:
            self.store_is_ferretdb = await is_ferretdb(self.mongo)
        made = self.__dict__.get("db")
        if isinstance(made, SerialDatabase):
            made.serialise(self.store_is_ferretdb)
        return self.store_is_ferretdb

    def consumer(self, group: str) -> EventConsumer:
        consumer = EventConsumer(
            self.broker, self.settings, group, self.metrics, tracer=self.tracing.tracer
        )
        self.consumers.append(consumer)
        return consumer

    def on(self, event: type[E], handler: Handler[E]) -> None:
        """Handle ``event`` in the consumer group the catalogue names for this service."""
        group = spec_for(event).group_for(self.settings.service_name)
        existing = next((c for c in self.consumers if c.group == group), None)
        (existing or self.consumer(group)).on(event, handler)

    def with_outbox(self, collections: Sequence[str]) -> OutboxRelay:
        self.relay = OutboxRelay(
            self.db, collections, self.producer, self.settings, tracer=self.tracing.tracer
        )
        return self.relay

    def every(self, name: str, seconds: float, job: Job) -> None:
        """Run ``job`` periodically while the service runs (e.g. the overdue sweep)."""
        self.jobs.append((name, seconds, job))

    def published_topics(self) -> list[str]:
        name = self.settings.service_name
        return [self.settings.topic(s.topic) for s in CATALOGUE if s.service == name]


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    return ServiceRuntime(
        settings=settings,
        mongo=AsyncMongoClient(settings.mongodb_url, tz_aware=True, connect=False),
        broker=make_broker(settings),
        producer=make_producer(settings),
    )


async def _periodic(name: str, seconds: float, job: Job) -> None:
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.warning("periodic job failed", job=name, error_type=type(err).__name__)
        await asyncio.sleep(seconds)


class StartupTimeout(RuntimeError):
    """A start-up step did not finish in time: the service does not start."""


@contextlib.asynccontextmanager
async def _starting(step: str, seconds: float) -> AsyncIterator[None]:
    """Bound one start-up step, so a start that hangs fails and says where."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        log.error("start-up step timed out", step=step, seconds=seconds)
        raise StartupTimeout(f"{step} did not finish within {seconds:g} s") from None


def create_app(
    runtime: ServiceRuntime,
    routers: Sequence[APIRouter],
    *,
    title: str,
    description: str = "",
    on_startup: Sequence[Job] = (),
    on_shutdown: Sequence[Job] = (),
) -> FastAPI:
    """The service's app; its lifespan starts and stops the Kafka side and the store.

    ``on_shutdown`` steps run first when the app stops, while the store and Kafka are open.
    """
    settings = runtime.settings

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        if settings.development:  # said at every start, so a production carrying it is noticed
            log.warning("development deployment: development keys and issuer are accepted")
        within = settings.startup_timeout_seconds
        async with _starting("store detection", within):
            ferretdb = await runtime.detect_store()  # before anything writes
        log.info("store detected", store="ferretdb" if ferretdb else "mongodb")
        for step in on_startup:
            async with _starting("the service's start-up step", within):
                await step()
        for consumer in runtime.consumers:
            consumer.register()
        if settings.create_topics:
            topics = [*runtime.published_topics(), *consumer_topics(runtime.consumers)]
            async with _starting("topic creation", within):
                await ensure_topics(settings, topics)
        async with _starting("the outbox relay's Kafka producer", within):
            await runtime.producer.start()
        async with _starting("the Kafka broker (consumers and producer)", within):
            await runtime.broker.start()
        for consumer in runtime.consumers:
            consumer.started()
        tasks = [asyncio.create_task(_periodic(n, s, j)) for n, s, j in runtime.jobs]
        if runtime.relay is not None:
            tasks.append(asyncio.create_task(runtime.relay.run()))
        log.info("service started", port=settings.http_port)
        try:
            yield
        finally:
            for step in on_shutdown:
                await step()
            await cancel_all(tasks)
            await runtime.broker.stop()
            await runtime.producer.stop()
            await runtime.mongo.close()
            await tokens_of(app).aclose()
            log.info("service stopped")
            # sends the spans still buffered when exporting; off the loop, as it may wait
            await asyncio.to_thread(runtime.tracing.shutdown)

    # FastAPI's own telemetry would record raw paths and queries (ids, personal data):
    # HttpTracing makes the request spans instead
    app = FastAPI(
        title=title,
        description=description,
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.runtime = runtime
    install_error_handlers(app)
    # inside the metrics, so refused bodies are counted; outside everything that reads one
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HttpMetrics, metrics=runtime.metrics)
    app.add_middleware(HttpTracing, tracer=runtime.tracing.tracer)
    checks = _readiness_checks(runtime)
    app.include_router(health_router(checks, on_verdict=runtime.metrics.ready.set))
    app.include_router(_metrics_router(runtime, checks))
    app.include_router(jwks_router())
    for router in routers:
        app.include_router(router)
    _publish_error_bodies(app)
    return app


def _publish_error_bodies(app: FastAPI) -> None:
    """The app's OpenAPI document, with the error bodies the service really sends."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_errors(make())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _readiness_checks(runtime: ServiceRuntime) -> dict[str, Check]:
    """What ``/health/ready`` asks: the store, Kafka, each consumer group, the relay. Each
    check answers from memory or one quick request; none waits on a slow broker round trip.
    """

    async def mongo_ready() -> None:
        await runtime.db.command("ping")

    async def kafka_ready() -> None:
        if not await runtime.producer.client.force_metadata_update():
            raise ConnectionError("no Kafka metadata")

    checks: dict[str, Check] = {"mongodb": mongo_ready, "kafka": kafka_ready}
    for consumer in runtime.consumers:
        checks[f"consumer {consumer.group}"] = consumer.readiness
    if runtime.relay is not None:
        relay = runtime.relay
        limit = runtime.settings.ready_relay_failing_seconds

        async def relay_ready() -> None:
            failing = {t: s for t, s in relay.failing_for().items() if s > limit}
            if failing:
                topic, seconds = max(failing.items(), key=lambda item: item[1])
                raise NotReady(f"topic {topic} failing for {seconds:.0f} s")

        checks["outbox relay"] = relay_ready
    return checks


def _metrics_router(runtime: ServiceRuntime, checks: Mapping[str, Check]) -> APIRouter:
    """``/metrics``: the process's metrics in Prometheus' text format, gauges fresh."""
    metrics = runtime.metrics

    async def readiness() -> None:
        verdicts = await run_checks(checks)
        metrics.ready.set(all(verdict == "ok" for verdict in verdicts.values()))

    metrics.before_scrape("readiness", readiness)
    for consumer in runtime.consumers:
        metrics.before_scrape(f"consumer {consumer.group}", consumer.refresh_metrics)
    if runtime.relay is not None:
        relay = runtime.relay

        async def relay_gauges() -> None:
            failing = relay.failing_for()
            metrics.relay_failing_topics.set(len(failing))
            metrics.relay_topic_failing_seconds.clear()
            for topic, seconds in failing.items():
                metrics.relay_topic_failing_seconds.labels(topic).set(seconds)
            async with asyncio.timeout(2):
                for collection, count in (await relay.backlog()).items():
                    metrics.outbox_pending.labels(collection).set(count)

        metrics.before_scrape("outbox relay", relay_gauges)
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", include_in_schema=False)
    async def exposition() -> Response:
        body, content_type = await metrics.exposition()
        return Response(content=body, media_type=content_type)

    return router


def serve(build: Callable[[], FastAPI], settings: ServiceSettings) -> None:
    """Run the service until SIGTERM or SIGINT, then shut down gracefully.

    The app is built inside the running event loop: Kafka clients bind to the loop they are
    created in, so building before ``asyncio.run`` would leave them on no loop at all.
    """

    async def run() -> None:
        config = uvicorn.Config(
            build(),
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        )
        await uvicorn.Server(config).serve()

    asyncio.run(run())


class Subscribing(Protocol):
    """A service's ``Subscribers``: registers its handlers with the runtime."""

    def register(self, runtime: ServiceRuntime) -> None: ...


def compose(runtime: ServiceRuntime, deps: D, overrides: Mapping[str, Any]) -> Composition[D]:
    """The one composition every service does, step one: ``overrides`` replace fields of the
    service's ``deps`` (tests swap a mailer, a clock...). :meth:`Composition.app` does the rest.
    """
    return Composition(runtime, dataclasses.replace(deps, **overrides))


@dataclass(frozen=True)
class Composition(Generic[D]):
    """A service's runtime and its final ``Deps``, which the subscribers, periodic jobs,
    start-up and shutdown steps and the routes (as ``app.state.deps``) all receive."""

    runtime: ServiceRuntime
    deps: D

    def app(
        self,
        routers: Sequence[APIRouter],
        *,
        title: str,
        description: str,
        subscribers: Callable[[D], Subscribing] | None = None,
        on_startup: Sequence[Step[D]] = (),
        on_shutdown: Sequence[Step[D]] = (),
        jobs: Sequence[tuple[str, float, Step[D]]] = (),
    ) -> FastAPI:
        """The service's app. ``on_startup`` runs before the consumers start; ``on_shutdown``
        runs first when the app stops, while the store and Kafka are still open."""
        if subscribers is not None:
            subscribers(self.deps).register(self.runtime)
        for name, seconds, job in jobs:
            self.runtime.every(name, seconds, self._bound(job))
        app = create_app(
            self.runtime,
            routers,
            title=title,
            description=description,
            on_startup=[self._bound(step) for step in on_startup],
            on_shutdown=[self._bound(step) for step in on_shutdown],
        )
        app.state.deps = self.deps
        return app

    def _bound(self, step: Step[D]) -> Job:
        async def job() -> None:
            await step(self.deps)

        return job


def run(build: Callable[[S], FastAPI], settings_type: type[S]) -> None:
    """A service's ``main()``: its settings from the environment, served until SIGTERM or
    SIGINT, then a graceful stop."""
    settings = settings_type()
    unsafe = unsafe_settings(settings)
    if unsafe is not None:
        # before anything connects: a deployment with forgeable tokens must not serve at all
        raise SystemExit(f"{settings.service_name} refuses to start: {unsafe}")
    serve(lambda: build(settings), settings)
