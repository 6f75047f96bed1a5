"""Crypto-shredding: personal data on internal topics is sealed with a data key its owner keeps.

The owner of personal data (intake for the family, network for its members) keeps one random
256-bit data key per case and per person in its own store, wrapped with a key-encryption key
(KEK) from its settings. It seals what it publishes with :meth:`DataKeys.seal` (AES-256-GCM
from ``cryptography``, a fresh 96-bit nonce per value). A service entitled to read the data
asks the owner for the key over HTTP (:class:`KeyClient`, :func:`key_routes`) with a short
service token, and keeps it in memory for a few minutes. Erasing a case or removing a person
destroys the key (:meth:`DataKeys.destroy_case`, :meth:`DataKeys.destroy`): the wrapped key is
removed and a tombstone stays, so no late event can create it again, and every sealed copy
(on Kafka, in dead letters, in a consumer's backlog, in backups) can no longer be opened. A
consumer that meets a sealed value whose key is gone gets ``None`` from :meth:`Opener.open`
and treats the data as erased; that is not an error and nothing is dead-lettered.

The additional authenticated data binds a ciphertext to its case, key id and plain model, so
a sealed value copied into another event or case does not open.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from vrac_contracts.catalogue import produced_by
from vrac_contracts.events.sealed import Sealed

from vrac_runtime.auth import Principal, Tokens, requires
from vrac_runtime.keks import NONCE_BYTES, KeyEncryptionKeys, b64, unb64
from vrac_runtime.logging import get_logger
from vrac_runtime.settings import ServiceSettings
from vrac_runtime.values import Clock, utc_now

M = TypeVar("M", bound=BaseModel)
log = get_logger(__name__)

DATA_KEYS: Final = "data_keys"
KEY_BYTES: Final = 32
ALG: Final = "A256GCM"
# the path an owner serves data keys on; consumers build the URL from the owner's base URL
KEY_PATH: Final = "/internal/data-keys/{key_id}"


class KeyGone(Exception):
    """The data key was destroyed (the case erased, the person removed): the data is gone."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"data key {key_id} was destroyed")
        self.key_id = key_id


class KeyUnavailable(Exception):
    """The owner of a key could not be asked just now; try again later."""


class SealBroken(Exception):
    """A sealed value does not open with its key: altered, or moved to another case."""


def _aad(case_id: str, key_id: str, model: type[BaseModel]) -> bytes:
    return f"vrac-sealed/1|{case_id}|{key_id}|{model.__name__}".encode()


def seal_with(key: bytes, case_id: str, key_id: str, plain: BaseModel) -> Sealed:
    """``plain`` encrypted under ``key``, bound to its case, key id and model."""
    nonce = os.urandom(NONCE_BYTES)
    data = plain.model_dump_json().encode()
    ciphertext = AESGCM(key).encrypt(nonce, data, _aad(case_id, key_id, type(plain)))
    return Sealed(key_id=key_id, alg=ALG, nonce=b64(nonce), ciphertext=b64(ciphertext))


def open_with(key: bytes, case_id: str, sealed: Sealed, model: type[M]) -> M:
    """The plain ``model`` inside ``sealed``; SealBroken when it does not authenticate."""
    try:
        data = AESGCM(key).decrypt(
            unb64(sealed.nonce), unb64(sealed.ciphertext), _aad(case_id, sealed.key_id, model)
        )
    except (InvalidTag, ValueError):
        raise SealBroken(f"sealed value under key {sealed.key_id} does not open") from None
    return model.model_validate_json(data)


# -- the owner's side --


