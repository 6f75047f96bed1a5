"""The benchmark's arithmetic and its report, without Kafka."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from bench.measure import Clock, Path, Run, offer
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


def test_each_hop_is_timed_from_the_records_own_timestamps() -> None:
    clock = Clock(Path(["made", "told"], ["maker", "teller"]))
    clock.sent(b"case-1")
    sent_ms = 1_700_000_000_000  # a whole millisecond, as Kafka's timestamps are
    clock.trips[b"case-1"].sent_ns = sent_ms * 1_000_000
    assert not clock.seen("made", b"case-1", sent_ms + 30, 0)
    assert not clock.seen("made", b"someone-else", sent_ms + 1, 0)  # not this run's
    arrived_ns = (sent_ms + 100) * 1_000_000
    assert clock.seen("told", b"case-1", sent_ms + 90, arrived_ns)
    assert not clock.seen("told", b"case-1", sent_ms + 95, arrived_ns)  # a redelivery
    run = Run("x", 1, None)
    clock.fill(run)
    assert [round(x) for x in run.latencies_ms] == [100]
    hops = {name: [round(x) for x in values] for name, values in run.hops_ms.items()}
    assert hops == {"maker": [30], "teller": [60], "read": [10]}


def test_an_event_whose_hop_record_was_not_read_keeps_its_end_to_end_time_only() -> None:
    clock = Clock(Path(["made", "told"], ["maker", "teller"]))
    clock.sent(b"case-1")
    sent_ms = clock.trips[b"case-1"].sent_ns // 1_000_000
    clock.seen("told", b"case-1", sent_ms + 90, (sent_ms + 100) * 1_000_000)
    assert not clock.complete()
    run = Run("x", 1, None)
    clock.fill(run)
    assert len(run.latencies_ms) == 1 and run.hops_ms["maker"] == []


def side(eps: float, p99: float, received: int = 2) -> dict[str, Any]:
    run: dict[str, Any] = run_with([1.0, p99]).summary() | {"throughput_eps": eps}
    run["latency_ms"] = {**run["latency_ms"], "p99": p99}
    run["received"], run["offered_rate"] = received, eps / 2
    run["peak_memory_mib"] = {"screening": 120.0, "smtp sink": 400.0}
    run["hop_latency_ms"] = {"read": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "mean": 1.5}}
    return {"saturation": run, "fixed_rate": run, "emails_received": 4, "emails_expected": 4}


def results(platform_eps: float, p99: float, growth_eps: float, replay_s: float) -> dict[str, Any]:
    return {
        "events": 2,
        "fixed_rate_eps": platform_eps / 2,
        "fixed_rate_events": 2,
        "raw": side(1000.0, 40.0),
        "same_work": side(200.0, 100.0),
        "platform": side(platform_eps, p99) | {"dead_lettered": 0},
        "data_growth": {
            "saturation": side(growth_eps, p99)["saturation"],
            "year_cases": 5,
            "seeded": {"screening.cases": 5},
            "seed_seconds": 0.1,
            "emails_received": 2,
            "emails_expected": 2,
            "dead_lettered": 0,
        },
        "replay": {
            "events": 1_000_000,
            "rebuild_seconds": replay_s,
            "rebuild_peak_memory_mib": 120.0,
            "counts_match": True,
        },
    }


def test_the_ratios_and_the_targets_follow_the_measurements() -> None:
    good = compare(results(platform_eps=180.0, p99=200.0, growth_eps=170.0, replay_s=20.0))
    assert (good["throughput_ratio"], good["same_work_ratio"]) == (0.18, 0.9)
    assert good["data_growth_ratio"] == 0.944
    assert all(t["met"] for t in good["targets"].values()), good["targets"]
    assert set(good["targets"]) == {
        "same_work_ratio",
        "throughput_ratio",
        "fixed_rate_p99_ms",
        "data_growth_ratio",
        "replay_seconds",
        "service_peak_memory_mib",
    }
    bad = compare(results(platform_eps=50.0, p99=900.0, growth_eps=20.0, replay_s=45.0))
    met = {name for name, t in bad["targets"].items() if t["met"]}
    assert met == {"service_peak_memory_mib"}  # the SMTP sink is the bench's, not a service


def test_a_fixed_rate_run_that_lost_events_does_not_meet_the_latency_target() -> None:
    measured = results(platform_eps=180.0, p99=200.0, growth_eps=170.0, replay_s=20.0)
    measured["platform"]["fixed_rate"] = measured["platform"]["fixed_rate"] | {"received": 1}
    assert not compare(measured)["targets"]["fixed_rate_p99_ms"]["met"]


def test_a_run_that_carried_nothing_has_no_ratio() -> None:
    measured = results(platform_eps=0.0, p99=math.nan, growth_eps=0.0, replay_s=20.0)
    found = compare(measured)
    assert found["same_work_ratio"] == 0.0 and found["data_growth_ratio"] is None
    assert not found["targets"]["data_growth_ratio"]["met"]


def test_the_table_and_the_json_carry_the_ratios() -> None:
    measured = results(platform_eps=150.0, p99=45.0, growth_eps=150.0, replay_s=30.0)
    measured |= compare(measured)
    shown = table(measured)
    assert "throughput_ratio (platform / raw): 0.15" in shown
    assert "same_work_ratio (platform / same_work): 0.75" in shown
    assert "data_growth_ratio (with a year of data / empty): 1.0" in shown
    assert "platform read" in shown  # the per-hop rows of the fixed-rate runs
    assert json.loads(json.dumps(measured))["same_work_ratio"] == 0.75
