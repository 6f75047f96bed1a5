"""Claims on the real store: replicas racing for the same due deliveries each get a
different attempt, and exactly one final outcome is recorded, on FerretDB as on MongoDB."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from vrac_contracts import values as vocab
from vrac_notifications.adapters.store import MongoDeliveries
from vrac_notifications.domain.contacts import RecipientKind
from vrac_notifications.domain.delivery import Delivery, DeliveryStatus, RetrySchedule
from vrac_notifications.domain.intents import MessageKind
from vrac_notifications.ports import Claim
from vrac_runtime.store import service_database

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
REPLICAS = 6
DELIVERIES = 40


def a_delivery(n: int) -> Delivery:
    delivery = Delivery(
        delivery_id=f"ntf_race{n:04d}",
        case_id="case_claims0000001",
        pilot=vocab.Pilot.LEIDEN,
        recipient_id="mbr_4d5e6f7a8b9c",
        recipient_kind=RecipientKind.MEMBER,
        channel=vocab.Channel.EMAIL,
        kind=MessageKind.TASK_ASSIGNED,
        trigger_event_id=f"ev-{n}",
        trigger_type="org.vrac.network.task-assigned.v1",
        status=DeliveryStatus.SCHEDULED,
        created_at=NOW,
        updated_at=NOW,
    )
    delivery.schedule(NOW, RetrySchedule())
    return delivery


@contextlib.asynccontextmanager
async def replicas(
    mongodb_url: str, name: str, ferretdb: bool
) -> AsyncIterator[list[MongoDeliveries]]:
    """One client and one database object per replica: no lock shared between them, as
    between processes."""
    clients: list[AsyncMongoClient[Any]] = [
        AsyncMongoClient(mongodb_url, tz_aware=True) for _ in range(REPLICAS)
    ]
    try:
        yield [MongoDeliveries(service_database(c, name, ferretdb=ferretdb)) for c in clients]
    finally:
        await clients[0].drop_database(name)
        for client in clients:
            await client.close()


async def test_racing_replicas_claim_each_attempt_once_and_record_one_outcome(
    mongodb_url: str, test_prefix: str, store_is_ferretdb: bool
) -> None:
    async with replicas(mongodb_url, f"{test_prefix}_claims", store_is_ferretdb) as stores:
        await stores[0].ensure_indexes()
        for n in range(DELIVERIES):
            assert await stores[0].schedule(a_delivery(n))
        until = NOW + dt.timedelta(seconds=60)

        async def take(replica: int, delivery_id: str) -> Claim | None:
            store = stores[replica]
            return await store.claim(delivery_id, f"r{replica}", NOW, until, early=False)

        due = await stores[0].due(NOW, DELIVERIES)
        assert len(due) == DELIVERIES
        claims = await asyncio.gather(*(take(r, d) for d in due for r in range(REPLICAS)))
        won = [c for c in claims if c is not None]
        assert sorted(c.delivery.delivery_id for c in won) == sorted(due)  # one each
        assert await stores[0].due(NOW, DELIVERIES) == []  # all held now

        # every replica believes it sent (the one window): the first outcome is the record
        async def finish(replica: int, claim: Claim) -> bool:
            delivery = claim.delivery
            delivery.attempts = 1
            delivery.succeed(NOW)
            return await stores[replica].finish(delivery, claim)

        recorded = await asyncio.gather(*(finish(r, c) for c in won for r in range(REPLICAS)))
        assert sum(recorded) == DELIVERIES
        outcomes = stores[0]._outcomes
        assert await outcomes.count_documents({}) == DELIVERIES
        entries = [len(doc["outbox"]) async for doc in outcomes.find({})]
        assert entries == [1] * DELIVERIES  # one notification-delivered each
        rows = await stores[0].for_case("case_claims0000001")
        assert {r.status for r in rows} == {DeliveryStatus.DELIVERED}


async def test_an_expired_claim_is_taken_over_by_one_replica(
    mongodb_url: str, test_prefix: str, store_is_ferretdb: bool
) -> None:
    async with replicas(mongodb_url, f"{test_prefix}_takeover", store_is_ferretdb) as stores:
        await stores[0].schedule(a_delivery(1))
        short = NOW + dt.timedelta(seconds=1)
        first = await stores[0].claim("ntf_race0001", "crashed", NOW, short, early=False)
        assert first is not None and first.number == 1
        later = NOW + dt.timedelta(seconds=2)
        assert await stores[1].due(NOW, 10) == []  # held
        assert await stores[1].due(later, 10) == ["ntf_race0001"]  # expired: due again
        taken = await asyncio.gather(
            *(
                s.claim(
                    "ntf_race0001", f"r{i}", later, later + dt.timedelta(seconds=60), early=False
                )
                for i, s in enumerate(stores)
            )
        )
        [winner] = [c for c in taken if c is not None]
        assert winner.number == 2


async def test_a_delivery_written_before_the_waiting_flag_is_still_due(
    mongodb_url: str, test_prefix: str, store_is_ferretdb: bool
) -> None:
    """The scheduler asks for waiting deliveries by a flag; one an earlier version wrote has
    none and gets it at start-up, and a settled one is not due again."""
    async with replicas(mongodb_url, f"{test_prefix}_flag", store_is_ferretdb) as stores:
        store = stores[0]
        assert await store.schedule(a_delivery(1))
        assert await store.schedule(a_delivery(2))
        await store._col.update_many({}, {"$unset": {"waiting": ""}})  # as an older version
        assert await store.due(NOW, 10) == []
        await store.ensure_indexes()
        assert sorted(await store.due(NOW, 10)) == ["ntf_race0001", "ntf_race0002"]
        claim = await store.claim(
            "ntf_race0001", "r0", NOW, NOW + dt.timedelta(seconds=60), early=False
        )
        assert claim is not None
        claim.delivery.attempts = 1
        claim.delivery.succeed(NOW)
        assert await store.finish(claim.delivery, claim)
        later = NOW + dt.timedelta(hours=1)
        assert await store.due(later, 10) == ["ntf_race0002"]
