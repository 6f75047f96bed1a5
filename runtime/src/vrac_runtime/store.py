"""The service's database: writes to one document never overlap within the process.

FerretDB (the local and test store) applies an update by reading the document, changing it
and writing it back in separate steps, and evaluates the update's filter on that read. Two
updates of one document at the same moment can therefore both match and the last one wins:
an event appended to an aggregate's outbox while the relay removes the sent ones is lost, a
version guard lets two writers through, two subscribers setting different fields of one read
model undo each other. MongoDB applies each single-document update atomically.

So every service gets its database as a :class:`SerialDatabase`: each write addressed to one
document by ``_id`` waits for the writes to that same document already under way in this
process, which makes conditional updates (version guards, ``$ne`` guards, the relay's
``$pullAll``) behave as on MongoDB. Writes to different documents still run concurrently.
Across processes nothing is serialised; on FerretDB run one process per service database.
Inserts need no lock: a second insert of the same ``_id`` fails with a duplicate key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.results import DeleteResult, UpdateResult


class DocumentLocks:
    """One asyncio lock per key, forgotten once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._entries.get(key, (asyncio.Lock(), 0))
        self._entries[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._entries[key]
            if users == 1:
                del self._entries[key]
            else:
                self._entries[key] = (lock, users - 1)

    def __len__(self) -> int:
        """How many keys are held or waited for."""
        return len(self._entries)


def _document_id(query: Mapping[str, Any]) -> str | None:
    """The one document a filter addresses by ``_id``, if it does."""
    value = query.get("_id")
    if value is None or isinstance(value, Mapping):
        return None  # no _id, or an operator such as {"$in": [...]}: many documents
    return str(value)


class SerialCollection(AsyncCollection[Any]):
    """A collection whose single-document writes by ``_id`` take that document's lock."""

    _locks: DocumentLocks

    @asynccontextmanager
    async def _writing(self, query: Mapping[str, Any]) -> AsyncIterator[None]:
        document = _document_id(query)
        if document is None:
            yield
            return
        async with self._locks.hold(f"{self.name}/{document}"):
            yield

    async def update_one(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> UpdateResult:
        async with self._writing(filter):
            return await super().update_one(filter, *args, **kw)

    async def replace_one(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> UpdateResult:
        async with self._writing(filter):
            return await super().replace_one(filter, *args, **kw)

    async def delete_one(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> DeleteResult:
        async with self._writing(filter):
            return await super().delete_one(filter, *args, **kw)

    async def find_one_and_update(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> Any:
        async with self._writing(filter):
            return await super().find_one_and_update(filter, *args, **kw)

    async def find_one_and_replace(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> Any:
        async with self._writing(filter):
            return await super().find_one_and_replace(filter, *args, **kw)

    async def find_one_and_delete(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> Any:
        async with self._writing(filter):
            return await super().find_one_and_delete(filter, *args, **kw)


class SerialDatabase(AsyncDatabase[Any]):
    """A database whose collections are :class:`SerialCollection` sharing one lock table."""

    def __init__(self, client: AsyncMongoClient[Any], name: str) -> None:
        super().__init__(client, name)
        self.locks = DocumentLocks()

    def __getitem__(self, name: str) -> AsyncCollection[Any]:
        return self.get_collection(name)

    def get_collection(self, name: str, *args: Any, **kw: Any) -> AsyncCollection[Any]:
        collection = SerialCollection(self, name, *args, **kw)
        collection._locks = self.locks
        return collection
