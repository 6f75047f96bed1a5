"""Per-document locks for this process's writes.

FerretDB (our test store) evaluates an update's filter and applies its change in separate
steps, so two concurrent conditional updates of one document can both "match" and the
last write silently wins. MongoDB does not have this problem, but a process must not depend
on which one it runs against: the store holds a lock per document around each write, so
this process's own writes to one document never overlap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class DocumentLocks:
    """One asyncio lock per document key, dropped when nobody waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                del self._locks[key]

    def held(self) -> int:
        """How many documents are locked or waited for (for tests)."""
        return len(self._locks)


class LockedCollection:
    """A collection whose ``update_one`` by ``_id`` holds that document's lock."""

    def __init__(self, collection: Any, name: str, locks: DocumentLocks) -> None:
        self._collection = collection
        self._name = name
        self._locks = locks

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._collection, attribute)

    async def update_one(self, query: dict[str, Any], update: Any, **options: Any) -> Any:
        async with self._locks.hold(f"{self._name}/{query['_id']}"):
            return await self._collection.update_one(query, update, **options)


class LockedDatabase:
    """The database as the outbox relay sees it: its removal of published entries takes
    the same per-document locks as the store's writes, so neither undoes the other."""

    def __init__(self, database: Any, locks: DocumentLocks) -> None:
        self._database = database
        self._locks = locks

    def __getitem__(self, name: str) -> LockedCollection:
        return LockedCollection(self._database[name], name, self._locks)
