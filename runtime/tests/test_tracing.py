"""Traces on the real Kafka and store, the app served in process: a request, the event it
records, the relay's publish and the handler are spans of one trace, carried on Kafka as the
CloudEvents ``ce_traceparent`` header, and the handler's log lines name the trace."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import Envelope, encode, new_envelope
from vrac_contracts.events.intake import CaseOpened
from vrac_runtime.kafka import ensure_topics
from vrac_runtime.logging import get_logger
from vrac_runtime.outbox import outbox_fields
from vrac_runtime.service import ServiceRuntime, build_runtime, create_app
from vrac_runtime.settings import ServiceSettings
from vrac_runtime.tracing import extract, inject
from vrac_testing.kafka import read_all, send_raw
from vrac_testing.polling import eventually

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")
GROUP = "vrac.test"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"
log = get_logger(__name__)


def case_opened(case_id: str) -> Envelope[Any]:
    return new_envelope(OPENED.model.model_validate({**OPENED.example, "case_id": case_id}))


@asynccontextmanager
async def traced_service(
    settings: ServiceSettings, spans: InMemorySpanExporter
) -> AsyncIterator[httpx.AsyncClient]:
    """A service whose route records a case-opened event in its outbox, and whose consumer
    group handles that event (logging a line); its spans go to ``spans``."""
    runtime: ServiceRuntime = build_runtime(settings)
    runtime.tracing.provider.add_span_processor(SimpleSpanProcessor(spans))
    relay = runtime.with_outbox(["cases"])

    async def handler(envelope: Envelope[Any]) -> None:
        log.info("handling the case")

    consumer = runtime.consumer(GROUP)
    consumer.on(CaseOpened, handler)
    await ensure_topics(settings, [*consumer.topics, *consumer.dlq_topics])
    router = APIRouter()

    @router.post("/cases/{case_id}/open")
    async def open_case(case_id: str) -> dict[str, str]:
        await runtime.db.cases.insert_one({"_id": case_id, **outbox_fields([case_opened(case_id)])})
        relay.wake()
        return {"case_id": case_id}

    app = create_app(runtime, [router], title="tracing test")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def _of_kind(spans: InMemorySpanExporter, kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.kind is kind]


async def test_a_request_its_event_and_the_handler_are_spans_of_the_callers_trace(
    make_settings, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings("runtime")
    spans = InMemorySpanExporter()
    async with traced_service(settings, spans) as client:
        answer = await client.post(
            "/cases/case_traced0000001/open", headers={"traceparent": CALLER}
        )
        assert answer.status_code == 200
        [handled] = await eventually(
            lambda: _of_kind(spans, SpanKind.CONSUMER), "the handler's span", 30
        )
    [request] = _of_kind(spans, SpanKind.SERVER)
    [publish] = _of_kind(spans, SpanKind.PRODUCER)
    # one trace, the caller's: request -> publish -> handler
    assert {format_trace_id(s.context.trace_id) for s in (request, publish, handled)} == {
        CALLER_TRACE
    }
    assert (
        request.parent is not None and format_span_id(request.parent.span_id) == "00f067aa0ba902b7"
    )
    assert publish.parent is not None and publish.parent.span_id == request.context.span_id
    assert handled.parent is not None and handled.parent.span_id == publish.context.span_id
    assert request.name == "POST /cases/{case_id}/open"
    assert handled.name == f"process {OPENED.ce_type}"
    assert handled.status.status_code is StatusCode.UNSET

    # the record on Kafka carries the publish span's context, as the CloudEvents extension
    [record] = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(OPENED.topic), expect=1
    )
    headers = {name: value.decode() for name, value in record.headers}
    publish_id = format_span_id(publish.context.span_id)
    assert headers["ce_traceparent"] == f"00-{CALLER_TRACE}-{publish_id}-01"

    # no id from the path in any span: the route's template names the request
    for span in (request, publish, handled):
        assert "case_traced" not in span.name
        assert not any("case_traced" in str(value) for value in (span.attributes or {}).values())

    # every line the handler wrote names its trace and span
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    written = [line for line in lines if line["event"] in ("handling the case", "event handled")]
    assert len(written) == 2
    for line in written:
        assert line["trace_id"] == CALLER_TRACE
        assert line["span_id"] == format_span_id(handled.context.span_id)


async def test_a_dead_lettered_record_is_a_failed_span_of_its_senders_trace(
    make_settings,
) -> None:
    settings = make_settings("runtime")
    spans = InMemorySpanExporter()
    async with traced_service(settings, spans):
        good = encode(case_opened("case_poison000001"))
        topic = settings.topic(OPENED.topic)
        traced = [("ce_traceparent", CALLER.encode())]
        await send_raw(settings.kafka_bootstrap_servers, topic, b"{not json", good.key, traced)
        [handled] = await eventually(
            lambda: _of_kind(spans, SpanKind.CONSUMER), "the poison record's span", 30
        )
    assert format_trace_id(handled.context.trace_id) == CALLER_TRACE
    assert handled.status.status_code is StatusCode.ERROR
    assert handled.status.description == "undecodable"


def test_the_trace_context_travels_as_cloudevents_extension_headers() -> None:
    headers: dict[str, str] = {}
    inject(headers, extract({"ce_traceparent": CALLER, "ce_tracestate": "vendor=1"}))
    assert headers == {"ce_traceparent": CALLER, "ce_tracestate": "vendor=1"}
    outside: dict[str, str] = {}
    inject(outside)  # no span active: nothing to carry
    assert outside == {}
    # a malformed context is dropped, not carried on
    inject(outside, extract({"ce_traceparent": "00-not-a-trace-01"}))
    assert outside == {}
