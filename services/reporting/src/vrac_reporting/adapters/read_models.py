"""The read models in MongoDB, one set of collections per generation.

``contributions_<generation>``: what each case adds to the reports. The live path inserts
one document per event, ``{_id: ce_id, case, pilot, month, counts: {metric: 1}}``, plus
``consent: {granted, changed_at}`` when the event is a ``reporting`` decision, and
``measure: {measured_ms, size, informal, sectors}`` when it measures the case's network; a rebuild
inserts one document per case and month it replayed (``_id: "replay|<case>|<pilot>|<month>"``)
(with the newest network measure of that month) and one per case with its newest decision
(``"replay|<case>|consent"``). Reports sum the documents of the cases whose newest decision
grants reporting, each case-month's newest measure once.

Counting a live event is that one insert. It either happened or not, whatever crashes
before the offset is committed, and the unique ``_id`` refuses a second delivery of the same
``ce_id`` at any later time, from any process: no memory of recent ids, no window.
``read_model_state``: which generation reports read and which one a rebuild is filling.
``generations``: the history and statistics of each generation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from types import MappingProxyType
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError
from vrac_contracts.consent import ConsentState

from vrac_reporting.domain.consent import Contribution, consented_buckets
from vrac_reporting.domain.errors import RebuildRunning, Superseded
from vrac_reporting.domain.generations import (
    INITIAL_GENERATION,
    Gap,
    Generation,
    ReadModelState,
)
from vrac_reporting.domain.network import Measure
from vrac_reporting.domain.tally import Tally
from vrac_reporting.ports import Bucket

STATE = "current"
DUPLICATE_KEY = 11000
_INSERT_CHUNK = 5000
_GONE = ("retired", "failed", "superseded", "refused")
# what a generation may have left behind (counts_ and facts_ are the layout before the
# per-case contributions)
_PER_GENERATION = ("contributions", "counts", "facts")


class MongoReadModels:
    """The ``ReadModels`` port of the running service."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._db = db
        self._state: AsyncCollection[Any] = db["read_model_state"]
        self._generations: AsyncCollection[Any] = db["generations"]

    def _contributions(self, generation: str) -> AsyncCollection[Any]:
        return self._db[f"contributions_{generation}"]

    async def initialize(self) -> None:
        """The first generation, for a store that has none yet (safe to run concurrently)."""
        initial = {"id": INITIAL_GENERATION, "coverage": []}
        for collection, doc in (
            (self._state, {"_id": STATE, "active": initial, "building": None}),
            (self._generations, {"_id": INITIAL_GENERATION, "status": "active"}),
        ):
            with contextlib.suppress(DuplicateKeyError):
                await collection.insert_one(doc)
        await self._index(INITIAL_GENERATION)

    async def _index(self, generation: str) -> None:
        # a pilot's report reads only that pilot's contributions
        await self._contributions(generation).create_index("pilot")

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
        try:
            await self._contributions(generation).insert_one(_event_doc(tally))
        except DuplicateKeyError:
            return False
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
        await self._index(generation.id)

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
            for kind in _PER_GENERATION:
                await self._db[f"{kind}_{doc['_id']}"].drop()
            await self._generations.update_one({"_id": doc["_id"]}, {"$set": {"dropped": True}})

    async def heartbeat(self, generation: str, now: datetime) -> None:
        result = await self._state.update_one(
            {"_id": STATE, "building.id": generation}, {"$set": {"building.heartbeat_at": now}}
        )
        if result.matched_count == 0:
            raise Superseded(generation)

    async def insert_tail(self, generation: str, tallies: Iterable[Tally]) -> set[str]:
        docs = [_event_doc(t) for t in tallies]
        return await self._insert_new(self._contributions(generation), docs)

    async def add_contributions(
        self, generation: str, contributions: Iterable[Contribution]
    ) -> None:
        docs = [_replayed_doc(c) for c in contributions]
        # A fresh generation holds none of these ids; should one be there, it is the same
        # contribution written before, so it is not written twice.
        await self._insert_new(self._contributions(generation), docs)

    async def _insert_new(
        self, collection: AsyncCollection[Any], docs: list[dict[str, Any]]
    ) -> set[str]:
        """Insert the documents whose ``_id`` is new; returns the ids that were there."""
        known: set[str] = set()
        for start in range(0, len(docs), _INSERT_CHUNK):
            chunk = docs[start : start + _INSERT_CHUNK]
            try:
                await collection.insert_many(chunk, ordered=False)
            except BulkWriteError as err:
                errors = err.details.get("writeErrors", [])
                if any(e.get("code") != DUPLICATE_KEY for e in errors):
                    raise
                known.update(chunk[e["index"]]["_id"] for e in errors)
        return known

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

    async def refuse_build(
        self, generation: str, now: datetime, gaps: Sequence[Gap], stats: Mapping[str, Any]
    ) -> None:
        # Refused before registering, there is no state to clear and no document yet.
        await self._state.update_one(
            {"_id": STATE, "building.id": generation}, {"$set": {"building": None}}
        )
        refused = {
            "status": "refused",
            "finished_at": now,
            "error": "HistoryMissing",
            "missing_records": sum(gap.records for gap in gaps),
            "missing": [_gap_doc(gap) for gap in gaps],
            **stats,
        }
        await self._generations.update_one(
            {"_id": generation},
            {"$set": refused, "$setOnInsert": {"started_at": now}},
            upsert=True,
        )

    # --- reports -----------------------------------------------------------------------

    async def monthly_counts(self, generation: str, pilot: str | None) -> list[Bucket]:
        query = {} if pilot is None else {"pilot": pilot}
        fields = {"case": 1, "pilot": 1, "month": 1, "counts": 1, "consent": 1, "measure": 1}
        cursor = self._contributions(generation).find(query, fields)
        return consented_buckets([_contribution(doc) async for doc in cursor])

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


