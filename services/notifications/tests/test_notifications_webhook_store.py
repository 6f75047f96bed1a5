"""Agencies' webhook secrets in the real store: kept wrapped, re-wrapped at a KEK rotation."""

from __future__ import annotations

import base64
import datetime as dt
import os
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts.values import Pilot
from vrac_notifications.adapters.store import WEBHOOKS, MongoWebhooks
from vrac_notifications.domain.webhooks import SigningSecret, WebhookSubscription
from vrac_runtime.keks import KeyEncryptionKeys, KeyUnwrapFailed, b64

pytestmark = pytest.mark.integration

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
SECRET = "whsec_" + base64.b64encode(b"the-agency-and-vrac-share-this!!").decode()


def keks(*kids: str) -> KeyEncryptionKeys:
    return KeyEncryptionKeys.parse(",".join(f"{kid}:{b64(os.urandom(32))}" for kid in kids))


def subscription(agency_id: str = "agency_youthcare01") -> WebhookSubscription:
    return WebhookSubscription(
        agency_id=agency_id,
        pilot=Pilot.LEIDEN,
        url="https://hooks.example.org/vrac",
        secrets=(SigningSecret(SECRET, NOW),),
        updated_at=NOW,
    )


def holds_in_clear(doc: dict[str, Any]) -> bool:
    key = SECRET.removeprefix("whsec_")
    return SECRET in str(doc) or key in str(doc) or "the-agency" in str(doc)


async def test_a_secret_is_stored_wrapped_and_read_back(mongo_db: AsyncDatabase[Any]) -> None:
    webhooks = MongoWebhooks(mongo_db, keks("k1"))
    await webhooks.put(subscription())

    raw = await mongo_db[WEBHOOKS].find_one({"_id": "agency_youthcare01"})
    assert raw is not None and not holds_in_clear(raw)
    assert [s["kek"] for s in raw["secrets"]] == ["k1"]
    stored = await webhooks.get("agency_youthcare01")
    assert stored is not None and [s.value for s in stored.secrets] == [SECRET]


async def test_the_stores_copy_without_the_kek_signs_nothing(mongo_db: AsyncDatabase[Any]) -> None:
    await MongoWebhooks(mongo_db, keks("k1")).put(subscription())
    # a backup restored under other keys (the KEK is never in the database)
    with pytest.raises(KeyUnwrapFailed):
        await MongoWebhooks(mongo_db, keks("k1")).get("agency_youthcare01")


async def test_a_wrapped_secret_moved_to_another_agency_does_not_open(
    mongo_db: AsyncDatabase[Any],
) -> None:
    webhooks = MongoWebhooks(mongo_db, keks("k1"))
    await webhooks.put(subscription())
    raw = await mongo_db[WEBHOOKS].find_one({"_id": "agency_youthcare01"})
    assert raw is not None
    await mongo_db[WEBHOOKS].insert_one({**raw, "_id": "agency_elsewhere01"})
    with pytest.raises(KeyUnwrapFailed):
        await webhooks.get("agency_elsewhere01")


async def test_a_rotation_rewraps_with_the_new_kek_so_the_old_one_can_go(
    mongo_db: AsyncDatabase[Any],
) -> None:
    old = keks("k1")
    await MongoWebhooks(mongo_db, old).put(subscription())
    new_kid, new_key = keks("k2").current
    rotating = KeyEncryptionKeys(((new_kid, new_key), *old.keys))

    assert await MongoWebhooks(mongo_db, rotating).rewrap() == 1
    assert await MongoWebhooks(mongo_db, rotating).rewrap() == 0  # done once

    only_new = MongoWebhooks(mongo_db, KeyEncryptionKeys(((new_kid, new_key),)))
    stored = await only_new.get("agency_youthcare01")
    assert stored is not None and [s.value for s in stored.secrets] == [SECRET]


async def test_a_secret_kept_in_clear_by_an_earlier_version_is_wrapped_at_start(
    mongo_db: AsyncDatabase[Any],
) -> None:
    await mongo_db[WEBHOOKS].insert_one(
        {
            "_id": "agency_youthcare01",
            "pilot": "leiden",
            "url": "https://hooks.example.org/vrac",
            "secrets": [{"value": SECRET, "added_at": NOW, "retires_at": None}],
            "updated_at": NOW,
        }
    )
    webhooks = MongoWebhooks(mongo_db, keks("k1"))
    assert await webhooks.rewrap() == 1

    raw = await mongo_db[WEBHOOKS].find_one({"_id": "agency_youthcare01"})
    assert raw is not None and not holds_in_clear(raw)
    stored = await webhooks.get("agency_youthcare01")
    assert stored is not None and [s.value for s in stored.secrets] == [SECRET]
