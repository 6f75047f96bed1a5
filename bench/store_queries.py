"""Which of the services' queries cost more as a collection grows, on FerretDB.

    uv run --frozen python -m bench.store_queries --url mongodb://127.0.0.1:27017

For each query shape the services and the runtime send (``QUERIES``: the filter as the code
writes it, on a collection with the indexes the code creates at start-up), it fills a scratch
collection with ``--documents`` documents in which, as in a year of data, only a few match,
and asks FerretDB's ``explain``: whether FerretDB hands the filter to its backend
(``filterPushdown``; if not, FerretDB reads every document of the collection and filters them
itself) and whether PostgreSQL answers from an index or by reading the table. Then it times
the query at 100 documents and at ``--documents``. Prints a table; nothing is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
RUNS = 5


@dataclass(frozen=True)
class Query:
    where: str  # the code that sends it
    indexes: tuple[tuple[tuple[str, int], ...], ...]  # what that collection has
    filter: dict[str, Any]
    when: str  # how often it runs


def _idx(*fields: str | tuple[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(f if isinstance(f, tuple) else (f, ASCENDING) for f in fields)


QUERIES = (
    Query("any aggregate: find_one / update_one by _id", (), {"_id": "PICK"}, "every event"),
    Query(
        "guarded update by _id and version",
        (),
        {"_id": "PICK", "version": 1},
        "every command",
    ),
    Query(
        "runtime outbox relay: pending documents",
        (_idx("outbox_pending"),),
        {"outbox_pending": True},
        "every relay tick (0.5 s)",
    ),
    Query(
        "runtime outbox relay: start-up adoption of unflagged entries",
        (_idx("outbox_pending"),),
        {"outbox.0": {"$exists": True}, "outbox_pending": {"$ne": True}},
        "once per start",
    ),
    Query(
        "intake: cases owing key destruction",
        (_idx(("pilot", ASCENDING), ("opened_at", DESCENDING)), _idx("erasure_pending")),
        {"erasure_pending": True},
        "periodic job",
    ),
    Query(
        "intake: case list of a pilot",
        (_idx(("pilot", ASCENDING), ("opened_at", DESCENDING)), _idx("erasure_pending")),
        {"pilot": "norwich", "status": "open"},
        "a coach's list (paged)",
    ),
    Query(
        "intake / screening / network: audit or records of one case",
        (_idx("case_id"),),
        {"case_id": "PICK_CASE"},
        "a read of one case",
    ),
    Query(
        "screening: cases with an erasure pending",
        (_idx("erasure_pending"),),
        {"erasure_pending": True},
        "periodic job",
    ),
    Query(
        "network: cases with an erasure or a removal pending",
        (),
        {"$or": [{"erasure_pending": True}, {"removals_pending.0": {"$exists": True}}]},
        "periodic job",
    ),
    Query(
        "network: overdue candidates",
        (_idx("case_id"), _idx("overdue", "due_date"), _idx("text_unchecked")),
        {
            "overdue": False,
            "status": {"$in": ["assigned", "accepted"]},
            "due_date": {"$type": "string", "$lt": "2026-06-01"},
        },
        "overdue sweep",
    ),
    Query(
        "notifications: due deliveries (before: a range on due_at)",
        (_idx("case_id"), _idx("due_at")),
        {"due_at": {"$lte": NOW}},
        "every scheduler poll",
    ),
    Query(
        "notifications: due deliveries (now: the waiting flag)",
        (_idx("case_id"), _idx("waiting", "due_at")),
        {"waiting": True, "due_at": {"$lte": NOW}},
        "every scheduler poll",
    ),
    Query(
        "runtime sealing: live keys not wrapped by the current KEK",
        (_idx("case_id"),),
        {"destroyed": {"$ne": True}, "kek": {"$ne": "k2"}},
        "once per start (KEK rotation)",
    ),
)


def document(n: int, matching: bool) -> dict[str, Any]:
    """One document with every field the queries look at; ``matching`` ones are the few a
    periodic query is after (pending, due, owing)."""
    return {
        "_id": f"doc{n:07d}",
        "version": 1,
        "case_id": f"case{n // 4:07d}",
        "pilot": ["leiden", "mechelen", "norwich", "lille"][n % 4],
        "status": "open" if n % 10 == 0 else "closed",
        "opened_at": NOW - dt.timedelta(minutes=n),
        "erasure_pending": matching,
        "removals_pending": ["mbr_x"] if matching else [],
        "outbox": [{"id": str(uuid.uuid4())}] if matching else [],
        "outbox_pending": matching,
        "overdue": False,
        "due_date": "2026-05-01" if matching else "2026-07-01",
        "waiting": matching,
        "due_at": NOW - dt.timedelta(minutes=1) if matching else None,
        "destroyed": not matching,
        "kek": "k2",
        "text": "x" * 400,
    }


async def fill(coll: Any, size: int) -> None:
    batch = 1000
    for start in range(0, size, batch):
        await coll.insert_many(
            [document(n, n % 1000 == 7) for n in range(start, min(size, start + batch))]
        )


def bound(query: Query, size: int) -> dict[str, Any]:
    picked = f"doc{size // 2:07d}"
    text = json.dumps(query.filter, default=str)
    text = text.replace('"PICK"', json.dumps(picked)).replace(
        '"PICK_CASE"', json.dumps(f"case{size // 8:07d}")
    )
    loaded: dict[str, Any] = json.loads(text)
    if "due_at" in query.filter:
        loaded["due_at"] = {"$lte": NOW}
    return loaded


def plan_uses_index(plan: Any) -> bool:
    return "Index" in json.dumps(plan)


async def timed(coll: Any, filter: dict[str, Any]) -> float:
    took = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await coll.find(filter, {"_id": 1}).to_list()
        took.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(took), 2)


async def measure(url: str, size: int) -> list[dict[str, Any]]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(url)
    name = f"vrac_bench_queries_{uuid.uuid4().hex[:8]}"
    db = client[name]
    rows = []
    try:
        for number, query in enumerate(QUERIES):
            row: dict[str, Any] = {"query": query.where, "runs": query.when}
            for n in (100, size):
                coll = db[f"q{number}_{n}"]
                for keys in query.indexes:
                    await coll.create_index(list(keys))
                await fill(coll, n)
                row[f"ms_at_{n}"] = await timed(coll, bound(query, n))
                if n == size:
                    explained = await db.command(
                        "explain", {"find": coll.name, "filter": bound(query, n)}
                    )
                    row["pushdown"] = bool(explained.get("filterPushdown"))
                    row["index"] = plan_uses_index(explained.get("queryPlanner"))
                await coll.drop()
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        await client.drop_database(name)
        await client.close()
    return rows


def table(rows: list[dict[str, Any]], size: int) -> str:
    lines = [f"{'query':62} {'pushdown':>8} {'index':>6} {'100 docs':>9} {size:>8,} docs"]
    for r in rows:
        lines.append(
            f"{r['query'][:62]:62} {r['pushdown']!s:>8} {r['index']!s:>6} "
            f"{r['ms_at_100']:>6} ms {r[f'ms_at_{size}']:>8} ms"
        )
    return "\n".join(lines)


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_queries", description=__doc__)
    parser.add_argument("--url", default="mongodb://127.0.0.1:27017")
    parser.add_argument("--documents", type=int, default=10000)
    args = parser.parse_args(argv)
    rows = asyncio.run(measure(args.url, args.documents))
    print(table(rows, args.documents))
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
