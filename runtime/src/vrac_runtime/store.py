"""The service's database, and the one place that accommodates FerretDB.

FerretDB (the local and test store) applies an update by reading the document, changing it
and writing it back in separate steps, and evaluates the update's filter on that read. Two
updates of one document at the same moment can therefore both match and the last one wins:
an event appended to an aggregate's outbox while the relay removes the sent ones is lost, a
version guard lets two writers through, two subscribers setting different fields of one read
model undo each other. MongoDB applies each single-document update atomically.

So where the server says it is FerretDB (:func:`is_ferretdb`, from its ``buildInfo``
answer), the service's database is a :class:`SerialDatabase`: a write addressed to documents
by ``_id`` waits for the writes to those documents already under way in this process, and a
write whose filter names no ``_id`` (``update_many`` by another field, a claim by status)
waits for every write to that collection and holds it up while it runs. That makes
conditional updates (version guards, ``$ne`` guards, the relay's ``$pullAll``) behave as on
MongoDB. It covers ``bulk_write``, ``update_many``, ``delete_many``, the ``find_one_and_*``
family, and collections and databases made by ``with_options``. Inserts need no lock: a
second insert of the same ``_id`` fails with a duplicate key. Writes to different documents
still run concurrently. Across processes nothing is serialised; on FerretDB run one process
per service database.

Where the server is MongoDB the database is PyMongo's own :class:`AsyncDatabase`. A service
takes its collections while it is built, before its start-up may ask the server anything, so
a database made before the answer serialises (the safe side) and is switched off by
:meth:`SerialDatabase.serialise` once the answer is MongoDB; its writes then go straight to
PyMongo's methods.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient, InsertOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.results import BulkWriteResult, DeleteResult, UpdateResult


async def is_ferretdb(client: AsyncMongoClient[Any]) -> bool:
    """Whether the server is FerretDB, by its own ``buildInfo`` answer.

    FerretDB 1.x answers ``ferretdbVersion`` (1.24.2: ``"v1.24.2"``, beside a MongoDB-like
    ``version`` of ``"7.0.42"``); 2.x answers a ``ferretdb`` document. MongoDB has neither.
    """
    info = await client.admin.command("buildInfo")
    return is_ferretdb_answer(info)


def is_ferretdb_answer(build_info: Mapping[str, Any]) -> bool:
    return "ferretdbVersion" in build_info or "ferretdb" in build_info


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


class SharedLock:
    """Many shared holders at once, or one exclusive holder; a waiting exclusive one goes
    before shared ones that come after it, so a steady stream of writes cannot starve it."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._exclusive and not self._waiting)
            self._shared += 1
        try:
            yield
        finally:
            async with self._changed:
                self._shared -= 1
                self._changed.notify_all()

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        async with self._changed:
            self._waiting += 1
            try:
                await self._changed.wait_for(lambda: not self._exclusive and not self._shared)
            finally:
                self._waiting -= 1
                self._changed.notify_all()
            self._exclusive = True
        try:
            yield
        finally:
            async with self._changed:
                self._exclusive = False
                self._changed.notify_all()


def addressed_ids(query: Mapping[str, Any] | None) -> list[str] | None:
    """The documents a filter addresses by ``_id`` (one value, ``$eq`` or ``$in``), or None
    when it can match any document of the collection."""
    if query is None:
        return None
    value = query.get("_id")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return [str(value)]
    if set(value) == {"$eq"} and not isinstance(value["$eq"], Mapping):
        return [str(value["$eq"])]
    if set(value) == {"$in"} and all(not isinstance(v, Mapping) for v in value["$in"]):
        return sorted({str(v) for v in value["$in"]})
    return None


class SerialWrites:
    """The lock tables of one database, and whether they are used at all."""

    def __init__(self, *, on: bool = True) -> None:
        self.on = on
        self.documents = DocumentLocks()
        self._collections: dict[str, SharedLock] = {}

    def collection_lock(self, collection: str) -> SharedLock:
        return self._collections.setdefault(collection, SharedLock())

    @asynccontextmanager
    async def writing(
        self, collection: str, filters: Iterable[Mapping[str, Any] | None]
    ) -> AsyncIterator[None]:
        """Hold what writes matching ``filters`` (None: an insert, nothing to hold) need."""
        if not self.on:
            yield
            return
        ids: set[str] = set()
        whole = False
        for query in filters:
            if query is None:
                continue
            addressed = addressed_ids(query)
            if addressed is None:
                whole = True
                break
            ids.update(addressed)
        gate = self.collection_lock(collection)
        if whole:
            async with gate.exclusive():
                yield
            return
        if not ids:
            yield
            return
        async with gate.shared(), AsyncExitStack() as held:
            for document in sorted(ids):  # one order for everyone: no deadlock
                await held.enter_async_context(self.documents.hold(f"{collection}/{document}"))
            yield


def _request_filter(request: Any) -> Mapping[str, Any] | None:
    """A bulk request's filter; an insert has none, an unknown request counts as unbounded."""
    if isinstance(request, InsertOne):
        return None
    query = getattr(request, "_filter", None)
    return query if isinstance(query, Mapping) else {}


