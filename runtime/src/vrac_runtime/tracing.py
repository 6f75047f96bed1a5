"""Traces with OpenTelemetry: a span per HTTP request, per handled event and per outbox
publish, and the W3C trace context carried from one to the next.

The trace context crosses Kafka as the CloudEvents distributed-tracing extension, in the
binary mode's headers: ``ce_traceparent`` (and ``ce_tracestate`` when there is one). An event
recorded while a span is active stores the context with its outbox entry
(:func:`vrac_runtime.outbox.outbox_entries`); the relay's publish span continues it and
publishes its own context in the record; the consumer's span continues that. So a request to
intake, the events it caused and every handler of them, in any service, share one trace id.
The headers carry only ids and flags: no personal data.

Spans hold no personal data either: a route template, never the path (ids are personal
data); an event type, topic, partition, offset and ``ce_id``, never the case id or the
payload; an error's type, never its message (it may quote the input).

Each service process has its own :class:`Tracing` (the test suite builds many apps in one
process), not the global provider. Spans are always made, so their ids reach the log lines
(:mod:`vrac_runtime.logging`); they are exported only when ``OTEL_EXPORTER_OTLP_ENDPOINT``
is set, over OTLP/HTTP, configured by the exporter's usual ``OTEL_EXPORTER_OTLP_*``
variables. ``OTEL_TRACES_SAMPLER`` chooses the sampler (by default every trace, following
the parent's decision).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Receive, Scope, Send

from vrac_runtime.http import ResponseStatus, route_template

TRACEPARENT: Final = "ce_traceparent"
TRACESTATE: Final = "ce_tracestate"
OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
_W3C = TraceContextTextMapPropagator()
_CE_PREFIX = "ce_"


class Tracing:
    """The tracer provider of one service process."""

    def __init__(self, service: str) -> None:
        resource = Resource.create({"service.name": service, "service.namespace": "vrac"})
        self.provider = TracerProvider(resource=resource)
        if os.environ.get(OTLP_ENDPOINT):
            # imported only when used: the exporter brings protobuf along
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self.tracer = self.provider.get_tracer("vrac_runtime")

    def shutdown(self) -> None:
        """Send the spans still buffered (when exporting) and stop."""
        self.provider.shutdown()


def inject(headers: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write the trace context (the current one by default) as CloudEvents extension
    headers; nothing when no span is active."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=context)
    for name, value in carrier.items():
        headers[_CE_PREFIX + name] = value


def extract(headers: Mapping[str, str]) -> Context:
    """The trace context an event's headers carry (an empty one when they carry none or a
    malformed one: the span then starts a trace of its own)."""
    carrier = {
        name.removeprefix(_CE_PREFIX): value
        for name in (TRACEPARENT, TRACESTATE)
        if (value := headers.get(name))
    }
    return _W3C.extract(carrier)


def trace_ids() -> dict[str, str]:
    """The active span's trace and span ids, in W3C hex; empty outside a span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": trace.format_trace_id(context.trace_id),
        "span_id": trace.format_span_id(context.span_id),
    }


def failed(reason: str) -> None:
    """Mark the active span failed, with a reason from a bounded set (never a message)."""
    trace.get_current_span().set_status(Status(StatusCode.ERROR, reason))


class HttpTracing:
    """ASGI middleware: a server span per HTTP request, continuing a caller's W3C
    ``traceparent`` header, named and labelled by the route template FastAPI matched."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self._app = app
        self._tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        method = scope.get("method", "")
        answered = ResponseStatus(send)
        with self._tracer.start_as_current_span(
            method,
            context=_W3C.extract(_trace_headers(scope)),
            kind=SpanKind.SERVER,
            record_exception=False,  # an exception's text may quote personal data
            set_status_on_exception=False,
        ) as span:
            try:
                await self._app(scope, receive, answered)
            except BaseException as err:
                span.set_status(Status(StatusCode.ERROR, type(err).__name__))
                raise
            finally:
                route = route_template(scope)
                span.update_name(f"{method} {route}")
                span.set_attributes(
                    {
                        "http.request.method": method,
                        "http.route": route,
                        "http.response.status_code": answered.status,
                    }
                )
                if answered.status >= 500:
                    span.set_status(Status(StatusCode.ERROR))


def _trace_headers(scope: Scope) -> dict[str, str]:
    wanted = (b"traceparent", b"tracestate")
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name in wanted
    }


def consumer_span(
    tracer: Tracer, event_type: str, headers: Mapping[str, str], attributes: dict[str, Any]
) -> Any:
    """The span of one record's handling, continuing the trace its headers carry."""
    return tracer.start_as_current_span(
        f"process {event_type}",
        context=extract(headers),
        kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", **attributes},
        record_exception=False,
        set_status_on_exception=False,
    )
