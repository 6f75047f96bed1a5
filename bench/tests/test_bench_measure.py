"""The benchmark's arithmetic and its report, without Kafka."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bench.measure import Run, offer
from bench.report import compare, table


def run_with(latencies: list[float], span: float = 2.0) -> Run:
    run = Run("x", len(latencies), None, latencies_ms=latencies)
    run.first_sent, run.last_received = 100.0, 100.0 + span
    return run


def test_percentiles_are_taken_from_the_sorted_latencies() -> None:
    run = run_with([float(n) for n in range(100, 0, -1)])  # 100 .. 1, unsorted
    assert (run.percentile(50), run.percentile(95), run.percentile(99)) == (51.0, 96.0, 100.0)
    assert run.throughput == 50.0  # 100 received over 2 s


def test_a_run_that_received_nothing_says_so() -> None:
    summary = run_with([]).summary()
    assert summary["received"] == 0 and summary["throughput_eps"] == 0.0


def test_offer_sends_each_event_once_in_order() -> None:
    sent: list[int] = []

    async def send(i: int) -> None:
        sent.append(i)

    asyncio.run(offer(5, 1000.0, send))
    assert sent == [0, 1, 2, 3, 4]


def results(platform_eps: float, platform_p99: float, replay_s: float) -> dict[str, Any]:
    def side(eps: float, p99: float) -> dict[str, Any]:
        run: dict[str, Any] = run_with([1.0, p99]).summary() | {"throughput_eps": eps}
        run["latency_ms"] = {**run["latency_ms"], "p99": p99}
        return {"saturation": run, "fixed_rate": run}

    return {
        "events": 2,
        "fixed_rate_eps": 500.0,
        "baseline": side(1000.0, 40.0),
        "platform": side(platform_eps, platform_p99)
        | {"emails_received": 4, "emails_expected": 4, "dead_lettered": 0},
        "replay": {
            "events": 1_000_000,
            "rebuild_seconds": replay_s,
            "rebuild_peak_memory_mib": 120.0,
            "counts_match": True,
        },
    }


def test_the_ratio_and_the_targets_follow_the_measurements() -> None:
    ratio, targets = compare(results(platform_eps=800.0, platform_p99=45.0, replay_s=30.0))
    assert ratio == 0.8
    assert {name: t["met"] for name, t in targets.items()} == {
        "throughput_ratio": True,
        "fixed_rate_p99_ms": True,
        "replay_seconds": True,
    }
    ratio, targets = compare(results(platform_eps=100.0, platform_p99=400.0, replay_s=90.0))
    assert ratio == 0.1
    assert not any(t["met"] for t in targets.values())


def test_the_table_and_the_json_carry_the_ratio() -> None:
    measured = results(platform_eps=350.0, platform_p99=45.0, replay_s=30.0)
    measured["throughput_ratio"], measured["targets"] = compare(measured)
    assert "throughput_ratio (platform / baseline): 0.35" in table(measured)
    assert json.loads(json.dumps(measured))["throughput_ratio"] == 0.35