class DataKeys:
    """The owner's data keys, one document per key in ``data_keys``: ``_id`` the key id,
    ``case_id``, the wrapped key, or ``destroyed`` once erased (a tombstone)."""

    def __init__(
        self, db: AsyncDatabase[Any], keks: KeyEncryptionKeys, clock: Clock = utc_now
    ) -> None:
        self._keys = db[DATA_KEYS]
        self._keks = keks
        self._clock = clock

    async def ensure_indexes(self) -> None:
        await self._keys.create_index("case_id")

    async def key(self, case_id: str, key_id: str) -> bytes:
        """The data key ``key_id`` of a case, made on first use; KeyGone once destroyed."""
        found = await self.find(key_id)
        if found is not None:
            return found
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        doc = {
            "_id": key_id,
            "case_id": case_id,
            "created_at": self._clock(),
            **self._keks.wrap(key_id, data_key),
        }
        try:
            await self._keys.insert_one(doc)
        except DuplicateKeyError:  # made meanwhile by another writer, or destroyed
            found = await self.find(key_id)
            if found is None:
                raise KeyGone(key_id) from None
            return found
        return data_key

    async def find(self, key_id: str) -> bytes | None:
        """The data key, None when it was never made; KeyGone when destroyed."""
        doc = await self._keys.find_one({"_id": key_id})
        if doc is None:
            return None
        if doc.get("destroyed"):
            raise KeyGone(key_id)
        return self._keks.unwrap(key_id, doc)

    async def case_of(self, key_id: str) -> str | None:
        doc = await self._keys.find_one({"_id": key_id}, {"case_id": 1})
        return None if doc is None else str(doc["case_id"])

    async def seal(self, case_id: str, key_id: str, plain: BaseModel) -> Sealed:
        return seal_with(await self.key(case_id, key_id), case_id, key_id, plain)

    async def open(self, case_id: str, sealed: Sealed, model: type[M]) -> M | None:
        """The owner opening its own sealed value; None once the key is destroyed."""
        try:
            key = await self.find(sealed.key_id)
        except KeyGone:
            return None
        return None if key is None else open_with(key, case_id, sealed, model)

    async def destroy(self, case_id: str, key_id: str) -> None:
        """Destroy one key (a person removed), leaving a tombstone so it is never made again."""
        await self._keys.update_one(
            {"_id": key_id},
            {
                "$set": {"case_id": case_id, "destroyed": True, "destroyed_at": self._clock()},
                "$unset": {"wrapped": "", "kek": ""},
            },
            upsert=True,
        )

    async def destroy_case(self, case_id: str) -> int:
        """Destroy every key of a case, the case's own key included even if never made."""
        await self.destroy(case_id, case_id)
        result = await self._keys.update_many(
            {"case_id": case_id, "destroyed": {"$ne": True}},
            {
                "$set": {"destroyed": True, "destroyed_at": self._clock()},
                "$unset": {"wrapped": "", "kek": ""},
            },
        )
        return result.modified_count + 1

    async def rewrap(self) -> int:
        """Wrap every live key not wrapped by the current KEK with it; how many were."""
        kid, _ = self._keks.current
        count = 0
        async for doc in self._keys.find({"destroyed": {"$ne": True}, "kek": {"$ne": kid}}):
            key_id = str(doc["_id"])
            data_key = self._keks.unwrap(key_id, doc)
            await self._keys.update_one(
                {"_id": key_id, "kek": doc["kek"]}, {"$set": self._keks.wrap(key_id, data_key)}
            )
            count += 1
        return count


class DataKeyAnswer(BaseModel):
    key_id: str
    case_id: str
    key: str  # base64url of the 32-byte data key


def key_routes(keys: DataKeys, readers: frozenset[str]) -> APIRouter:
    """``GET /internal/data-keys/{key_id}``: a data key, for the services in ``readers`` only
    (by the subject of their service token). 410 once destroyed, 404 when never made."""
    router = APIRouter(tags=["internal"], include_in_schema=False)

    @router.get(KEY_PATH, response_model=DataKeyAnswer)
    async def data_key(
        key_id: str, response: Response, caller: Principal = Depends(requires("service"))
    ) -> DataKeyAnswer:
        if caller.role != "service" or caller.subject not in readers:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this service reads no data keys here")
        response.headers["Cache-Control"] = "no-store"
        try:
            key = await keys.find(key_id)
        except KeyGone:
            raise HTTPException(status.HTTP_410_GONE, "the data key was destroyed") from None
        case_id = await keys.case_of(key_id)
        if key is None or case_id is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such data key")
        return DataKeyAnswer(key_id=key_id, case_id=case_id, key=b64(key))

    return router


# -- the reader's side --


@dataclass
class _Cached:
    case_id: str
    key: bytes
    until: float


