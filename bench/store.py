"""The store alone: does the cost of one document's read or write grow with the collection?

    uv run --frozen python -m bench.store --url mongodb://127.0.0.1:27017 --label postgresql
    uv run --frozen python -m bench.store --sizes 100,10000 --url ... --label sqlite

For each size it fills a collection of a scratch database with documents shaped like the
services' aggregates (a uuid ``_id``, a version, a case id, a status, a few nested fields and
an empty outbox; about 1 kB of BSON), then measures with plain PyMongo (no runtime, no locks):

- latency of ``find_one``, ``update_one`` and a version-guarded ``update_one``, each by
  ``_id`` of a random document (``OPS`` operations, or fewer when ``--budget`` seconds run out);
- throughput of ``CONCURRENT`` updates of different documents, all at once;
- whether concurrent conditional updates of one document stay atomic: 50 concurrent ``$push``
  (how many of the 50 values the document keeps), and a version guard with 10 writers (how
  many of them were let through; atomic is exactly 1).

Prints a table and writes the result to ``bench/results/store-<label>-<time>.json``. The
scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

HERE = Path(__file__).parent
OPS = 100
CONCURRENT = 400
# PyMongo's default pool: 400 requests wait for 100 connections. FerretDB 1.24 on PostgreSQL
# stops answering when every one of its 50 PostgreSQL connections is held by a request that
# waits for another (seen with 400 client connections), so the client stays at its default.
CONNECTIONS = 100
PUSHERS = 50
GUARDED_WRITERS = 10
BATCH = 1000


def aggregate(number: int) -> dict[str, Any]:
    """A document shaped like a service's aggregate (screening, delivery, network member)."""
    return {
        "_id": str(uuid.uuid4()),
        "version": 1,
        "case_id": str(uuid.uuid4()),
        "pilot": random.choice(["leiden", "mechelen", "lille"]),
        "status": "scheduled" if number % 10 else "delivered",
        "created_at": dt.datetime.now(dt.UTC),
        "findings": {
            "strengths": ["working memory", "knows right from wrong"],
            "growth_areas": ["reading"],
            "advice": {"school": "x" * 200, "parents": "y" * 200, "child": "z" * 200},
        },
        "applied": [str(uuid.uuid4()) for _ in range(3)],
        "outbox": [],
    }


async def fill(coll: Any, size: int) -> list[str]:
    ids: list[str] = []
    for start in range(0, size, BATCH):
        docs = [aggregate(n) for n in range(start, min(size, start + BATCH))]
        ids.extend(doc["_id"] for doc in docs)
        await coll.insert_many(docs, ordered=False)
    return ids


