"""Crypto-shredding: sealed values open only with their key, in their case; an owner's data
keys live in the real store, are served only to entitled services, and stay destroyed."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo import AsyncMongoClient
from vrac_contracts.events import ChildDetails, GuardianDetails, Sealed
from vrac_runtime.auth import Tokens
from vrac_runtime.keks import DEVELOPMENT_KEK, KeyEncryptionKeys, KeyUnwrapFailed, b64
from vrac_runtime.sealing import (
    DataKeys,
    KeyClient,
    KeyGone,
    KeyUnavailable,
    Opener,
    SealBroken,
    key_routes,
    open_with,
    seal_with,
    sealed_readers,
)
from vrac_runtime.sealing import main as sealing_main
from vrac_runtime.settings import ServiceSettings
from vrac_testing.tokens import token

CASE, OTHER = "case_sealTest0001", "case_sealTest0002"
CHILD = ChildDetails(child_first_name="Ayşe", birth_year=2015, school_name="De Regenboog")


def kek(kid: str) -> str:
    return f"{kid}:{b64(os.urandom(32))}"


def test_a_sealed_value_opens_with_its_key_and_shows_nothing_in_clear() -> None:
    key = os.urandom(32)
    sealed = seal_with(key, CASE, CASE, CHILD)
    assert "Ayşe" not in sealed.model_dump_json() and "Regenboog" not in sealed.model_dump_json()
    assert open_with(key, CASE, sealed, ChildDetails) == CHILD
    # a fresh nonce per value: the same details never give the same ciphertext
    assert seal_with(key, CASE, CASE, CHILD).ciphertext != sealed.ciphertext


@pytest.mark.parametrize(
    "opening",
    [
        pytest.param(lambda key, s: open_with(os.urandom(32), CASE, s, ChildDetails), id="key"),
        pytest.param(lambda key, s: open_with(key, OTHER, s, ChildDetails), id="moved-case"),
        pytest.param(lambda key, s: open_with(key, CASE, s, GuardianDetails), id="model"),
        pytest.param(
            lambda key, s: open_with(
                key, CASE, s.model_copy(update={"ciphertext": "A" + s.ciphertext[1:]}), ChildDetails
            ),
            id="altered",
        ),
    ],
)
def test_a_sealed_value_does_not_open_otherwise(opening: Any) -> None:
    key = os.urandom(32)
    sealed = seal_with(key, CASE, CASE, CHILD)
    with pytest.raises(SealBroken):
        opening(key, sealed)


def test_key_encryption_keys_are_checked_by_the_settings_without_echoing_them() -> None:
    assert ServiceSettings(key_encryption_keys=kek("k2") + "," + kek("k1")).keks.current[0] == "k2"
    assert ServiceSettings().development_keks
    with pytest.raises(ValueError, match="VRAC_KEY_ENCRYPTION_KEYS: key-encryption key k1 is not"):
        ServiceSettings(key_encryption_keys="k1:c2hvcnQ")
    with pytest.raises(ValueError, match="kid:base64url"):
        ServiceSettings(key_encryption_keys="no-colon-here")
    assert KeyEncryptionKeys.parse(DEVELOPMENT_KEK).current[0] == "dev"


async def test_data_keys_are_made_once_and_stay_destroyed(mongo_db: Any) -> None:
    keys = DataKeys(mongo_db, KeyEncryptionKeys.parse(kek("k1")))
    await keys.ensure_indexes()
    first = await keys.key(CASE, CASE)
    assert await keys.key(CASE, CASE) == first
    stored = await mongo_db["data_keys"].find_one({"_id": CASE})
    assert b64(first) not in str(stored)  # wrapped, never in clear
    guardian = await keys.seal(CASE, "gdn_sealTest0001", GuardianDetails(name="Fatima"))
    assert await keys.open(CASE, guardian, GuardianDetails) == GuardianDetails(name="Fatima")

    await keys.destroy(CASE, "gdn_sealTest0001")  # the guardian was removed
    assert await keys.open(CASE, guardian, GuardianDetails) is None
    assert await keys.key(CASE, CASE) == first  # the case's own key is untouched
    with pytest.raises(KeyGone):
        await keys.key(CASE, "gdn_sealTest0001")  # a late event cannot make it again

    await keys.destroy_case(CASE)
    with pytest.raises(KeyGone):
        await keys.find(CASE)
    assert await mongo_db["data_keys"].count_documents({"wrapped": {"$exists": True}}) == 0


async def test_a_case_erased_before_its_key_was_made_never_gets_one(mongo_db: Any) -> None:
    keys = DataKeys(mongo_db, KeyEncryptionKeys.parse(kek("k1")))
    await keys.destroy_case(OTHER)
    with pytest.raises(KeyGone):
        await keys.seal(OTHER, OTHER, CHILD)


async def test_rotating_the_key_encryption_key_rewraps_every_live_key(mongo_db: Any) -> None:
    old, new = kek("k1"), kek("k2")
    keys = DataKeys(mongo_db, KeyEncryptionKeys.parse(old))
    sealed = await keys.seal(CASE, CASE, CHILD)
    rotated = DataKeys(mongo_db, KeyEncryptionKeys.parse(f"{new},{old}"))
    assert await rotated.rewrap() == 1
    only_new = DataKeys(mongo_db, KeyEncryptionKeys.parse(new))
    assert await only_new.open(CASE, sealed, ChildDetails) == CHILD
    with pytest.raises(KeyUnwrapFailed):
        await keys.find(CASE)  # the old KEK alone no longer unwraps it


def _signer(service: str) -> Callable[[str], str]:
    """The service tokens ``service`` signs with its own (development) key."""
    return Tokens.from_settings(
        ServiceSettings(development=True, service_name=service)
    ).service_token


def _owner(keys: DataKeys, readers: frozenset[str]) -> httpx.AsyncBaseTransport:
    app = FastAPI()
    app.state.settings = ServiceSettings(development=True, service_name="intake")
    app.include_router(key_routes(keys, readers))
    return httpx.ASGITransport(app=app)


async def test_keys_reach_only_entitled_services_and_gone_keys_open_nothing(mongo_db: Any) -> None:
    keys = DataKeys(mongo_db, KeyEncryptionKeys.parse(kek("k1")))
    sealed = await keys.seal(CASE, CASE, CHILD)
    transport = _owner(keys, frozenset({"notifications"}))
    url = {"intake": "http://intake.test"}

    reader = KeyClient(url, _signer("notifications"), transport=transport)
    opener = Opener(reader)
    assert await opener.open("intake", CASE, sealed, ChildDetails) == CHILD

    stranger = KeyClient(url, _signer("reporting"), transport=transport)
    with pytest.raises(KeyUnavailable, match="403"):
        await stranger.key("intake", CASE)
    coach = token("coach", "leiden", "coach-1")
    with pytest.raises(KeyUnavailable, match="403"):
        await KeyClient(url, lambda _: coach, transport=transport).key("intake", CASE)

    await keys.destroy_case(CASE)
    opener.forget_case(CASE)
    assert await opener.open("intake", CASE, sealed, ChildDetails) is None
    with pytest.raises(KeyUnavailable, match="no URL"):
        await reader.key("network", "mbr_sealTest0001")
    for client in (reader, stranger):
        await client.aclose()


def test_readers_of_sealed_data_come_from_the_catalogue() -> None:
    assert sealed_readers("intake") == {"screening", "notifications"}
    assert sealed_readers("network") == {"notifications"}
    assert sealed_readers("reporting") == frozenset()
    assert Sealed.model_fields["alg"].description


def test_the_rewrap_command_wraps_every_key_with_the_first_kek(
    mongodb_url: str, test_prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    database, old, new = f"{test_prefix}_vrac_intake", kek("k1"), kek("k2")

    async def with_keys(keks: str, use: Any) -> Any:
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url, tz_aware=True)
        try:
            return await use(DataKeys(client[database], KeyEncryptionKeys.parse(keks)))
        finally:
            await client.close()

    sealed = asyncio.run(with_keys(old, lambda keys: keys.seal(CASE, CASE, CHILD)))
    monkeypatch.setenv("MONGODB_URL", mongodb_url)
    monkeypatch.setenv("VRAC_MONGODB_DATABASE", database)
    monkeypatch.setenv("VRAC_KEY_ENCRYPTION_KEYS", f"{new},{old}")
    assert sealing_main(["rewrap"]) == 0
    assert "1 data keys" in capsys.readouterr().out
    opened = asyncio.run(with_keys(new, lambda keys: keys.open(CASE, sealed, ChildDetails)))
    assert opened == CHILD
