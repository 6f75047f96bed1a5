"""The alerts and the dashboard name only metrics the services expose (the list in
deploy/observability/metrics.yaml), and cover what an operator must watch."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import DEPLOY, kustomize_build

OBSERVABILITY = DEPLOY / "observability"
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
# PromQL's keywords; a function is told apart by the parenthesis after its name
_KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
}
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w$:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()")
# a dashboard variable's query: Grafana's label_values(<selector>, <label>)
_LABEL_VALUES = re.compile(r"^label_values\((?P<expr>.*),\s*\w+\)$")


def allowed_names() -> set[str]:
    metrics = yaml.safe_load((OBSERVABILITY / "metrics.yaml").read_text())
    names = set(metrics)
    for name, kind in metrics.items():
        if kind == "histogram":
            names |= {name + suffix for suffix in HISTOGRAM_SERIES}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: what is left once strings, label
    matchers, ranges, groupings, function calls, numbers and keywords are set aside."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = _GROUPING.sub("", expr)
    return {n for n in _NAME.findall(expr) if n not in _KEYWORDS}


def _rules() -> list[dict[str, Any]]:
    rule = yaml.safe_load((OBSERVABILITY / "prometheus-rule.yaml").read_text())
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def _dashboard() -> dict[str, Any]:
    return json.loads((OBSERVABILITY / "dashboard.json").read_text())


def _dashboard_queries() -> list[str]:
    dashboard = _dashboard()
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = _LABEL_VALUES.match(variable["query"]["query"])
            assert match, variable["name"]
            queries.append(match["expr"])
    return queries


def test_the_name_check_finds_names_and_reports_an_unknown_one() -> None:
    expr = (
        'sum by (job, group) (rate(vrac_events_handled_total{topic=~"vrac.public.*"}[5m]))'
        " / on (job) group_left max(vrac_consumer_lagg) > 0.5 and up == 0"
    )
    assert metric_names(expr) == {"vrac_events_handled_total", "vrac_consumer_lagg", "up"}
    assert metric_names(expr) - allowed_names() == {"vrac_consumer_lagg"}


def test_every_alert_and_panel_uses_listed_metrics_only() -> None:
    unknown = {
        expr: sorted(metric_names(expr) - allowed_names())
        for expr in [*(r["expr"] for r in _rules()), *_dashboard_queries()]
    }
    assert {e: u for e, u in unknown.items() if u} == {}
    assert all(metric_names(e) for e in unknown), "an expression selects no metric at all"


@pytest.mark.parametrize(
    ("alert", "series"),
    [
        ("VracConsumerLagGrowing", "vrac_consumer_lag"),
        ("VracDeadLettersGrowing", "vrac_events_dead_lettered_total"),
        ("VracDeliveriesFailing", 'vrac_deliveries_total{outcome="failed"}'),
        ("VracNotReady", "vrac_ready"),
        ("VracDown", "up{"),
    ],
)
def test_the_alerts_an_operator_needs_exist(alert: str, series: str) -> None:
    rules = {r["alert"]: r for r in _rules()}
    assert series in rules[alert]["expr"]
    assert rules[alert]["labels"]["severity"] in ("warning", "critical")
    assert "namespace" in rules[alert]["annotations"]["summary"], "which pilot?"


def test_the_dashboard_shows_every_listed_metric() -> None:
    used = set().union(*(metric_names(q) for q in _dashboard_queries()))
    shown = {n.removesuffix(s) for n in used for s in ("", *HISTOGRAM_SERIES) if n.endswith(s)}
    metrics = set(yaml.safe_load((OBSERVABILITY / "metrics.yaml").read_text()))
    assert metrics <= shown
    dashboard = _dashboard()
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"]


def test_the_rendered_dashboard_is_the_committed_one(kustomize: Path) -> None:
    docs = kustomize_build(kustomize, "../observability")
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["dashboard.json"]) == _dashboard()
