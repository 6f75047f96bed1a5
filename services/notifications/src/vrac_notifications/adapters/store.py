"""MongoDB repositories: case files, deliveries (with their outbox) and webhook subscriptions.

Every write touches one document. Case files carry a version for optimistic concurrency;
deliveries carry the events they caused in their ``outbox`` array, relayed to Kafka.
Documents are mapped by hand beside each repository (``_..._doc`` and back).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final, TypeVar

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from vrac_contracts.consent import ConsentState
from vrac_contracts.values import (
    Channel,
    DeliveryError,
    Language,
    MemberKind,
    NetworkRole,
    Pilot,
    TaskCategory,
)
from vrac_runtime.idempotency import insert_once, merge_updates
from vrac_runtime.outbox import WITHOUT_OUTBOX, append_outbox, insert_with_events

from vrac_notifications.domain.casefile import CaseFile
from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.delivery import Delivery, DeliveryStatus
from vrac_notifications.domain.errors import ChangedMeanwhile
from vrac_notifications.domain.intents import (
    DiplomaMessage,
    Intent,
    MessageKind,
    SchoolAdviceMessage,
    TaskMessage,
)
from vrac_notifications.domain.webhooks import WebhookSubscription

CASE_FILES: Final = "case_files"
DELIVERIES: Final = "deliveries"
WEBHOOKS: Final = "agency_webhooks"
OUTBOX_COLLECTIONS: Final = (DELIVERIES,)
T = TypeVar("T")


# -- case files --


class MongoCaseFiles:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._col = db[CASE_FILES]

    async def get(self, case_id: str) -> CaseFile | None:
        doc = await self._col.find_one({"_id": case_id})
        return None if doc is None else _case_file(doc)

    async def save(self, case_file: CaseFile) -> None:
        expected = case_file.version
        state = _case_file_doc(case_file) | {"version": expected + 1}
        try:
            if expected == 0:
                await self._col.insert_one({"_id": case_file.case_id, **state})
            else:
                result = await self._col.update_one(
                    {"_id": case_file.case_id, "version": expected}, {"$set": state}
                )
                if result.matched_count == 0:
                    raise ChangedMeanwhile(case_file.case_id)
        except DuplicateKeyError:
            raise ChangedMeanwhile(case_file.case_id) from None
        case_file.version = expected + 1


# Times in a case file are kept as ISO text, to the microsecond: consent decisions are
# ordered by them, and a tie decides for the withdrawal.


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_when(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _opt(make: Callable[[Any], T], value: Any) -> T | None:
    return None if value is None else make(value)


def _case_file_doc(case: CaseFile) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "pilot": str(case.pilot),
        "closed_at": _when(case.closed_at),
        "child_first_name": case.child_first_name,
        "family_language": _opt(str, case.family_language),
        "contacts": {key: _contact_doc(c) for key, c in case.contacts.items()},
        "consents": {
            key: {"granted": c.granted, "changed_at": _when(c.changed_at)}
            for key, c in case.consents.items()
        },
        "intents": [_intent_doc(i) for i in case.intents],
    }


def _case_file(doc: dict[str, Any]) -> CaseFile:
    return CaseFile(
        case_id=doc["_id"],
        pilot=Pilot(doc["pilot"]),
        version=doc["version"],
        closed_at=_parse_when(doc.get("closed_at")),
        child_first_name=doc.get("child_first_name"),
        family_language=_opt(Language, doc.get("family_language")),
        contacts={key: _contact(c) for key, c in doc.get("contacts", {}).items()},
        consents={
            key: ConsentState(granted=c["granted"], changed_at=_at(c["changed_at"]))
            for key, c in doc.get("consents", {}).items()
        },
        intents=[_intent(i) for i in doc.get("intents", [])],
    )


def _contact_doc(contact: Contact) -> dict[str, Any]:
    return {
        "recipient_id": contact.recipient_id,
        "recipient_kind": str(contact.recipient_kind),
        "name": contact.name,
        "language": str(contact.language),
        "channel": str(contact.channel),
        "email": contact.email,
        "phone": contact.phone,
        "member_kind": _opt(str, contact.member_kind),
        "role": _opt(str, contact.role),
        "agency_id": contact.agency_id,
    }


def _contact(doc: dict[str, Any]) -> Contact:
    return Contact(
        recipient_id=doc["recipient_id"],
        recipient_kind=RecipientKind(doc["recipient_kind"]),
        name=doc["name"],
        language=Language(doc["language"]),
        channel=Channel(doc["channel"]),
        email=doc.get("email"),
        phone=doc.get("phone"),
        member_kind=_opt(MemberKind, doc.get("member_kind")),
        role=_opt(NetworkRole, doc.get("role")),
        agency_id=doc.get("agency_id"),
    )


def _intent_doc(intent: Intent) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "kind": str(intent.kind),
        "trigger_id": intent.trigger_id,
        "trigger_type": intent.trigger_type,
        "occurred_at": _when(intent.occurred_at),
    }
    if isinstance(intent, TaskMessage):
        doc |= {
            "task_id": intent.task_id,
            "member_id": intent.member_id,
            "category": _opt(str, intent.category),
            "due_date": _opt(dt.date.isoformat, intent.due_date),
        }
    elif isinstance(intent, DiplomaMessage):
        doc["diploma_id"] = intent.diploma_id
    else:
        doc |= {"screening_id": intent.screening_id, "advice_codes": list(intent.advice_codes)}
    return doc


def _intent(doc: dict[str, Any]) -> Intent:
    kind = MessageKind(doc["kind"])
    trigger: dict[str, Any] = {
        "trigger_id": doc["trigger_id"],
        "trigger_type": doc["trigger_type"],
        "occurred_at": _at(doc["occurred_at"]),
    }
    if kind is MessageKind.DIPLOMA_READY:
        return DiplomaMessage(**trigger, diploma_id=doc["diploma_id"])
    if kind is MessageKind.SCHOOL_ADVICE:
        return SchoolAdviceMessage(
            **trigger, screening_id=doc["screening_id"], advice_codes=tuple(doc["advice_codes"])
        )
    assigned = kind is MessageKind.TASK_ASSIGNED
    return TaskMessage(
        **trigger,
        kind=MessageKind.TASK_ASSIGNED if assigned else MessageKind.TASK_OVERDUE,
        task_id=doc["task_id"],
        member_id=doc["member_id"],
        category=_opt(TaskCategory, doc.get("category")),
        due_date=_opt(dt.date.fromisoformat, doc.get("due_date")),
    )


# -- deliveries --


class MongoDeliveries:
    def __init__(
        self, db: AsyncDatabase[Any], on_events: Callable[[], None] = lambda: None
    ) -> None:
        self._col = db[DELIVERIES]
        # told after a write that queued events, so the relay sends them at once
        self._on_events = on_events

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

    async def record(self, delivery: Delivery) -> bool:
        doc = _delivery_doc(delivery)
        return await insert_with_events(self._col, doc, delivery.pull_events(), self._on_events)

    async def finish(self, delivery: Delivery) -> None:
        state = _delivery_doc(delivery)
        state.pop("_id")
        state.pop("created_at")
        update = merge_updates({"$set": state}, append_outbox(delivery.pull_events()))
        await self._col.update_one({"_id": delivery.delivery_id}, update)
        self._on_events()

    async def for_case(self, case_id: str) -> list[Delivery]:
        cursor = self._col.find({"case_id": case_id}, WITHOUT_OUTBOX)
        return [_delivery(doc) async for doc in cursor]


def _delivery_doc(delivery: Delivery) -> dict[str, Any]:
    return {
        "_id": delivery.delivery_id,
        "case_id": delivery.case_id,
        "pilot": str(delivery.pilot),
        "recipient_id": delivery.recipient_id,
        "recipient_kind": str(delivery.recipient_kind),
        "channel": str(delivery.channel),
        "kind": str(delivery.kind),
        "trigger_event_id": delivery.trigger_event_id,
        "trigger_type": delivery.trigger_type,
        "status": str(delivery.status),
        "attempts": delivery.attempts,
        "error_code": _opt(str, delivery.error_code),
        "created_at": delivery.created_at,
        "updated_at": delivery.updated_at,
        "delivered_at": delivery.delivered_at,
    }


def _delivery(doc: dict[str, Any]) -> Delivery:
    return Delivery(
        delivery_id=doc["_id"],
        case_id=doc["case_id"],
        pilot=Pilot(doc["pilot"]),
        recipient_id=doc["recipient_id"],
        recipient_kind=RecipientKind(doc["recipient_kind"]),
        channel=Channel(doc["channel"]),
        kind=MessageKind(doc["kind"]),
        trigger_event_id=doc["trigger_event_id"],
        trigger_type=doc["trigger_type"],
        status=DeliveryStatus(doc["status"]),
        attempts=doc.get("attempts", 0),
        error_code=_opt(DeliveryError, doc.get("error_code")),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        delivered_at=doc.get("delivered_at"),
    )


# -- agencies' webhooks --


class MongoWebhooks:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._col = db[WEBHOOKS]

    async def get(self, agency_id: str) -> WebhookSubscription | None:
        doc = await self._col.find_one({"_id": agency_id})
        return None if doc is None else _webhook(doc)

    async def put(self, subscription: WebhookSubscription) -> None:
        await self._col.replace_one(
            {"_id": subscription.agency_id}, _webhook_doc(subscription), upsert=True
        )


def _webhook_doc(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "pilot": str(subscription.pilot),
        "url": subscription.url,
        "secret": subscription.secret,
        "updated_at": subscription.updated_at,
    }


def _webhook(doc: dict[str, Any]) -> WebhookSubscription:
    return WebhookSubscription(
        agency_id=doc["_id"],
        pilot=Pilot(doc["pilot"]),
        url=doc["url"],
        secret=doc["secret"],
        updated_at=doc["updated_at"],
    )
