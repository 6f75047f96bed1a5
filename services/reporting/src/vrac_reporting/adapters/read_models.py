"""The read models in MongoDB, one set of collections per generation.

``counts_<generation>``: one small document per pilot and month, ``{pilot, month, counts:
{metric: n}, recent: [ce_id, ...]}``. ``facts_<generation>``: one document per event the live
path counted, ``{_id: ce_id, key, counted}``; the unique ``_id`` makes a second delivery of
the same event a no-op. ``read_model_state``: which generation reports read and which one a
rebuild is filling. ``generations``: the history and statistics of each generation.

Counting one live event takes three single-document writes, safe against a crash between
any two of them: the fact is inserted (``counted: false``), the pilot-month counters are
incremented unless the event id is among the document's ``recent`` ids, and the fact is
marked counted. A redelivery finds the fact; if it is not marked, the ``recent`` guard tells
whether the increment happened.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from vrac_reporting.domain.errors import RebuildRunning, Superseded
from vrac_reporting.domain.generations import INITIAL_GENERATION, Generation, ReadModelState
from vrac_reporting.domain.tally import Tally
from vrac_reporting.ports import Bucket

STATE = "current"
# Event ids a counters document remembers for crash recovery; trimmed when twice as many.
RECENT = 200
DUPLICATE_KEY = 11000
_INSERT_CHUNK = 5000
_GONE = ("retired", "failed", "superseded")


class MongoReadModels:
    """The ``ReadModels`` port of the running service."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._db = db
        self._state: AsyncCollection[Any] = db["read_model_state"]
        self._generations: AsyncCollection[Any] = db["generations"]

    def _counts(self, generation: str) -> AsyncCollection[Any]:
        return self._db[f"counts_{generation}"]

    def _facts(self, generation: str) -> AsyncCollection[Any]:
        return self._db[f"facts_{generation}"]

    async def initialize(self) -> None:
        """The first generation, for a store that has none yet (safe to run concurrently)."""
        initial = {"id": INITIAL_GENERATION, "coverage": []}
        for collection, doc in (
            (self._state, {"_id": STATE, "active": initial, "building": None}),
            (self._generations, {"_id": INITIAL_GENERATION, "status": "active"}),
        ):
            with contextlib.suppress(DuplicateKeyError):
                await collection.insert_one(doc)

    async def state(self) -> ReadModelState:
        doc = await self._state.find_one({"_id": STATE})
        if doc is None:
            return ReadModelState(Generation(INITIAL_GENERATION))
        building = doc.get("building")
        return ReadModelState(
            _generation(doc["active"]), _generation(building) if building else None
        )

    # --- live path ---------------------------------------------------------------------

    async def count_once(self, generation: str, tally: Tally) -> bool:
        facts = self._facts(generation)
        try:
            await facts.insert_one({"_id": tally.event_id, "key": tally.key, "counted": False})
        except DuplicateKeyError:
            fact = await facts.find_one({"_id": tally.event_id})
            if fact is None or fact.get("counted"):
                return False
        applied = await self._increment(self._counts(generation), tally)
        await facts.update_one({"_id": tally.event_id}, {"$set": {"counted": True}})
        return applied

    async def _increment(self, counts: AsyncCollection[Any], tally: Tally) -> bool:
        guard = {"_id": tally.key, "recent": {"$ne": tally.event_id}}
        update = {
            "$inc": {f"counts.{metric}": 1 for metric in tally.metrics},
            "$push": {"recent": tally.event_id},
            "$setOnInsert": {"pilot": tally.pilot, "month": tally.month},
        }
        try:
            doc = await counts.find_one_and_update(
                guard, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            # The document exists: either it holds this id already, or another writer
            # created it a moment ago. Without upsert the guard alone decides.
            doc = await counts.find_one_and_update(
                guard, update, return_document=ReturnDocument.AFTER
            )
        if doc is None:
            return False
        recent = doc.get("recent", [])
        if len(recent) > 2 * RECENT:
            # $pullAll of exact values: entries pushed meanwhile stay.
            await counts.update_one({"_id": tally.key}, {"$pullAll": {"recent": recent[:-RECENT]}})
        return True

    # --- rebuild -----------------------------------------------------------------------

    async def begin_build(
        self, generation: Generation, now: datetime, stale_before: datetime, force: bool
    ) -> None:
        building = {**_generation_doc(generation), "heartbeat_at": now}
        # Generations given up earlier are surely idle by now: drop their collections.
        await self._drop_gone_generations()
        result = await self._state.update_one(
            {"_id": STATE, "building": None}, {"$set": {"building": building}}
        )
        if result.matched_count == 0:
            await self._replace_build(building, stale_before, force)
        await self._generations.insert_one(
            {"_id": generation.id, "status": "building", "started_at": now}
        )

    async def _replace_build(
        self, building: dict[str, Any], stale_before: datetime, force: bool
    ) -> None:
        doc = await self._state.find_one({"_id": STATE}) or {}
        current = doc.get("building")
        if not current:
            raise RebuildRunning("the read-model state changed meanwhile; try again")
        if not force and current["heartbeat_at"] >= stale_before:
            raise RebuildRunning(f"generation {current['id']} is being built")
        result = await self._state.update_one(
            {"_id": STATE, "building.id": current["id"]}, {"$set": {"building": building}}
        )
        if result.matched_count == 0:
            raise RebuildRunning("another rebuild started meanwhile")
        await self._generations.update_one(
            {"_id": current["id"]}, {"$set": {"status": "superseded"}}
        )

    async def _drop_gone_generations(self) -> None:
        async for doc in self._generations.find({"status": {"$in": list(_GONE)}}):
            if doc.get("dropped"):
                continue
            await self._counts(doc["_id"]).drop()
            await self._facts(doc["_id"]).drop()
            await self._generations.update_one({"_id": doc["_id"]}, {"$set": {"dropped": True}})

    async def heartbeat(self, generation: str, now: datetime) -> None:
        result = await self._state.update_one(
            {"_id": STATE, "building.id": generation}, {"$set": {"building.heartbeat_at": now}}
        )
        if result.matched_count == 0:
            raise Superseded(generation)

    async def insert_tail(self, generation: str, tallies: Iterable[Tally]) -> set[str]:
        docs = [{"_id": t.event_id, "key": t.key, "counted": True} for t in tallies]
        known: set[str] = set()
        facts = self._facts(generation)
        for start in range(0, len(docs), _INSERT_CHUNK):
            chunk = docs[start : start + _INSERT_CHUNK]
            try:
                await facts.insert_many(chunk, ordered=False)
            except BulkWriteError as err:
                errors = err.details.get("writeErrors", [])
                if any(e.get("code") != DUPLICATE_KEY for e in errors):
                    raise
                known.update(chunk[e["index"]]["_id"] for e in errors)
        return known

    async def add_counts(self, generation: str, buckets: Iterable[Bucket]) -> None:
        counts = self._counts(generation)
        for pilot, month, values in buckets:
            update = {
                "$inc": {f"counts.{metric}": n for metric, n in values.items()},
                "$setOnInsert": {"pilot": pilot, "month": month, "recent": []},
            }
            key = f"{pilot}|{month}"
            try:
                await counts.update_one({"_id": key}, update, upsert=True)
            except DuplicateKeyError:  # a live event created it at the same moment
                await counts.update_one({"_id": key}, update)

    async def activate(self, generation: str, now: datetime, stats: Mapping[str, Any]) -> None:
        doc = await self._state.find_one({"_id": STATE}) or {}
        building = doc.get("building") or {}
        if building.get("id") != generation:
            raise Superseded(generation)
        active = {"id": generation, "coverage": building["coverage"]}
        result = await self._state.update_one(
            {"_id": STATE, "building.id": generation},
            {"$set": {"active": active, "building": None}},
        )
        if result.matched_count == 0:
            raise Superseded(generation)
        await self._generations.update_one(
            {"_id": generation}, {"$set": {"status": "active", "finished_at": now, **stats}}
        )
        # Live handlers that read the old state may still write to the retired generation
        # for a moment; it is dropped when the next rebuild begins.
        await self._generations.update_one(
            {"_id": doc["active"]["id"]}, {"$set": {"status": "retired", "retired_at": now}}
        )

    async def fail_build(
        self, generation: str, now: datetime, error: str, stats: Mapping[str, Any]
    ) -> None:
        await self._state.update_one(
            {"_id": STATE, "building.id": generation}, {"$set": {"building": None}}
        )
        await self._generations.update_one(
            {"_id": generation, "status": "building"},
            {"$set": {"status": "failed", "finished_at": now, "error": error, **stats}},
        )

    # --- reports -----------------------------------------------------------------------

    async def monthly_counts(self, generation: str, pilot: str | None) -> list[Bucket]:
        query = {} if pilot is None else {"pilot": pilot}
        cursor = self._counts(generation).find(query, {"pilot": 1, "month": 1, "counts": 1})
        return [(doc["pilot"], doc["month"], doc.get("counts", {})) async for doc in cursor]

    async def rebuild_status(self, generation: str) -> dict[str, Any] | None:
        doc = await self._generations.find_one({"_id": generation})
        if doc is None:
            return None
        doc["generation"] = doc.pop("_id")
        return dict(doc)


# -- mapping between a generation and its document --


def _generation_doc(generation: Generation) -> dict[str, Any]:
    """The coverage as one small document per partition, mapped by hand."""
    coverage = [
        {"topic": topic, "partition": part, "end": end}
        for (topic, part), end in sorted(generation.coverage.items())
    ]
    return {"id": generation.id, "coverage": coverage}


def _generation(doc: Mapping[str, Any]) -> Generation:
    coverage = {
        (str(item["topic"]), int(item["partition"])): int(item["end"])
        for item in doc.get("coverage", [])
    }
    return Generation(doc["id"], MappingProxyType(coverage))
