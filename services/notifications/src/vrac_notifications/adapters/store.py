"""MongoDB repositories: case files, deliveries (with their outbox) and webhook subscriptions.

Every write touches one document. Case files carry a version for optimistic concurrency;
deliveries carry the events they caused in their ``outbox`` array, relayed to Kafka.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from vrac_contracts.envelope import new_envelope
from vrac_contracts.events.base import EventData
from vrac_runtime.idempotency import insert_once, merge_updates
from vrac_runtime.outbox import WITHOUT_OUTBOX, outbox_fields, push_outbox

from vrac_notifications.domain.casefile import CaseFile
from vrac_notifications.domain.delivery import Delivery, DeliveryStatus
from vrac_notifications.domain.webhooks import WebhookSubscription
from vrac_notifications.ports import ConcurrentUpdate

CASE_FILES: Final = "case_files"
DELIVERIES: Final = "deliveries"
WEBHOOKS: Final = "agency_webhooks"
OUTBOX_COLLECTIONS: Final = (DELIVERIES,)


class MongoCaseFiles:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._col = db[CASE_FILES]

    async def get(self, case_id: str) -> CaseFile | None:
        doc = await self._col.find_one({"_id": case_id})
        if doc is None:
            return None
        doc.pop("_id")
        return CaseFile.model_validate(doc)

    async def save(self, case_file: CaseFile) -> None:
        expected = case_file.version
        state = case_file.model_dump(mode="json") | {"version": expected + 1}
        try:
            if expected == 0:
                await self._col.insert_one({"_id": case_file.case_id, **state})
            else:
                result = await self._col.update_one(
                    {"_id": case_file.case_id, "version": expected}, {"$set": state}
                )
                if result.matched_count == 0:
                    raise ConcurrentUpdate(case_file.case_id)
        except DuplicateKeyError:
            raise ConcurrentUpdate(case_file.case_id) from None
        case_file.version = expected + 1


def _delivery_doc(delivery: Delivery) -> dict[str, Any]:
    doc = delivery.model_dump(mode="python")
    doc["_id"] = doc.pop("delivery_id")
    return {k: str(v) if k in _ENUM_FIELDS and v is not None else v for k, v in doc.items()}


_ENUM_FIELDS: Final = frozenset(
    {"pilot", "recipient_kind", "channel", "kind", "status", "error_code"}
)


def _envelopes(events: Sequence[EventData]) -> list[Any]:
    return [new_envelope(event) for event in events]


class MongoDeliveries:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._col = db[DELIVERIES]

    async def ensure_indexes(self) -> None:
        await self._col.create_index("case_id")

    async def statuses(self, case_id: str) -> dict[str, DeliveryStatus]:
        cursor = self._col.find({"case_id": case_id}, {"status": 1})
        return {doc["_id"]: DeliveryStatus(doc["status"]) async for doc in cursor}

    async def claim(self, delivery: Delivery) -> bool:
        return await insert_once(self._col, _delivery_doc(delivery))

    async def release(self, delivery: Delivery) -> bool:
        result = await self._col.update_one(
            {"_id": delivery.delivery_id, "status": str(DeliveryStatus.WITHHELD)},
            {
                "$set": {
                    "status": str(DeliveryStatus.SENDING),
                    "error_code": None,
                    "updated_at": delivery.updated_at,
                }
            },
        )
        return result.modified_count == 1

    async def record(self, delivery: Delivery, events: Sequence[EventData]) -> bool:
        doc = _delivery_doc(delivery) | outbox_fields(_envelopes(events))
        return await insert_once(self._col, doc)

    async def finish(self, delivery: Delivery, events: Sequence[EventData]) -> None:
        state = _delivery_doc(delivery)
        state.pop("_id")
        state.pop("created_at")
        update = merge_updates({"$set": state}, push_outbox(_envelopes(events)))
        await self._col.update_one({"_id": delivery.delivery_id}, update)

    async def for_case(self, case_id: str) -> list[Delivery]:
        cursor = self._col.find({"case_id": case_id}, WITHOUT_OUTBOX)
        return [_delivery(doc) async for doc in cursor]


def _delivery(doc: dict[str, Any]) -> Delivery:
    doc["delivery_id"] = doc.pop("_id")
    return Delivery.model_validate(doc)


class MongoWebhooks:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._col = db[WEBHOOKS]

    async def get(self, agency_id: str) -> WebhookSubscription | None:
        doc = await self._col.find_one({"_id": agency_id})
        if doc is None:
            return None
        doc["agency_id"] = doc.pop("_id")
        return WebhookSubscription.model_validate(doc)

    async def put(self, subscription: WebhookSubscription) -> None:
        state = subscription.model_dump(mode="python")
        state["pilot"] = str(state["pilot"])
        agency_id = state.pop("agency_id")
        await self._col.replace_one({"_id": agency_id}, state, upsert=True)