def _gap_doc(gap: Gap) -> dict[str, Any]:
    return {
        "topic": gap.topic,
        "partition": gap.partition,
        "first_offset": gap.first,
        "end_offset": gap.end,
        "records": gap.records,
    }


# -- mapping between a contribution and its document --


def _event_doc(tally: Tally) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": tally.event_id,
        "case": tally.case_id,
        "pilot": tally.pilot,
        "month": tally.month,
        "counts": {str(metric): 1 for metric in tally.metrics},
    }
    if tally.decision is not None:
        doc["consent"] = _decision_doc(tally.decision)
    if tally.measure is not None:
        doc["measure"] = asdict(tally.measure)
    return doc


def _replayed_doc(contribution: Contribution) -> dict[str, Any]:
    case, pilot, month = contribution.case_id, contribution.pilot, contribution.month
    doc: dict[str, Any] = {
        "_id": f"replay|{case}|consent" if month is None else f"replay|{case}|{pilot}|{month}",
        "case": case,
        "pilot": pilot,
        "counts": dict(contribution.counts),
    }
    if month is not None:
        doc["month"] = month
    if contribution.decision is not None:
        doc["consent"] = _decision_doc(contribution.decision)
    if contribution.measure is not None:
        doc["measure"] = asdict(contribution.measure)
    return doc


def _decision_doc(decision: ConsentState) -> dict[str, Any]:
    return {"granted": decision.granted, "changed_at": decision.changed_at}


def _contribution(doc: Mapping[str, Any]) -> Contribution:
    consent = doc.get("consent")
    decision = (
        None
        if consent is None
        else ConsentState(granted=bool(consent["granted"]), changed_at=consent["changed_at"])
    )
    measure = doc.get("measure")
    return Contribution(
        str(doc["case"]),
        str(doc["pilot"]),
        doc.get("month"),
        doc.get("counts", {}),
        decision,
        None if measure is None else Measure(**measure),
    )