def holds_nul(value: Any) -> bool:
    """Whether a filter holds a NUL character anywhere (an id from a request's path)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(holds_nul(v) for v in value)
    return False


_NOTHING: Mapping[str, Any] = {"_id": {"$in": []}}


class SerialCollection(AsyncCollection[Any]):
    """A collection whose writes take the locks of :class:`SerialWrites`.

    A filter holding a NUL matches nothing, without asking the store: FerretDB on
    PostgreSQL cannot store a NUL (JSON refuses it), so no document holds one, and it
    answers such a query with an internal error rather than no match.
    """

    _serial: SerialWrites

    def _writing(self, *filters: Mapping[str, Any] | None) -> Any:
        return self._serial.writing(self.name, filters)

    async def find_one(self, filter: Any = None, *args: Any, **kw: Any) -> Any:
        if holds_nul(filter):
            return None
        return await super().find_one(filter, *args, **kw)

    def find(self, filter: Any = None, *args: Any, **kw: Any) -> Any:
        return super().find(_NOTHING if holds_nul(filter) else filter, *args, **kw)

    async def update_one(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> UpdateResult:
        if holds_nul(filter) and not kw.get("upsert"):
            return UpdateResult({"n": 0, "nModified": 0, "ok": 1.0}, acknowledged=True)
        async with self._writing(filter):
            return await super().update_one(filter, *args, **kw)

    async def update_many(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> UpdateResult:
        async with self._writing(filter):
            return await super().update_many(filter, *args, **kw)

    async def replace_one(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> UpdateResult:
        async with self._writing(filter):
            return await super().replace_one(filter, *args, **kw)

    async def delete_one(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> DeleteResult:
        if holds_nul(filter):
            return DeleteResult({"n": 0, "ok": 1.0}, acknowledged=True)
        async with self._writing(filter):
            return await super().delete_one(filter, *args, **kw)

    async def delete_many(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> DeleteResult:
        async with self._writing(filter):
            return await super().delete_many(filter, *args, **kw)

    async def find_one_and_update(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> Any:
        if holds_nul(filter) and not kw.get("upsert"):
            return None
        async with self._writing(filter):
            return await super().find_one_and_update(filter, *args, **kw)

    async def find_one_and_replace(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> Any:
        async with self._writing(filter):
            return await super().find_one_and_replace(filter, *args, **kw)

    async def find_one_and_delete(self, filter: Mapping[str, Any], *args: Any, **kw: Any) -> Any:
        async with self._writing(filter):
            return await super().find_one_and_delete(filter, *args, **kw)

    async def bulk_write(self, requests: Sequence[Any], *args: Any, **kw: Any) -> BulkWriteResult:
        requests = list(requests)
        async with self._writing(*(_request_filter(r) for r in requests)):
            return await super().bulk_write(requests, *args, **kw)

    def with_options(self, *args: Any, **kw: Any) -> AsyncCollection[Any]:  # type: ignore[override]
        return _serial_collection(super().with_options(*args, **kw), self._serial)

    def __getitem__(self, name: str) -> AsyncCollection[Any]:
        return _serial_collection(super().__getitem__(name), self._serial)


def _serial_collection(plain: AsyncCollection[Any], serial: SerialWrites) -> SerialCollection:
    collection = SerialCollection(
        plain.database,
        plain.name,
        False,
        plain.codec_options,
        plain.read_preference,
        plain.write_concern,
        plain.read_concern,
    )
    collection._serial = serial
    return collection


class SerialDatabase(AsyncDatabase[Any]):
    """A database whose collections are :class:`SerialCollection` sharing one lock table."""

    def __init__(
        self,
        client: AsyncMongoClient[Any],
        name: str,
        *args: Any,
        serial: SerialWrites | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(client, name, *args, **kw)
        self.serial = serial or SerialWrites()

    @property
    def locks(self) -> DocumentLocks:
        return self.serial.documents

    @property
    def serialising(self) -> bool:
        return self.serial.on

    def serialise(self, on: bool) -> None:
        """Switch the locks on (FerretDB) or off (MongoDB: writes go straight to PyMongo)."""
        self.serial.on = on

    def __getitem__(self, name: str) -> AsyncCollection[Any]:
        return self.get_collection(name)

    def get_collection(self, name: str, *args: Any, **kw: Any) -> AsyncCollection[Any]:
        return _serial_collection(super().get_collection(name, *args, **kw), self.serial)

    async def create_collection(self, name: str, *args: Any, **kw: Any) -> AsyncCollection[Any]:
        return _serial_collection(await super().create_collection(name, *args, **kw), self.serial)

    def with_options(self, *args: Any, **kw: Any) -> AsyncDatabase[Any]:  # type: ignore[override]
        plain = super().with_options(*args, **kw)
        return SerialDatabase(
            self.client,
            self.name,
            plain.codec_options,
            plain.read_preference,
            plain.write_concern,
            plain.read_concern,
            serial=self.serial,
        )


def service_database(
    client: AsyncMongoClient[Any], name: str, *, ferretdb: bool | None
) -> AsyncDatabase[Any]:
    """The database a service uses: PyMongo's own on MongoDB (``ferretdb=False``), else a
    :class:`SerialDatabase` (FerretDB, or not known yet: serialise until told otherwise)."""
    if ferretdb is False:
        return AsyncDatabase(client, name)
    return SerialDatabase(client, name)


async def open_service_database(client: AsyncMongoClient[Any], name: str) -> AsyncDatabase[Any]:
    """Ask the server what it is, then make the database a service would get from it."""
    return service_database(client, name, ferretdb=await is_ferretdb(client))
