"""What the numbers say: the platform/baseline ratio, the targets, and the table on screen."""

from __future__ import annotations

from typing import Any

# The targets users were promised; measured here, never asserted in tests.
THROUGHPUT_SHARE = 0.70  # platform throughput at saturation, as a share of the baseline's
P99_MARGIN_MS = 10.0  # platform p99 at the fixed rate may exceed the baseline's by this much
REPLAY_SECONDS = 60.0  # rebuilding reporting from 1,000,000 events


def compare(results: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    """The throughput ratio (platform / baseline, at saturation) and each target's verdict."""
    base, platform = results["baseline"], results["platform"]
    baseline_eps = base["saturation"]["throughput_eps"]
    ratio = (
        round(platform["saturation"]["throughput_eps"] / baseline_eps, 3) if baseline_eps else None
    )
    p99_allowed = base["fixed_rate"]["latency_ms"]["p99"] + P99_MARGIN_MS
    p99 = platform["fixed_rate"]["latency_ms"]["p99"]
    targets: dict[str, Any] = {
        "throughput_ratio": {
            "target": f">= {THROUGHPUT_SHARE}",
            "measured": ratio,
            "met": ratio is not None and ratio >= THROUGHPUT_SHARE,
        },
        "fixed_rate_p99_ms": {
            "target": f"<= {p99_allowed:.1f} (baseline p99 + {P99_MARGIN_MS:.0f})",
            "measured": p99,
            "met": p99 <= p99_allowed,
        },
    }
    replay = results.get("replay")
    if replay:
        seconds = replay["rebuild_seconds"]
        targets["replay_seconds"] = {
            "target": f"< {REPLAY_SECONDS:.0f} for {replay['events']} events",
            "measured": seconds,
            "met": seconds < REPLAY_SECONDS and replay["counts_match"],
        }
    return ratio, targets


def _memory(run: dict[str, Any]) -> str:
    return ", ".join(f"{name} {mib}" for name, mib in run["peak_memory_mib"].items())


def table(results: dict[str, Any]) -> str:
    rows = [
        f"{results['events']} events per run; fixed rate {results['fixed_rate_eps']} events/s",
        "",
        f"{'run':<22}{'events/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}   peak memory MiB",
    ]
    for side in ("baseline", "platform"):
        for name in ("saturation", "fixed_rate"):
            run = results[side][name]
            lat = run["latency_ms"]
            rows.append(
                f"{side + ' ' + name:<22}{run['throughput_eps']:>10}{lat['p50']:>10}"
                f"{lat['p95']:>10}{lat['p99']:>10}   {_memory(run)}"
            )
    replay = results.get("replay")
    if replay:
        rows += [
            "",
            f"replay: {replay['events']} events rebuilt in {replay['rebuild_seconds']} s "
            f"(peak {replay['rebuild_peak_memory_mib']} MiB), counts match: "
            f"{replay['counts_match']}",
        ]
    rows += ["", f"throughput_ratio (platform / baseline): {results['throughput_ratio']}"]
    for name, target in results["targets"].items():
        verdict = "met" if target["met"] else "NOT met"
        rows.append(f"  {name}: {target['measured']} (target {target['target']}): {verdict}")
    platform = results["platform"]
    rows.append(
        f"e-mails received {platform['emails_received']} of {platform['emails_expected']}; "
        f"dead-lettered {platform['dead_lettered']}"
    )
    return "\n".join(rows)