class KeyClient:
    """Fetches data keys from their owners and keeps them in memory for ``ttl`` seconds."""

    def __init__(
        self,
        owners: Mapping[str, str],
        token: Callable[[str], str],
        *,
        ttl: float = 300.0,
        capacity: int = 10_000,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._owners = {name: url.rstrip("/") for name, url in owners.items()}
        self._token = token
        self._ttl = ttl
        self._capacity = capacity
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def key(self, owner: str, key_id: str) -> bytes:
        """The data key; KeyGone when destroyed or unknown, KeyUnavailable when the owner
        cannot be asked now (a transient failure: the event is retried)."""
        cached = self._cache.get(key_id)
        if cached is not None and cached.until > time.monotonic():
            self._cache.move_to_end(key_id)
            return cached.key
        answer = await self._fetch(owner, key_id)
        self._remember(answer)
        return unb64(answer.key)

    async def _fetch(self, owner: str, key_id: str) -> DataKeyAnswer:
        base = self._owners.get(owner)
        if base is None:
            raise KeyUnavailable(f"no URL is set for the key owner {owner}")
        url = base + KEY_PATH.format(key_id=key_id)
        try:
            bearer = {"Authorization": f"Bearer {self._token(owner)}"}
            reply = await self._http.get(url, headers=bearer)
        except httpx.HTTPError as err:
            raise KeyUnavailable(f"{owner} did not answer: {type(err).__name__}") from None
        if reply.status_code in (status.HTTP_404_NOT_FOUND, status.HTTP_410_GONE):
            raise KeyGone(key_id)
        if reply.status_code != status.HTTP_200_OK:
            raise KeyUnavailable(f"{owner} answered {reply.status_code} for a data key")
        return DataKeyAnswer.model_validate_json(reply.content)

    def _remember(self, answer: DataKeyAnswer) -> None:
        until = time.monotonic() + self._ttl
        self._cache[answer.key_id] = _Cached(answer.case_id, unb64(answer.key), until)
        self._cache.move_to_end(answer.key_id)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)

    def forget_case(self, case_id: str) -> None:
        """Drop every cached key of a case (it was erased: no copy stays in memory)."""
        for key_id in [k for k, c in self._cache.items() if c.case_id == case_id]:
            del self._cache[key_id]

    def forget(self, key_id: str) -> None:
        self._cache.pop(key_id, None)


class Opener:
    """Opens sealed values of events for a handler: the owner is the event's producer."""

    def __init__(self, client: KeyClient) -> None:
        self._client = client

    async def open(self, owner: str, case_id: str, sealed: Sealed, model: type[M]) -> M | None:
        """The plain value, or None when its key is gone (the data was erased)."""
        try:
            key = await self._client.key(owner, sealed.key_id)
        except KeyGone:
            log.info("sealed data erased", case_id=case_id, owner=owner)
            return None
        return open_with(key, case_id, sealed, model)

    def forget_case(self, case_id: str) -> None:
        self._client.forget_case(case_id)

    def forget(self, key_id: str) -> None:
        self._client.forget(key_id)

    async def aclose(self) -> None:
        await self._client.aclose()


def carries_sealed(model: type[BaseModel]) -> bool:
    """Whether ``model`` has a sealed value anywhere in its fields."""

    def visit(annotation: Any) -> bool:
        if annotation is Sealed:
            return True
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return any(visit(f.annotation) for f in annotation.model_fields.values())
        return any(visit(a) for a in getattr(annotation, "__args__", ()))

    return visit(model)


def sealed_readers(owner: str) -> frozenset[str]:
    """The services that consume an event of ``owner`` carrying sealed data: they may fetch
    its data keys (from the catalogue, like the topic ACLs)."""
    return frozenset(
        consumer
        for spec in produced_by(owner)
        if not spec.superseded_by and carries_sealed(spec.model)
        for consumer in spec.consumers
    )


def owner_keys(db: AsyncDatabase[Any], settings: ServiceSettings) -> DataKeys:
    """The data keys a producing service keeps, wrapped with its configured KEKs."""
    if settings.development_keks:
        log.warning("data keys are wrapped with the development key-encryption key")
    return DataKeys(db, settings.keks)


def reader_opener(settings: ServiceSettings) -> Opener:
    """What a consuming service opens sealed values with: keys fetched from their owners
    (``VRAC_KEY_OWNER_URLS``) with a token this service signs for each owner."""
    token = Tokens.from_settings(settings).service_token
    client = KeyClient(settings.key_owner_urls, token, ttl=settings.key_cache_seconds)
    return Opener(client)


async def _rewrap(settings: ServiceSettings) -> int:
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        return await DataKeys(client[settings.database], settings.keks).rewrap()
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m vrac_runtime.sealing rewrap``: wrap every live data key of the service
    (configured by the environment, as the service itself) with the first key-encryption
    key of ``VRAC_KEY_ENCRYPTION_KEYS``; the step of a KEK rotation between adding the new
    KEK and dropping the old one."""
    parser = argparse.ArgumentParser(prog="python -m vrac_runtime.sealing")
    parser.add_argument("command", choices=["rewrap"])
    parser.parse_args(argv)
    settings = ServiceSettings()
    count = asyncio.run(_rewrap(settings))
    print(f"{count} data keys of {settings.database} re-wrapped with {settings.keks.current[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