async def latencies(
    ids: list[str], op: Any, budget: float, ops: int = OPS
) -> dict[str, float | int]:
    """Run ``op(id)`` one after another on random documents; milliseconds per operation."""
    took: list[float] = []
    deadline = time.monotonic() + budget
    while len(took) < ops and time.monotonic() < deadline:
        doc_id = random.choice(ids)
        started = time.perf_counter()
        await op(doc_id)
        took.append((time.perf_counter() - started) * 1000)
    ordered = sorted(took)
    return {
        "ops": len(took),
        "median_ms": round(statistics.median(took), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
    }


async def concurrent_updates(coll: Any, ids: list[str], budget: float) -> dict[str, float | int]:
    """``CONCURRENT`` updates of different documents at once (or as many as finish in the
    budget); updates per second."""
    chosen = random.sample(ids, min(CONCURRENT, len(ids)))
    started = time.perf_counter()
    tasks = [
        asyncio.ensure_future(coll.update_one({"_id": i}, {"$set": {"status": "sent"}}))
        for i in chosen
    ]
    done, pending = await asyncio.wait(tasks, timeout=budget)
    elapsed = time.perf_counter() - started
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    finished = sum(1 for t in done if t.exception() is None)
    refused = sum(1 for t in done if t.exception() is not None)
    return {"updates": finished, "refused": refused, "per_second": round(finished / elapsed, 1)}


async def atomicity(coll: Any) -> dict[str, int]:
    """Concurrent conditional updates of one document, on the raw store. SQLite refuses
    some writers outright ("database is locked"): they are counted, not raised."""
    target = aggregate(0)
    await coll.insert_one(target)
    pushes = (
        coll.update_one({"_id": target["_id"]}, {"$push": {"outbox": n}}) for n in range(PUSHERS)
    )
    pushed = await asyncio.gather(*pushes, return_exceptions=True)
    kept = await coll.find_one({"_id": target["_id"]})
    writers = (
        coll.update_one(
            {"_id": target["_id"], "version": 1},
            {"$set": {"writer": n}, "$inc": {"version": 1}},
        )
        for n in range(GUARDED_WRITERS)
    )
    guarded = await asyncio.gather(*writers, return_exceptions=True)
    return {
        "push_sent": PUSHERS,
        "push_refused": sum(1 for r in pushed if isinstance(r, Exception)),
        "push_kept": len(kept["outbox"]) if kept else 0,
        "guard_writers": GUARDED_WRITERS,
        "guard_refused": sum(1 for r in guarded if isinstance(r, Exception)),
        "guard_let_through": sum(
            r.modified_count for r in guarded if not isinstance(r, BaseException)
        ),
    }


async def within(work: Any, budget: float) -> dict[str, Any]:
    """The atomicity check, or what is known when it does not end in time (FerretDB on
    SQLite stopped answering the concurrent writers to one document at 100,000)."""
    try:
        result: dict[str, Any] = await asyncio.wait_for(work, budget * 2)
    except TimeoutError:
        return {"timed_out_after_s": budget * 2}
    return result


async def measure_size(db: Any, size: int, budget: float) -> dict[str, Any]:
    coll = db[f"docs_{size}"]
    filled = time.perf_counter()
    ids = await fill(coll, size)
    fill_seconds = round(time.perf_counter() - filled, 1)
    versions = {i: 1 for i in ids}

    async def find(doc_id: str) -> None:
        await coll.find_one({"_id": doc_id})

    async def update(doc_id: str) -> None:
        await coll.update_one({"_id": doc_id}, {"$set": {"status": "sent"}})

    async def guarded(doc_id: str) -> None:
        version = versions[doc_id]
        result = await coll.update_one(
            {"_id": doc_id, "version": version},
            {"$set": {"status": "sent"}, "$inc": {"version": 1}},
        )
        versions[doc_id] = version + result.modified_count

    result = {
        "documents": size,
        "fill_seconds": fill_seconds,
        "find_one": await latencies(ids, find, budget),
        "update_one": await latencies(ids, update, budget),
        "guarded_update_one": await latencies(ids, guarded, budget),
        "concurrent_updates": await concurrent_updates(coll, ids, budget),
        "atomicity": await within(atomicity(coll), budget),
    }
    await coll.drop()
    return result


def table(label: str, rows: list[dict[str, Any]]) -> str:
    lines = [
        f"store: {label}",
        f"{'documents':>10} {'find_one':>10} {'update':>10} {'guarded':>10} "
        f"{'conc. upd/s':>12} {'$push kept':>11} {'guard through':>14}",
    ]
    for r in rows:
        a = {"push_kept": "-", "push_sent": PUSHERS, "guard_let_through": "-"}
        a |= {"guard_writers": GUARDED_WRITERS} | r["atomicity"]
        lines.append(
            f"{r['documents']:>10,} {r['find_one']['median_ms']:>8} ms "
            f"{r['update_one']['median_ms']:>7} ms {r['guarded_update_one']['median_ms']:>7} ms "
            f"{r['concurrent_updates']['per_second']:>12} "
            f"{a['push_kept']:>5} of {a['push_sent']:<3} {a['guard_let_through']:>6} of "
            f"{a['guard_writers']}"
        )
    return "\n".join(lines)


async def main(url: str, label: str, sizes: list[int], budget: float) -> dict[str, Any]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(url, maxPoolSize=CONNECTIONS)
    name = f"vrac_bench_store_{uuid.uuid4().hex[:8]}"
    try:
        info = await client.admin.command("buildInfo")
        rows = []
        for size in sizes:
            rows.append(await measure_size(client[name], size, budget))
            print(f"{label}: {json.dumps(rows[-1], default=str)}", file=sys.stderr, flush=True)
    finally:
        await client.drop_database(name)
        await client.close()
    return {
        "store": label,
        "server": info.get("ferretdbVersion") or f"MongoDB {info.get('version')}",
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "median_of": OPS,
        "sizes": rows,
    }


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store", description=__doc__)
    parser.add_argument("--url", default="mongodb://127.0.0.1:27017")
    parser.add_argument("--label", required=True, help="what the store is, e.g. postgresql")
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per measurement")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    result = asyncio.run(main(args.url, args.label, sizes, args.budget))
    print(table(args.label, result["sizes"]))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = HERE / "results" / f"store-{args.label}-{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
