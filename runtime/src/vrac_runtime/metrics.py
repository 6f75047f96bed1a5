"""Prometheus metrics of one service process, exposed at ``/metrics`` in the text format.

Every metric of a service lives on one :class:`prometheus_client.CollectorRegistry` that
belongs to its :class:`Metrics`, which the service's runtime owns (``runtime.metrics``). There
is no module-level registry: each app built in a process (the test suite builds many) counts
on its own, so one test's events never show in another's assertions.

Every metric carries a ``service`` label (the service's name), so a dashboard or an alert
over several services tells them apart whatever the scraper adds. A service adds its own
metrics in its own module by taking the registry from the runtime at composition time, e.g.::

    deliveries = runtime.metrics.counter(
        "vrac_deliveries_total", "Deliveries by outcome.", ["channel", "outcome"]
    )

(``service`` is added in front of the labels given) and handing ``counter.labels`` bound to
the service to whatever counts (:meth:`Metrics.counter` returns it so). ``/metrics`` shows it
with the rest. Labels are bounded sets chosen by the code (event types, topics, reasons, route
templates, outcomes): never personal data, case ids or raw paths.

Values that are cheap to read but costly to push (consumer lag, the relay's backlog) are
filled in by :meth:`Metrics.refresh` just before each scrape, from the collectors registered
with :meth:`Metrics.before_scrape`; the per-record path only increments counters.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Receive, Scope, Send

from vrac_runtime.http import ResponseStatus, route_template
from vrac_runtime.logging import get_logger

Refresh = Callable[[], Awaitable[None]]
log = get_logger(__name__)

# request latency buckets: an API answering in milliseconds, a slow one in seconds
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The registry of one service process and the runtime's own metrics on it."""

    def __init__(self, service: str = "") -> None:
        self.service = service
        # metrics live on an inner registry; the exposed one adds the service label to each
        self._inner = CollectorRegistry(auto_describe=True)
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_ServiceLabel(self._inner, service))
        self._refreshers: list[tuple[str, Refresh]] = []
        self.events_handled = self.counter(
            "vrac_events_handled_total",
            "Records whose handler succeeded, per consumer group and event type.",
            ["group", "type"],
        )
        self.events_failed = self.counter(
            "vrac_events_failed_total",
            "Handler attempts that raised or timed out (before any retry), per consumer group "
            "and event type.",
            ["group", "type"],
        )
        self.events_retried = self.counter(
            "vrac_events_retried_total",
            "Handler attempts made again after a failure, per consumer group and event type.",
            ["group", "type"],
        )
        self.events_dead_lettered = self.counter(
            "vrac_events_dead_lettered_total",
            "Records sent to their dead-letter topic, per consumer group, event type and "
            "reason (undecodable, permanent, exhausted, deadline).",
            ["group", "type", "reason"],
        )
        self.consumer_lag = self.gauge(
            "vrac_consumer_lag",
            "Records in a partition not yet handled by this process (last fetched high "
            "watermark minus the lowest unfinished record or the consumer's position).",
            ["group", "topic", "partition"],
        )
        self.consumer_assigned_partitions = self.gauge(
            "vrac_consumer_assigned_partitions",
            "Partitions assigned to this process, per consumer group.",
            ["group"],
        )
        self.outbox_pending = self.gauge(
            "vrac_outbox_pending",
            "Documents with outbox entries not yet published, per collection.",
            ["collection"],
        )
        self.relay_failing_topics = self.gauge(
            "vrac_relay_failing_topics",
            "Topics the outbox relay is backing off from after a failed publish.",
        )
        self.relay_topic_failing_seconds = self.gauge(
            "vrac_relay_topic_failing_seconds",
            "How long the outbox relay has been failing to publish to a topic.",
            ["topic"],
        )
        self.ready = self.gauge(
            "vrac_ready", "1 while every readiness check of /health/ready passes, else 0."
        )
        self.http_requests = self.counter(
            "vrac_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
        )
        self.http_latency = Histogram(
            "vrac_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self._inner,
        )

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """A counter on this registry (``name`` ends in ``_total``)."""
        return Counter(name, documentation, labels, registry=self._inner)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(name, documentation, labels, registry=self._inner)

    def before_scrape(self, name: str, refresh: Refresh) -> None:
        """Run ``refresh`` before each scrape, to set gauges from state read on demand."""
        self._refreshers.append((name, refresh))

    async def refresh(self) -> None:
        """Update the on-demand gauges; one that fails is logged and keeps its last value."""
        for name, refresh in self._refreshers:
            try:
                await refresh()
            except Exception as err:
                log.warning("metrics refresh failed", source=name, error_type=type(err).__name__)

    async def exposition(self) -> tuple[bytes, str]:
        """The text exposition of every metric, fresh, and its content type."""
        await self.refresh()
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _ServiceLabel(Collector):
    """The inner registry's metrics, each sample with the ``service`` label first."""

    def __init__(self, inner: CollectorRegistry, service: str) -> None:
        self._inner = inner
        self._service = service

    def collect(self) -> Iterator[Metric]:
        for family in self._inner.collect():
            labelled = Metric(family.name, family.documentation, family.type, family.unit)
            labelled.samples = [
                sample._replace(labels={"service": self._service, **sample.labels})
                for sample in family.samples
            ]
            yield labelled


class HttpMetrics:
    """ASGI middleware counting requests by method, route template and status, with latency.

    The route is the template FastAPI matched (``/cases/{case_id}``), never the path, so no
    id reaches a label; a request no route matched counts as ``unmatched``.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        answered = ResponseStatus(send)
        try:
            await self._app(scope, receive, answered)
        finally:
            template = route_template(scope)
            method = scope.get("method", "")
            self._metrics.http_requests.labels(method, template, str(answered.status)).inc()
            self._metrics.http_latency.labels(method, template).observe(
                time.perf_counter() - started
            )
