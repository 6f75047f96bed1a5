"""MongoDB repositories: case files, deliveries (with their outbox) and webhook subscriptions.

Every write touches one document. Case files carry a version for optimistic concurrency.

Deliveries are sent once across replicas without trusting concurrent updates of one document
(FerretDB applies them non-atomically): what must happen once is an insert of a fixed ``_id``,
which both MongoDB and FerretDB refuse twice. An attempt is taken by inserting
``<delivery id>:<attempt number>`` into ``delivery_claims``; a final outcome is recorded by
inserting ``<delivery id>:final`` (with its events in the outbox) into ``delivery_outcomes``,
the first transient failure by inserting ``<delivery id>:retrying``. The delivery document is
the readable state (status, attempts, when it is due), written by the claim's holder.
Documents are mapped by hand beside each repository (``_..._doc`` and back).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any, Final, TypeVar

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from vrac_contracts.consent import ConsentState
from vrac_contracts.values import (
    Channel,
    DeclineReason,
    DeliveryError,
    Language,
    MemberKind,
    NetworkRole,
    Pilot,
    TaskCategory,
)
from vrac_runtime.idempotency import insert_once
from vrac_runtime.keks import KeyEncryptionKeys
from vrac_runtime.outbox import WITHOUT_OUTBOX, insert_with_events

from vrac_notifications.domain.casefile import CaseFile
from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.delivery import Delivery, DeliveryStatus
from vrac_notifications.domain.errors import ChangedMeanwhile
from vrac_notifications.domain.intents import (
    TASK_KINDS,
    DeclinedTaskMessage,
    DiplomaMessage,
    FamilyAdviceMessage,
    Intent,
    MessageKind,
    OverdueTaskNotice,
    SchoolAdviceMessage,
    TaskMessage,
)
from vrac_notifications.domain.webhooks import SigningSecret, WebhookSubscription
from vrac_notifications.ports import Claim

CASE_FILES: Final = "case_files"
DELIVERIES: Final = "deliveries"
CLAIMS: Final = "delivery_claims"
OUTCOMES: Final = "delivery_outcomes"
WEBHOOKS: Final = "agency_webhooks"
OUTBOX_COLLECTIONS: Final = (DELIVERIES, OUTCOMES)
# set while a delivery has a due time (scheduled, or claimed until an expiry): the scheduler's
# query asks for it by equality, which FerretDB can answer from an index
WAITING: Final = "waiting"
# an attempt whose claim expired is taken over by the next number; a few in a row at most
_TAKEOVERS = 5
T = TypeVar("T")


# -- case files --


class MongoCaseFiles:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._col = db[CASE_FILES]

    async def ensure_indexes(self) -> None:
        await self._col.create_index("erasure_pending")

    async def get(self, case_id: str) -> CaseFile | None:
        doc = await self._col.find_one({"_id": case_id})
        return None if doc is None else _case_file(doc)

    async def erasures_pending(self, limit: int) -> list[str]:
        cursor = self._col.find({"erasure_pending": True}, {"_id": 1}).limit(limit)
        return [doc["_id"] async for doc in cursor]

    async def save(self, case_file: CaseFile) -> None:
        expected = case_file.version
        state = _case_file_doc(case_file) | {"version": expected + 1}
        try:
            if expected == 0:
                await self._col.insert_one({"_id": case_file.case_id, **state})
            else:
                result = await self._col.update_one(
                    {"_id": case_file.case_id, "version": expected}, _changes(case_file, state)
                )
                if result.matched_count == 0:
                    raise ChangedMeanwhile(case_file.case_id)
        except DuplicateKeyError:
            raise ChangedMeanwhile(case_file.case_id) from None
        case_file.version = expected + 1
        case_file.stored_intents = len(case_file.intents)


def _changes(case_file: CaseFile, state: dict[str, Any]) -> dict[str, Any]:
    """The update of a case file read at its version: its small fields set, and of the
    messages owed, which grow with every event of the case, only the new ones appended."""
    intents = state.pop("intents")
    stored = case_file.stored_intents
    if len(intents) < stored:  # cleared by a closing
        return {"$set": state | {"intents": intents}}
    if len(intents) == stored:
        return {"$set": state}
    return {"$set": state, "$push": {"intents": {"$each": intents[stored:]}}}


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
        "removed": sorted(case.removed),
        "member_as_of": {key: _when(at) for key, at in case.member_as_of.items()},
        "erased_at": _when(case.erased_at),
        "erasure_pending": case.erasure_pending,
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
        stored_intents=len(doc.get("intents", [])),
        removed=set(doc.get("removed", [])),
        member_as_of={key: _at(at) for key, at in doc.get("member_as_of", {}).items()},
        erased_at=_parse_when(doc.get("erased_at")),
        erasure_pending=doc.get("erasure_pending", False),
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
    elif isinstance(intent, DeclinedTaskMessage):
        doc |= {
            "task_id": intent.task_id,
            "member_id": intent.member_id,
            "coordinator_id": intent.coordinator_id,
            "category": _opt(str, intent.category),
            "reason": _opt(str, intent.reason),
        }
    elif isinstance(intent, OverdueTaskNotice):
        doc |= {
            "task_id": intent.task_id,
            "member_id": intent.member_id,
            "category": _opt(str, intent.category),
            "due_date": intent.due_date.isoformat(),
        }
    elif isinstance(intent, DiplomaMessage):
        doc["diploma_id"] = intent.diploma_id
    elif isinstance(intent, FamilyAdviceMessage):
        doc |= {
            "screening_id": intent.screening_id,
            "parent_codes": list(intent.parent_codes),
            "child_codes": list(intent.child_codes),
        }
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
    if kind is MessageKind.FAMILY_ADVICE:
        return FamilyAdviceMessage(
            **trigger,
            screening_id=doc["screening_id"],
            parent_codes=tuple(doc["parent_codes"]),
            child_codes=tuple(doc["child_codes"]),
        )
    category = _opt(TaskCategory, doc.get("category"))
    if kind is MessageKind.TASK_DECLINED:
        return DeclinedTaskMessage(
            **trigger,
            task_id=doc["task_id"],
            member_id=doc["member_id"],
            coordinator_id=doc.get("coordinator_id"),
            category=category,
            reason=_opt(DeclineReason, doc.get("reason")),
        )
    if kind is MessageKind.TASK_OVERDUE_NOTICE:
        return OverdueTaskNotice(
            **trigger,
            task_id=doc["task_id"],
            member_id=doc["member_id"],
            due_date=dt.date.fromisoformat(doc["due_date"]),
            category=category,
        )
    return TaskMessage(
        **trigger,
        kind=next(task_kind for task_kind in TASK_KINDS if task_kind is kind),
        task_id=doc["task_id"],
        member_id=doc["member_id"],
        category=category,
        due_date=_opt(dt.date.fromisoformat, doc.get("due_date")),
    )


# -- deliveries --


class MongoDeliveries:
    def __init__(
        self, db: AsyncDatabase[Any], on_events: Callable[[], None] = lambda: None
    ) -> None:
        self._col = db[DELIVERIES]
        self._claims = db[CLAIMS]
        self._outcomes = db[OUTCOMES]
        # told after a write that queued events, so the relay sends them at once
        self._on_events = on_events

    async def ensure_indexes(self) -> None:
        await self._col.create_index("case_id")
        await self._col.create_index([(WAITING, ASCENDING), ("due_at", ASCENDING)])
        # a delivery left "sending" by a version without claims: due again, as after a crash
        await self._col.update_many(
            {"status": str(DeliveryStatus.SENDING), "due_at": {"$exists": False}},
            {
                "$set": {
                    "due_at": dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
                    "claims": 0,
                    WAITING: True,
                }
            },
        )
        # deliveries written by a version without the flag: waiting when they have a due time
        await self._col.update_many(
            {WAITING: {"$exists": False}, "due_at": {"$ne": None}}, {"$set": {WAITING: True}}
        )

    async def statuses(self, case_id: str) -> dict[str, DeliveryStatus]:
        cursor = self._col.find({"case_id": case_id}, {"status": 1})
        return {doc["_id"]: DeliveryStatus(doc["status"]) async for doc in cursor}

    async def schedule(self, delivery: Delivery) -> bool:
        return await insert_once(self._col, _delivery_doc(delivery) | {"claims": 0})

    async def release(self, delivery: Delivery) -> bool:
        fields = (
            "status",
            "error_code",
            "next_attempt_at",
            "retry_until",
            "due_at",
            WAITING,
            "updated_at",
        )
        state = _delivery_doc(delivery)
        result = await self._col.update_one(
            {"_id": delivery.delivery_id, "status": str(DeliveryStatus.WITHHELD)},
            {"$set": _fields(state, fields) | {"claims": 0}},
        )
        return result.modified_count == 1

    async def record(self, delivery: Delivery) -> bool:
        doc = _delivery_doc(delivery)
        return await insert_with_events(self._col, doc, delivery.pull_events(), self._on_events)

    async def due(self, now: dt.datetime, limit: int) -> list[str]:
        # by the flag first: FerretDB applies only an equality to its index, and without one
        # it reads the whole collection, delivered messages included, on every poll
        query = {WAITING: True, "due_at": {"$lte": now}}
        cursor = self._col.find(query, {"_id": 1}).sort("due_at", 1)
        return [doc["_id"] async for doc in cursor.limit(limit)]

    async def claim(
        self, delivery_id: str, owner: str, now: dt.datetime, until: dt.datetime, *, early: bool
    ) -> Claim | None:
        doc = await self._col.find_one({"_id": delivery_id}, WITHOUT_OUTBOX)
        if doc is None or not _claimable(doc, now, early=early):
            return None
        number = await self._take_attempt(delivery_id, doc.get("claims", 0) + 1, owner, now, until)
        if number is None:
            return None
        if number > 1 and await self._settled_already(delivery_id):
            return None
        state = {
            "status": str(DeliveryStatus.SENDING),
            "claims": number,
            "claim_owner": owner,
            "next_attempt_at": None,
            "due_at": until,  # if the owner stops, the claim expires and it is due again
            WAITING: True,
            "updated_at": now,
        }
        await self._col.update_one({"_id": delivery_id, "claims": {"$lt": number}}, {"$set": state})
        delivery = _delivery(doc)
        delivery.status = DeliveryStatus.SENDING
        return Claim(delivery, number, owner, until)

    async def _settled_already(self, delivery_id: str) -> bool:
        """Whether an earlier attempt's final outcome is on record (its owner stopped before
        writing the delivery's state, which is brought up to date here)."""
        outcome = await self._outcomes.find_one({"_id": _final(delivery_id)}, WITHOUT_OUTBOX)
        if outcome is None:
            return False
        await self._col.update_one({"_id": delivery_id}, {"$set": _settled(outcome)})
        return True

    async def _take_attempt(
        self, delivery_id: str, number: int, owner: str, now: dt.datetime, until: dt.datetime
    ) -> int | None:
        """Insert the attempt's claim; an expired one is taken over with the next number."""
        for _ in range(_TAKEOVERS):
            claim = {
                "_id": f"{delivery_id}:{number}",
                "delivery_id": delivery_id,
                "owner": owner,
                "claimed_at": now,
                "expires_at": until,
            }
            if await insert_once(self._claims, claim):
                return number
            held = await self._claims.find_one({"_id": claim["_id"]})
            if held is None or held["expires_at"] > now:
                return None  # another owner holds it
            number += 1
        return None

    async def finish(self, delivery: Delivery, claim: Claim) -> bool:
        events = delivery.pull_events()
        state = _delivery_doc(delivery)
        if not delivery.status.final:
            if events:
                retrying = {
                    "_id": f"{delivery.delivery_id}:retrying",
                    "delivery_id": delivery.delivery_id,
                }
                await insert_with_events(self._outcomes, retrying, events, self._on_events)
            result = await self._col.update_one(
                {"_id": delivery.delivery_id, "claims": claim.number},
                {"$set": _fields(state, _STATE)},
            )
            return result.matched_count == 1
        outcome = {"_id": _final(delivery.delivery_id), "delivery_id": delivery.delivery_id}
        outcome |= _fields(state, _OUTCOME)
        recorded = await insert_with_events(self._outcomes, outcome, events, self._on_events)
        if not recorded:  # someone else's outcome came first: the state shows that one
            first = await self._outcomes.find_one({"_id": outcome["_id"]}, WITHOUT_OUTBOX)
            outcome = first if first is not None else outcome
        await self._col.update_one({"_id": delivery.delivery_id}, {"$set": _settled(outcome)})
        return recorded

    async def for_case(self, case_id: str) -> list[Delivery]:
        cursor = self._col.find({"case_id": case_id}, WITHOUT_OUTBOX)
        return [_delivery(doc) async for doc in cursor]


