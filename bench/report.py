"""What the numbers say: the ratios, each target's verdict, and the table on screen."""

from __future__ import annotations

import math
from typing import Any

# The targets of issue 14; measured here, never asserted in tests.
SAME_WORK_RATIO = 0.8  # the framework costs at most a fifth of the essential work
THROUGHPUT_RATIO = 0.10  # platform / raw Kafka, at saturation
FIXED_RATE_P99_MS = 250.0  # end to end, at half the platform's own saturation
DATA_GROWTH_RATIO = 0.8  # a year of data costs at most a fifth of the speed
REPLAY_SECONDS = 30.0  # rebuilding reporting from 1,000,000 events
SERVICE_PEAK_MIB = 150.0  # resident memory of every service process


def _eps(results: dict[str, Any], side: str, run: str = "saturation") -> float | None:
    found = (results.get(side) or {}).get(run)
    return None if found is None else found["throughput_eps"]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def _at_least(measured: float | None, target: float) -> dict[str, Any]:
    return {
        "target": f">= {target}",
        "measured": measured,
        "met": measured is not None and measured >= target,
    }


def _service_peaks(results: dict[str, Any]) -> dict[str, float]:
    """The highest resident set of each service process over the platform's runs (the SMTP
    sink is the bench's, not a service), and of reporting's rebuild."""
    peaks: dict[str, float] = {}
    for side in ("platform", "data_growth"):
        for run in ("saturation", "fixed_rate"):
            found = (results.get(side) or {}).get(run)
            for name, mib in (found or {}).get("peak_memory_mib", {}).items():
                if mib is not None and name != "smtp sink":
                    peaks[name] = max(peaks.get(name, 0.0), mib)
    replay = results.get("replay")
    if replay:
        peaks["reporting rebuild"] = replay["rebuild_peak_memory_mib"]
    return peaks


def compare(results: dict[str, Any]) -> dict[str, Any]:
    """The ratios and each target's verdict; merged into the results by the caller."""
    platform = _eps(results, "platform")
    ratios = {
        "throughput_ratio": ratio(platform, _eps(results, "raw")),
        "same_work_ratio": ratio(platform, _eps(results, "same_work")),
        "data_growth_ratio": ratio(_eps(results, "data_growth"), platform),
    }
    targets: dict[str, Any] = {
        "same_work_ratio": _at_least(ratios["same_work_ratio"], SAME_WORK_RATIO),
        "throughput_ratio": _at_least(ratios["throughput_ratio"], THROUGHPUT_RATIO),
    }
    fixed = (results.get("platform") or {}).get("fixed_rate")
    if fixed is not None:
        p99 = fixed["latency_ms"]["p99"]
        complete = fixed["received"] == fixed["events"]
        targets["fixed_rate_p99_ms"] = {
            "target": f"<= {FIXED_RATE_P99_MS:.0f} at {fixed['offered_rate']} cases/s, all arrived",
            "measured": p99,
            "met": complete and not math.isnan(p99) and p99 <= FIXED_RATE_P99_MS,
        }
    if results.get("data_growth"):
        targets["data_growth_ratio"] = _at_least(ratios["data_growth_ratio"], DATA_GROWTH_RATIO)
    replay = results.get("replay")
    if replay:
        seconds = replay["rebuild_seconds"]
        targets["replay_seconds"] = {
            "target": f"< {REPLAY_SECONDS:.0f} for {replay['events']} events, counts matching",
            "measured": seconds,
            "met": seconds < REPLAY_SECONDS and replay["counts_match"],
        }
    peaks = _service_peaks(results)
    if peaks:
        targets["service_peak_memory_mib"] = {
            "target": f"< {SERVICE_PEAK_MIB:.0f} for every service",
            "measured": peaks,
            "met": all(mib < SERVICE_PEAK_MIB for mib in peaks.values()),
        }
    return ratios | {"targets": targets}


def _memory(run: dict[str, Any]) -> str:
    return ", ".join(f"{name} {mib}" for name, mib in run["peak_memory_mib"].items())


def _rows(results: dict[str, Any]) -> list[str]:
    rows = [f"{'run':<24}{'events/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}   received"]
    hops = []
    for side in ("raw", "same_work", "platform", "data_growth"):
        for name in ("saturation", "fixed_rate"):
            run = (results.get(side) or {}).get(name)
            if run is None:
                continue
            lat = run["latency_ms"]
            rows.append(
                f"{side + ' ' + name:<24}{run['throughput_eps']:>10}{lat['p50']:>10}"
                f"{lat['p95']:>10}{lat['p99']:>10}   {run['received']} of {run['events']}"
            )
            if name == "fixed_rate":
                for hop, spread in run["hop_latency_ms"].items():
                    hops.append(
                        f"  {side + ' ' + hop:<30}{spread['p50']:>10}{spread['p95']:>10}"
                        f"{spread['p99']:>10}"
                    )
    if hops:
        rows += ["", f"{'per hop at the fixed rate':<32}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}"]
        rows += hops
    return rows


def table(results: dict[str, Any]) -> str:
    rows = [
        f"{results['events']} events per saturation run; fixed rate {results['fixed_rate_eps']} "
        f"events/s (half the platform's saturation), {results['fixed_rate_events']} events",
        "",
        *_rows(results),
        "",
        "peak memory MiB:",
    ]
    for side in ("raw", "same_work", "platform", "data_growth"):
        run = (results.get(side) or {}).get("saturation")
        if run is not None:
            rows.append(f"  {side:<12} {_memory(run)}")
    replay = results.get("replay")
    if replay:
        rows += [
            "",
            f"replay: {replay['events']} events rebuilt in {replay['rebuild_seconds']} s "
            f"(peak {replay['rebuild_peak_memory_mib']} MiB), counts match: "
            f"{replay['counts_match']}",
        ]
    if "error" in (results.get("platform") or {}):
        rows.append(f"platform: not measured: {results['platform']['error']}")
    growth = results.get("data_growth")
    if growth and "error" in growth:
        rows.append(f"data_growth: not measured: {growth['error']}")
    elif growth:
        rows.append(
            f"data_growth: {growth['year_cases']} past cases seeded "
            f"({sum(growth['seeded'].values())} documents in {growth['seed_seconds']} s)"
        )
    rows += [
        "",
        f"throughput_ratio (platform / raw): {results['throughput_ratio']}",
        f"same_work_ratio (platform / same_work): {results['same_work_ratio']}",
        f"data_growth_ratio (with a year of data / empty): {results['data_growth_ratio']}",
    ]
    for name, target in results["targets"].items():
        verdict = "met" if target["met"] else "NOT met"
        rows.append(f"  {name}: {target['measured']} (target {target['target']}): {verdict}")
    for side in ("same_work", "platform", "data_growth"):
        found = results.get(side)
        if found and "emails_expected" in found:
            dead = found.get("dead_lettered")
            rows.append(
                f"{side}: e-mails received {found['emails_received']} of "
                f"{found['emails_expected']}" + ("" if dead is None else f"; dead-lettered {dead}")
            )
    return "\n".join(rows)
