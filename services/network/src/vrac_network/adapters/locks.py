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

    def __len__(self) -> int:
        return len(self._locks)
