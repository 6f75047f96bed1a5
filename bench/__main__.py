"""``make bench``: the raw-Kafka baseline at saturation and at half of it.

The platform run (the same events through the services) is not written yet; this prints the
baseline table and writes it to ``bench/results/`` so later runs have a reference.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
from pathlib import Path

from vrac_runtime.testing.infrastructure import local_stack_ports

from bench.baseline import run_baseline


async def measure(bootstrap: str, events: int) -> dict[str, object]:
    saturation = await run_baseline(bootstrap, events, None)
    fixed = await run_baseline(bootstrap, events, saturation.throughput / 2)
    return {"baseline": {"saturation": saturation.summary(), "fixed_rate": fixed.summary()}}


def table(results: dict[str, object]) -> str:
    rows = ["run                    events/s    p50 ms    p95 ms    p99 ms"]
    for name, run in results["baseline"].items():  # type: ignore[attr-defined]
        lat = run["latency_ms"]
        rows.append(f"baseline {name:<13} {run['throughput_eps']:>9} {lat['p50']:>9} "
                    f"{lat['p95']:>9} {lat['p99']:>9}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="VRAC benchmark (baseline)")
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    port, _ = local_stack_ports()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")
    results = asyncio.run(measure(bootstrap, args.events))
    print(table(results))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"baseline-{stamp}.json").write_text(json.dumps(results, indent=2))
    print(f"written: {out / f'baseline-{stamp}.json'}")


if __name__ == "__main__":
    main()
