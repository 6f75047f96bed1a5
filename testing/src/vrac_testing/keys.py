"""Data keys in memory for the services' handler tests: one fake for both sides of
crypto-shredding (``vrac_runtime.sealing``).

- The owner's side (intake, network): ``seal``, ``destroy``, ``destroy_case``, with the real
  cipher (AES-GCM) and a tombstone per destroyed key, so a destroyed key is never made again.
  ``failures`` makes that many destructions raise ``KeyStoreAway``, a ``ConnectionError`` as
  a store that cannot be reached raises, which the handlers treat as a store failure.
- The reader's side (screening, notifications): ``open``, ``forget_case``, ``forget``,
  ``aclose``; ``away`` plays an owner that cannot be asked (``KeyUnavailable``).
- ``open_now`` says what a reader would open at this moment, for assertions.
"""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel
from vrac_contracts.events.sealed import Sealed
from vrac_runtime.sealing import KeyGone, KeyUnavailable, open_with, seal_with

M = TypeVar("M", bound=BaseModel)


class KeyStoreAway(ConnectionError):
    """What ``MemoryKeys`` raises on a destruction while it is told to fail."""


class MemoryKeys:
    """Data keys in dicts. ``owner``, when given, is the only service a reader may ask."""

    def __init__(self, owner: str | None = None) -> None:
        self.owner = owner
        self.keys: dict[str, bytes] = {}  # live keys: key id -> key
        self.cases: dict[str, str] = {}  # every key made or destroyed: key id -> case id
        self.destroyed: set[str] = set()  # the tombstones' key ids
        self.failures = 0  # the next this many destructions fail
        self.away = False  # the reader cannot reach the owner
        self.forgotten: list[str] = []  # case and key ids the reader was told to forget

    # -- the owner's side --

    async def seal(self, case_id: str, key_id: str, plain: BaseModel) -> Sealed:
        if key_id in self.destroyed:
            raise KeyGone(key_id)
        self.cases.setdefault(key_id, case_id)
        key = self.keys.setdefault(key_id, os.urandom(32))
        return seal_with(key, case_id, key_id, plain)

    async def destroy(self, case_id: str, key_id: str) -> None:
        self._maybe_fail()
        self._tombstone(case_id, key_id)

    async def destroy_case(self, case_id: str) -> int:
        """Every key of the case, its own key included even if never made; how many."""
        self._maybe_fail()
        mine = {k for k, case in self.cases.items() if case == case_id} | {case_id}
        for key_id in mine:
            self._tombstone(case_id, key_id)
        return len(mine)

    def _tombstone(self, case_id: str, key_id: str) -> None:
        self.cases.setdefault(key_id, case_id)
        self.keys.pop(key_id, None)
        self.destroyed.add(key_id)

    def _maybe_fail(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise KeyStoreAway("the key store is away")

    def open_now(self, case_id: str, sealed: Sealed, model: type[M]) -> M | None:
        """What a reader would open now: None once the key is destroyed; a key never made
        is a ``KeyError``, a mistake in the test."""
        if sealed.key_id in self.destroyed:
            return None
        return open_with(self.keys[sealed.key_id], case_id, sealed, model)

    # -- the reader's side --

    async def open(self, owner: str, case_id: str, sealed: Sealed, model: type[M]) -> M | None:
        assert self.owner in (None, owner), f"{owner} does not own these keys"
        if self.away:
            raise KeyUnavailable(f"{owner} did not answer")
        if sealed.key_id not in self.cases:  # the owner knows no such key
            raise KeyUnavailable(f"{owner} has no key {sealed.key_id}")
        return self.open_now(case_id, sealed, model)

    def forget_case(self, case_id: str) -> None:
        self.forgotten.append(case_id)

    def forget(self, key_id: str) -> None:
        self.forgotten.append(key_id)

    async def aclose(self) -> None:
        pass