# what a final outcome records, and what an attempt that will be retried changes
_OUTCOME: Final = ("status", "attempts", "error_code", "updated_at", "delivered_at")
_STATE: Final = (*_OUTCOME, "next_attempt_at", "due_at", WAITING)


def _final(delivery_id: str) -> str:
    return f"{delivery_id}:final"


def _fields(doc: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: doc[name] for name in names}


def _settled(outcome: dict[str, Any]) -> dict[str, Any]:
    """The state of a delivery whose final outcome is on record: due never again."""
    return _fields(outcome, _OUTCOME) | {"next_attempt_at": None, "due_at": None, WAITING: False}


def _claimable(doc: dict[str, Any], now: dt.datetime, *, early: bool) -> bool:
    due_at = doc.get("due_at")
    if doc["status"] == DeliveryStatus.SCHEDULED:
        return early or (due_at is not None and due_at <= now)
    return doc["status"] == DeliveryStatus.SENDING and due_at is not None and due_at <= now


def _delivery_doc(delivery: Delivery) -> dict[str, Any]:
    due_at = delivery.next_attempt_at if delivery.status is DeliveryStatus.SCHEDULED else None
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
        "next_attempt_at": delivery.next_attempt_at,
        "retry_until": delivery.retry_until,
        # what the scheduler scans: when a scheduled delivery is next due
        "due_at": due_at,
        WAITING: due_at is not None,
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
        next_attempt_at=doc.get("next_attempt_at"),
        retry_until=doc.get("retry_until"),
    )


