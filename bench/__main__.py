"""``make bench``: the platform against the raw-Kafka baseline, in one run, on the local stack.

1. baseline: raw aiokafka over three hops, at saturation, then at half of that rate;
2. platform: the same number of events through screening and notifications as processes,
   at saturation and at the baseline's fixed rate;
3. scale: reporting rebuilds its read models by replaying a topic of 1,000,000 events.

Prints a table, writes the whole result as JSON to ``bench/results/``. Knobs (environment):
``VRAC_BENCH_EVENTS`` (default 300), ``VRAC_BENCH_REPLAY_EVENTS`` (default 1000000, 0 skips).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from vrac_testing.cleanup import forget_prefixes
from vrac_testing.infrastructure import local_stack_ports, repo_root

from bench.baseline import run_baseline
from bench.memory import peak_mib, stack_pids
from bench.platform import (
    dead_lettered,
    logs_folder,
    run_platform,
    start_platform,
    stop_platform,
)
from bench.report import compare, table

HERE = Path(__file__).parent


def _shown(folder: Path) -> str:
    """A folder as a result records it: relative to the repository, never a machine's path."""
    try:
        return str(folder.resolve().relative_to(repo_root().resolve()))
    except ValueError:
        return folder.name  # a state folder elsewhere (VRAC_STATE_DIR): its own name only


async def measure(kafka: str, mongodb_url: str, events: int) -> dict[str, Any]:
    saturation = await run_baseline(kafka, events, None)
    fixed_rate = round(saturation.throughput / 2, 1)
    fixed = await run_baseline(kafka, events, fixed_rate)
    put = await start_platform(kafka, mongodb_url, events, logs_folder(repo_root()))
    try:
        platform_saturation = await run_platform(put, None)
        platform_fixed = await run_platform(put, fixed_rate)
        dead = await dead_lettered(put)
    finally:
        emails = await stop_platform(put)
        prefix = put.settings.topic_prefix.rstrip(".")
        await forget_prefixes(kafka, mongodb_url, {prefix})
    return {
        "events": events,
        "fixed_rate_eps": fixed_rate,
        "baseline": {"saturation": saturation.summary(), "fixed_rate": fixed.summary()},
        "platform": {
            "saturation": platform_saturation.summary(),
            "fixed_rate": platform_fixed.summary(),
            "emails_received": emails,
            "emails_expected": 2 * events,
            "dead_lettered": dead,
            "logs": _shown(put.platform.logs),
        },
    }


def replay(events: int) -> dict[str, Any] | None:
    """The reporting rebuild over ``events`` replayed events, as its own process."""
    if events <= 0:
        return None
    script = repo_root() / "services" / "reporting" / "bench" / "replay.py"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "replay.json"
        print(f"replay: producing {events} events, then rebuilding ...", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, str(script), "--events", str(events), "--json", str(out)],
            capture_output=True,
            text=True,
        )
        if not out.exists():
            raise RuntimeError(f"the replay run failed:\n{done.stdout}\n{done.stderr}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description="VRAC benchmark: platform against raw Kafka")
    events = int(os.environ.get("VRAC_BENCH_EVENTS", 300))
    parser.add_argument("--events", type=int, default=events)
    parser.add_argument(
        "--replay-events",
        type=int,
        default=int(os.environ.get("VRAC_BENCH_REPLAY_EVENTS", 1_000_000)),
    )
    args = parser.parse_args()
    kafka_port, mongo_port = local_stack_ports()
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{kafka_port}")
    mongodb_url = os.environ.get("MONGODB_URL", f"mongodb://127.0.0.1:{mongo_port}")

    results = asyncio.run(measure(kafka, mongodb_url, args.events))
    results["replay"] = replay(args.replay_events)
    results["throughput_ratio"], results["targets"] = compare(results)
    results["stack_peak_memory_mib"] = {
        f"{name} (since it started)": peak_mib(pid) for name, pid in stack_pids(repo_root()).items()
    }
    results["bench_driver_peak_memory_mib"] = peak_mib()
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}

    print(table(results))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"bench-{stamp}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"written: {path.relative_to(repo_root())}")
    honest = (
        results["platform"]["dead_lettered"] == 0
        and results["platform"]["emails_received"] >= results["platform"]["emails_expected"]
        and all(
            results[side][run]["received"] == args.events
            for side in ("baseline", "platform")
            for run in ("saturation", "fixed_rate")
        )
    )
    if not honest:
        print("WARNING: not every event came through; see the JSON and the service logs")
    return 0 if honest else 1


if __name__ == "__main__":
    sys.exit(main())
