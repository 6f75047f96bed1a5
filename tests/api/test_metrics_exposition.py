"""What Prometheus scrapes: every service's ``/metrics`` in the text format, holding the
platform's families, each sample labelled with its service (the five services as processes)."""

from __future__ import annotations

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from vrac_testing.infrastructure import repo_root
from vrac_testing.processes import SERVICES, Platform

pytestmark = pytest.mark.integration
# the families every service exposes (counters without their ``_total``, as parsed)
FAMILIES = {
    "vrac_http_requests",
    "vrac_http_request_duration_seconds",
    "vrac_events_handled",
    "vrac_events_failed",
    "vrac_events_dead_lettered",
    "vrac_consumer_lag",
    "vrac_outbox_pending",
    "vrac_ready",
}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_exposes_the_platform_metrics(platform: Platform, service: str) -> None:
    answer = httpx.get(f"{platform.url(service)}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    expected = FAMILIES | ({"vrac_deliveries"} if service == "notifications" else set())
    assert expected <= families.keys()
    [ready] = families["vrac_ready"].samples
    assert ready.labels == {"service": service}
    assert ready.value == 1
    labelled = [s for f in families.values() if f.name.startswith("vrac_") for s in f.samples]
    assert all(sample.labels["service"] == service for sample in labelled)


def test_every_metric_the_alerts_and_dashboard_may_use_is_exposed(platform: Platform) -> None:
    """``deploy/observability/metrics.yaml`` lists what the alerting rules and the dashboard
    may name; a name no service exposes would give an alert that never fires."""
    exposed: set[str] = set()
    for service in SERVICES:
        text = httpx.get(f"{platform.url(service)}/metrics").text
        families = text_string_to_metric_families(text)
        # a counter family is parsed without the ``_total`` its series carry
        exposed |= {f.name + ("_total" if f.type == "counter" else "") for f in families}
    listed = yaml.safe_load((repo_root() / "deploy/observability/metrics.yaml").read_text())
    wanted = {name for name in listed if name != "up"}  # ``up`` is Prometheus' own
    assert wanted - exposed == set()