# -- agencies' webhooks --


class MongoWebhooks:
    """Agencies' webhooks. Signing secrets are kept wrapped by the service's key-encryption
    keys (AES-GCM, bound to the agency): a copy of the store or a backup alone signs nothing.
    """

    def __init__(self, db: AsyncDatabase[Any], keks: KeyEncryptionKeys) -> None:
        self._col = db[WEBHOOKS]
        self._keks = keks

    async def get(self, agency_id: str) -> WebhookSubscription | None:
        doc = await self._col.find_one({"_id": agency_id})
        return None if doc is None else _webhook(doc, self._keks)

    async def put(self, subscription: WebhookSubscription) -> None:
        await self._col.replace_one(
            {"_id": subscription.agency_id}, _webhook_doc(subscription, self._keks), upsert=True
        )

    async def rewrap(self) -> int:
        """Wrap every secret not wrapped by the current key-encryption key (or kept in clear
        by an older version) with it; how many subscriptions were. Run at every start, so a
        KEK rotation needs no step of its own here."""
        current, _ = self._keks.current
        count = 0
        async for doc in self._col.find({}):
            if all(s.get("kek") == current for s in doc.get("secrets", [{}])):
                continue
            subscription = _webhook(doc, self._keks)
            # only if unchanged meanwhile: a rotation by the agency wins
            done = await self._col.replace_one(
                {"_id": doc["_id"], "updated_at": doc["updated_at"]},
                _webhook_doc(subscription, self._keks),
            )
            count += done.modified_count
        return count


