"""One case followed across two services by its trace, with intake and screening as their
own processes over the real Kafka and FerretDB, exporting spans over OTLP/HTTP to a real
HTTP server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from vrac_contracts.catalogue import by_type
from vrac_testing.builders import family_registration
from vrac_testing.kafka import read_all
from vrac_testing.polling import eventually
from vrac_testing.processes import Platform
from vrac_testing.sinks import WebhookReceiver
from vrac_testing.tokens import bearer

pytestmark = pytest.mark.integration
OPENED = by_type("org.vrac.intake.case-opened.v1")


@pytest.fixture
def collector() -> Iterator[WebhookReceiver]:
    """An HTTP server standing in for an OTLP collector: it keeps every export."""
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def platform(kafka_bootstrap, mongodb_url, test_prefix, tmp_path, collector) -> Iterator[Platform]:
    exporting = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export within a fraction of a second
    }
    prefix = f"{test_prefix}."
    platform = Platform(kafka_bootstrap, mongodb_url, prefix, tmp_path, extra_env=exporting)
    platform.start(("intake", "screening"), timeout=180)  # a small machine, maybe busy
    yield platform
    platform.stop()


async def test_a_case_opened_at_intake_is_one_trace_into_screening(
    platform: Platform, collector: WebhookReceiver
) -> None:
    trace_id = uuid.uuid4().hex
    caller = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
    guardian = {"name": "Fatima", "email": "fatima@example.org", "preferred_channel": "email"}
    async with httpx.AsyncClient(base_url=platform.url("intake")) as intake:
        answer = await intake.post(
            "/cases",
            json=family_registration(guardian),
            headers={**bearer("coach", "leiden", "coach-1"), "traceparent": caller},
        )
    assert answer.status_code == 201, answer.text

    # the published record carries the trace as the CloudEvents extension
    topic = f"{platform.prefix}{OPENED.topic}"
    [record] = await read_all(platform.kafka_bootstrap, topic, expect=1)
    headers = {name: value.decode() for name, value in record.headers}
    assert headers["ce_traceparent"].split("-")[1] == trace_id

    def spans_of_the_trace() -> dict[str, set[str]] | None:
        found: dict[str, set[str]] = {}
        for export in collector.hooks:
            request = ExportTraceServiceRequest.FromString(export.body)
            for resource in request.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource.resource.attributes}
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        if span.trace_id.hex() == trace_id:
                            found.setdefault(attributes["service.name"], set()).add(span.name)
        handled = f"process {OPENED.ce_type}"
        return found if handled in found.get("screening", set()) else None

    spans = await eventually(spans_of_the_trace, "screening's span of the trace", 30)
    assert "POST /cases" in spans["intake"]
    assert f"publish {OPENED.ce_type}" in spans["intake"]

    # and screening's log line of that handling names the trace, never the family
    def handled_lines() -> list[dict[str, str]]:
        text = platform.services["screening"].log.read_text()
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        return [
            line
            for line in lines
            if line.get("event") == "event handled" and line.get("trace_id") == trace_id
        ]

    def handled_topics() -> set[str]:
        return {line["topic"] for line in handled_lines()}

    await eventually(lambda: OPENED.topic in handled_topics(), "screening's log of the handling")
    assert "Fatima" not in platform.services["screening"].log.read_text()
