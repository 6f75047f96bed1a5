"""Where each diploma stands in its pilot's revocation list (a Bitstring Status List).

``credential_statuses`` holds one entry per diploma (its id, pilot, case, index, revoked,
and the indexes it had before, which stay revoked); ``credential_counters`` the next free
index per pilot. Nothing personal: ids and numbers.
"""

from __future__ import annotations

from typing import Any, Final

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from vrac_runtime.idempotency import insert_once

from vrac_screening.domain.credential import StatusEntry
from vrac_screening.domain.diploma import Diploma

STATUSES: Final = "credential_statuses"
COUNTERS: Final = "credential_counters"


class MongoCredentialStatuses:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._entries = db[STATUSES]
        self._counters = db[COUNTERS]

    async def create_indexes(self) -> None:
        await self._entries.create_index([("pilot", ASCENDING)])
        await self._entries.create_index([("case_id", ASCENDING)])

    async def get(self, diploma_id: str) -> StatusEntry | None:
        doc = await self._entries.find_one({"_id": diploma_id})
        return None if doc is None else _entry(doc)

    async def _next_index(self, pilot: str) -> int:
        counter = await self._counters.find_one_and_update(
            {"_id": pilot}, {"$inc": {"next": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert counter is not None  # upserted
        return int(counter["next"]) - 1

    async def allocate(self, diploma: Diploma) -> StatusEntry:
        """The diploma's entry, made now unless it has one (a lost race wastes an index)."""
        index = await self._next_index(diploma.pilot)
        doc = {
            "_id": diploma.diploma_id,
            "pilot": str(diploma.pilot),
            "case_id": diploma.case_id,
            "index": index,
            "revoked": False,
            "retired": [],
        }
        if await insert_once(self._entries, doc):
            return _entry(doc)
        found = await self.get(diploma.diploma_id)
        assert found is not None
        return found

    async def renew(self, entry: StatusEntry) -> StatusEntry:
        """A fresh, unrevoked index for a diploma whose entry was revoked; the old index
        stays revoked for ever. Two renewals at once: the first wins, both get its entry."""
        index = await self._next_index(entry.pilot)
        await self._entries.update_one(
            {"_id": entry.diploma_id, "index": entry.index, "revoked": True},
            {"$set": {"index": index, "revoked": False}, "$push": {"retired": entry.index}},
        )
        found = await self.get(entry.diploma_id)
        assert found is not None
        return found

    async def revoke_case(self, case_id: str) -> None:
        await self._entries.update_many({"case_id": case_id}, {"$set": {"revoked": True}})

    async def forget_case(self, case_id: str) -> None:
        """Erasure: the case's entries are revoked and no longer name the case."""
        await self._entries.update_many(
            {"case_id": case_id}, {"$set": {"revoked": True}, "$unset": {"case_id": ""}}
        )

    async def revoked(self, pilot: str) -> tuple[list[int], int]:
        """The pilot's revoked indexes and how many it has handed out."""
        indexes: list[int] = []
        async for doc in self._entries.find({"pilot": pilot}):
            indexes.extend(int(i) for i in doc.get("retired", []))
            if doc.get("revoked"):
                indexes.append(int(doc["index"]))
        counter = await self._counters.find_one({"_id": pilot})
        return indexes, 0 if counter is None else int(counter["next"])


def _entry(doc: dict[str, Any]) -> StatusEntry:
    return StatusEntry(doc["_id"], doc["pilot"], int(doc["index"]), bool(doc["revoked"]))