def _webhook_doc(subscription: WebhookSubscription, keks: KeyEncryptionKeys) -> dict[str, Any]:
    return {
        "pilot": str(subscription.pilot),
        "url": subscription.url,
        "secrets": [
            {
                **keks.wrap(_secret_binding(subscription.agency_id), s.value.encode()),
                "added_at": s.added_at,
                "retires_at": s.retires_at,
            }
            for s in subscription.secrets
        ],
        "updated_at": subscription.updated_at,
    }


def _webhook(doc: dict[str, Any], keks: KeyEncryptionKeys) -> WebhookSubscription:
    agency_id = doc["_id"]
    if "secrets" in doc:
        secrets = tuple(
            SigningSecret(_secret_value(agency_id, s, keks), s["added_at"], s.get("retires_at"))
            for s in doc["secrets"]
        )
    else:  # registered before Standard Webhooks: the old secret's bytes are the key
        key = base64.b64encode(doc["secret"].encode()).decode()
        secrets = (SigningSecret(f"whsec_{key}", doc["updated_at"]),)
    return WebhookSubscription(
        agency_id=agency_id,
        pilot=Pilot(doc["pilot"]),
        url=doc["url"],
        secrets=secrets,
        updated_at=doc["updated_at"],
    )


def _secret_value(agency_id: str, stored: dict[str, Any], keks: KeyEncryptionKeys) -> str:
    if "wrapped" not in stored:  # kept in clear by an older version, until re-wrapped
        return str(stored["value"])
    return keks.unwrap(_secret_binding(agency_id), stored).decode()


def _secret_binding(agency_id: str) -> str:
    """What a wrapped secret is bound to: moved to another agency's document, it fails."""
    return f"webhook-secret:{agency_id}"
