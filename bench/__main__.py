"""``make bench``: the whole story of throughput, in one run, on the local stack.

1. raw: aiokafka relaying over three hops (Kafka's limit on this machine);
2. platform: the real services from ``findings-recorded`` to ``notification-delivered``, as
   fast as possible, then at half that rate (latency, end to end and per hop);
3. same_work: a hand-written pipeline doing the same essential work, at both rates;
4. raw again at that fixed rate (Kafka's own latency at the same pace);
5. data_growth: the platform again, with a year of data already in its stores;
6. replay: reporting rebuilds its read models from 1,000,000 events.

Prints a table, writes the whole result as JSON to ``bench/results/``. Knobs (environment or
options) make each part smaller for a quick check; see ``bench/README.md``.
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
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from vrac_testing.cleanup import forget_prefixes
from vrac_testing.infrastructure import local_stack_ports, repo_root
from vrac_testing.processes import Platform

from bench import seed
from bench.memory import peak_mib, stack_pids
from bench.platform import (
    SERVICES,
    PlatformUnderTest,
    dead_lettered,
    logs_folder,
    run_platform,
    start_platform,
    stop_platform,
)
from bench.raw import run_raw
from bench.report import compare, table
from bench.same_work import run_same_work, start_same_work, stop_same_work

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Knobs:
    events: int  # per saturation run
    fixed_rate_seconds: float  # how long the fixed-rate runs offer events, at most
    year_cases: int  # past cases seeded for data_growth; 0 skips it
    replay_events: int  # 0 skips the replay

    def fixed_events(self, rate: float) -> int:
        return min(self.events, max(10, int(rate * self.fixed_rate_seconds)))


def _shown(folder: Path) -> str:
    """A folder as a result records it: relative to the repository, never a machine's path."""
    try:
        return str(folder.resolve().relative_to(repo_root().resolve()))
    except ValueError:
        return folder.name  # a state folder elsewhere (VRAC_STATE_DIR): its own name only


async def _finish_platform(
    put: PlatformUnderTest, kafka: str, mongodb_url: str, expected: int
) -> dict[str, Any]:
    try:
        dead = await dead_lettered(put)
    finally:
        emails = await stop_platform(put)
        await forget_prefixes(kafka, mongodb_url, {put.settings.topic_prefix.rstrip(".")})
    return {
        "emails_received": emails,
        "emails_expected": expected,
        "dead_lettered": dead,
        "logs": _shown(put.platform.logs),
    }


def _not_started(side: str, err: RuntimeError, logs: Path) -> dict[str, Any]:
    """What a run records when the services could not even start or take the cases."""
    error = str(err).replace(f"{repo_root().resolve()}/", "")  # no machine's path
    print(f"{side}: {error}", file=sys.stderr)
    return {"error": error, "logs": _shown(logs)}


async def measure_platform(kafka: str, mongodb_url: str, knobs: Knobs) -> dict[str, Any]:
    """The platform at saturation, then at half that; returns its results and the rate."""
    logs = logs_folder(repo_root())
    try:
        put = await start_platform(kafka, mongodb_url, knobs.events, logs)
    except RuntimeError as err:
        return _not_started("platform", err, logs)
    try:
        saturation = await run_platform(put, None)
        rate = round(saturation.throughput / 2, 1)
        fixed = await run_platform(put, rate or None, knobs.fixed_events(rate)) if rate else None
    except BaseException:
        await _finish_platform(put, kafka, mongodb_url, 0)
        raise
    runs = {"saturation": saturation.summary()}
    if fixed is not None:
        runs["fixed_rate"] = fixed.summary()
    expected = knobs.events + (fixed.events if fixed else 0)
    return runs | await _finish_platform(put, kafka, mongodb_url, expected)


async def measure_same_work(
    kafka: str, mongodb_url: str, knobs: Knobs, rate: float
) -> dict[str, Any]:
    sw = await start_same_work(kafka, mongodb_url, knobs.events)
    try:
        saturation = await run_same_work(sw, None)
        fixed = await run_same_work(sw, rate, knobs.fixed_events(rate)) if rate else None
    finally:
        emails = await stop_same_work(sw)
        await forget_prefixes(kafka, mongodb_url, {sw.prefix})
    runs = {"saturation": saturation.summary()}
    if fixed is not None:
        runs["fixed_rate"] = fixed.summary()
    expected = knobs.events + (fixed.events if fixed else 0)
    return runs | {"emails_received": emails, "emails_expected": expected}


