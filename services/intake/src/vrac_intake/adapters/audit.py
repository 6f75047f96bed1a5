"""The audit trail in MongoDB: one document per entry, inserted once, never changed.

The entry id is the document's ``_id``, so an entry delivered twice is stored once. This
adapter has no update or delete: nothing in the service can alter an entry. (Operators can
go further and give the service's database user only ``find`` and ``insert`` on this
collection; see the deploy guide.)
"""

from __future__ import annotations

from typing import Any, Final

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts.events.audit import AccessRecorded
from vrac_runtime.idempotency import insert_once

AUDIT: Final = "audit"
_ORDER: Final = [("case_id", ASCENDING), ("occurred_at", ASCENDING), ("_id", ASCENDING)]


class MongoAuditTrail:
    """The ``AuditTrail`` of the running service."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._entries = db[AUDIT]

    async def create_indexes(self) -> None:
        await self._entries.create_index(_ORDER)

    async def keep(self, entry: AccessRecorded) -> bool:
        doc = {**entry.model_dump(mode="python"), "_id": entry.entry_id}
        return await insert_once(self._entries, doc)

    async def of_case(self, case_id: str, limit: int, offset: int) -> list[AccessRecorded]:
        found = self._entries.find({"case_id": case_id}).sort(_ORDER[1:]).skip(offset)
        return [AccessRecorded.model_validate(doc) async for doc in found.limit(limit)]
