"""Serialise this process's writes to one case document.

FerretDB (the test store) applies an update by reading the document, changing it and
writing it back, so two updates of the same document at the same moment can undo each
other: a new event appended to the outbox while the relay removes the sent ones could be
lost. Every write to a case, the relay's included, therefore holds that case's lock here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any


class CaseLocks:
    """An asyncio lock per case id, forgotten once nobody holds or awaits it."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, case_id: str) -> AsyncIterator[None]:
        lock, users = self._entries.get(case_id, (asyncio.Lock(), 0))
        self._entries[case_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._entries[case_id]
            if users == 1:
                del self._entries[case_id]
            else:
                self._entries[case_id] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._entries)


class _RelayCollection:
    """A collection whose ``update_one`` (the relay's removal of sent events) waits for
    the case's lock; everything else passes straight through."""

    def __init__(self, collection: Any, locks: CaseLocks) -> None:
        self._collection = collection
        self._locks = locks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    async def update_one(self, filter: Mapping[str, Any], update: Any, **kwargs: Any) -> Any:
        async with self._locks.hold(str(filter["_id"])):
            return await self._collection.update_one(filter, update, **kwargs)


class RelayDatabase:
    """The database as the outbox relay is given it: writes take the case locks."""

    def __init__(self, database: Any, locks: CaseLocks) -> None:
        self._database = database
        self._locks = locks

    def __getitem__(self, name: str) -> _RelayCollection:
        return _RelayCollection(self._database[name], self._locks)