async def _seed_year(
    mongodb_url: str, cases: int, into: dict[str, Any], platform: Platform
) -> None:
    """A year of past cases in screening's and notifications' databases, before they start."""
    databases = {name: platform.env(name)["VRAC_MONGODB_DATABASE"] for name in SERVICES}
    started = time.monotonic()
    print(f"data_growth: seeding {cases} past cases ...", file=sys.stderr)
    now = dt.datetime.now(dt.UTC)
    into["seeded"] = await seed.insert(mongodb_url, databases, seed.year_of_data(cases, now))
    into["seed_seconds"] = round(time.monotonic() - started, 1)


async def measure_data_growth(kafka: str, mongodb_url: str, knobs: Knobs) -> dict[str, Any]:
    """The platform at saturation on stores that already hold a year of cases."""
    found: dict[str, Any] = {"year_cases": knobs.year_cases}
    before = partial(_seed_year, mongodb_url, knobs.year_cases, found)
    logs = logs_folder(repo_root())
    try:
        put = await start_platform(kafka, mongodb_url, knobs.events, logs, before_start=before)
    except RuntimeError as err:
        return found | _not_started("data_growth", err, logs)
    try:
        saturation = await run_platform(put, None, label="data_growth saturation")
    except BaseException:
        await _finish_platform(put, kafka, mongodb_url, 0)
        raise
    found["saturation"] = saturation.summary()
    return found | await _finish_platform(put, kafka, mongodb_url, knobs.events)


async def measure(kafka: str, mongodb_url: str, knobs: Knobs) -> dict[str, Any]:
    raw = {"saturation": (await run_raw(kafka, knobs.events, None)).summary()}
    platform = await measure_platform(kafka, mongodb_url, knobs)
    # the rate the platform's own fixed-rate run used (its saturation before rounding)
    rate = float((platform.get("fixed_rate") or {}).get("offered_rate") or 0.0)
    same_work = await measure_same_work(kafka, mongodb_url, knobs, rate)
    if rate:
        raw["fixed_rate"] = (await run_raw(kafka, knobs.fixed_events(rate), rate)).summary()
    growth = await measure_data_growth(kafka, mongodb_url, knobs) if knobs.year_cases else None
    return {
        "events": knobs.events,
        "fixed_rate_eps": rate,
        "fixed_rate_events": knobs.fixed_events(rate) if rate else 0,
        "raw": raw,
        "same_work": same_work,
        "platform": platform,
        "data_growth": growth,
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


def _knob(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def knobs_from_arguments() -> Knobs:
    parser = argparse.ArgumentParser(description="VRAC benchmark: the whole story in one run")
    parser.add_argument("--events", type=int, default=int(_knob("VRAC_BENCH_EVENTS", 3000)))
    parser.add_argument(
        "--fixed-rate-seconds",
        type=float,
        default=_knob("VRAC_BENCH_FIXED_RATE_SECONDS", 60),
    )
    parser.add_argument(
        "--year-cases", type=int, default=int(_knob("VRAC_BENCH_YEAR_CASES", 20_000))
    )
    parser.add_argument(
        "--replay-events", type=int, default=int(_knob("VRAC_BENCH_REPLAY_EVENTS", 1_000_000))
    )
    args = parser.parse_args()
    return Knobs(args.events, args.fixed_rate_seconds, args.year_cases, args.replay_events)


def complete(results: dict[str, Any]) -> bool:
    """Every event of every run arrived, every e-mail went out, nothing was dead-lettered."""
    sides = [results[s] for s in ("raw", "same_work", "platform", "data_growth") if results[s]]
    runs = [side[name] for side in sides for name in ("saturation", "fixed_rate") if name in side]
    return (
        not any("error" in side for side in sides)
        and all(run["received"] == run["events"] for run in runs)
        and all(side.get("dead_lettered", 0) == 0 for side in sides)
        and all(
            side["emails_received"] >= side["emails_expected"]
            for side in sides[1:]
            if "emails_expected" in side
        )
    )


def main() -> int:
    knobs = knobs_from_arguments()
    kafka_port, mongo_port = local_stack_ports()
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{kafka_port}")
    mongodb_url = os.environ.get("MONGODB_URL", f"mongodb://127.0.0.1:{mongo_port}")

    results = asyncio.run(measure(kafka, mongodb_url, knobs))
    results["knobs"] = asdict(knobs)
    results["replay"] = replay(knobs.replay_events)
    results |= compare(results)
    results["stack_peak_memory_mib"] = {
        f"{name} (since it started)": peak_mib(pid) for name, pid in stack_pids(repo_root()).items()
    }
    results["bench_driver_peak_memory_mib"] = peak_mib()
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }

    print(table(results))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"bench-{stamp}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"written: {path.relative_to(repo_root())}")
    if not complete(results):
        print("WARNING: not every event came through; see the JSON and the service logs")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
